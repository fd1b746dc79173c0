import json

import torch
import torch.nn.functional as F

import pytest
from safetensors.torch import load_file

from bench.models.choice import choice_token_ids
from bench.models.loading import format_prompt, load_tokenizer
from bench.records.config import FinetuneConfig
from bench.records.errors import UserError
from bench.training.finetune import (TrainPair, TrainPlan, adapter_key, answer_loss, collate, encode_pair,
                                    prepare_model, train_cached)
from bench.training.parts import part_cost, scored_position_weight, split_by_tokens
from tests.conftest import bf16_attention_calls


def test_collate_left_pads_and_aligns_labels_with_the_targets():
    input_ids, mask, positions, labels, keep = collate([([1, 2, 3, 4, 5], 2), ([7, 8, 9], 1)], pad_id=0, device="cpu")
    assert input_ids.tolist() == [[1, 2, 3, 4, 5], [0, 0, 7, 8, 9]]
    assert mask.tolist() == [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]]
    assert positions.tolist() == [[0, 1, 2, 3, 4], [0, 0, 0, 1, 2]]
    assert keep == 3 and labels.tolist() == [[4, 5, -100], [-100, 9, -100]]


def test_encode_pair_keeps_the_target_when_the_prompt_is_cut(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    ids, n_target = encode_pair(tokenizer, TrainPair("word " * 100, "$249"), max_length=20)
    target = tokenizer.encode("$249", add_special_tokens=False) + [tokenizer.eos_token_id]
    assert len(ids) == 20 and n_target == len(target) and ids[-n_target:] == target


@pytest.mark.parametrize("chat_template", ["auto", "off"])
def test_training_targets_are_the_tokens_the_label_choice_scores(tiny_model_dir, chat_template):
    """With a chat template the answer opens the assistant turn; without one it follows "Answer:" after a space."""
    tokenizer = load_tokenizer(str(tiny_model_dir), chat_template)
    prompt = format_prompt(tokenizer, "Message: my card has not arrived\nCategory?")
    assert prompt.endswith("Answer:") == (chat_template == "off")
    labels = ["card_arrival", "card_delivery_estimate", "lost_or_stolen_card"]
    for label, scored in zip(labels, choice_token_ids(tokenizer, labels)):
        ids, n_target = encode_pair(tokenizer, TrainPair(prompt, label), max_length=256)
        assert ids[-n_target:-1] == scored and ids[-1] == tokenizer.eos_token_id
    prompt_ids = tokenizer.encode(prompt, add_special_tokens=chat_template == "off")
    assert ids[: len(prompt_ids)] == prompt_ids  # the prompt is tokenized as inference tokenizes it


def test_a_chat_template_cannot_be_required_of_a_model_without_one(tiny_model_dir, tmp_path):
    tokenizer = load_tokenizer(str(tiny_model_dir), "off")
    tokenizer.save_pretrained(tmp_path)
    with pytest.raises(UserError, match="has no chat template"):
        load_tokenizer(str(tmp_path), "on")


def test_answer_only_loss_equals_the_loss_over_full_logits(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    tokenizer = load_tokenizer(str(tiny_model_dir))
    encoded = [encode_pair(tokenizer, TrainPair(p, t), 64) for p, t in [("Question: price of lamp?", "$12"), ("Q: year?", "It was 2019")]]
    fast = answer_loss(model, encoded, tokenizer.pad_token_id, "cpu")
    input_ids, mask, positions, *_ = collate(encoded, tokenizer.pad_token_id, "cpu")
    full_labels = torch.full_like(input_ids, -100)
    for row, (ids, n_target) in enumerate(encoded):  # rows end aligned: the position before each target predicts it
        full_labels[row, -n_target - 1 : -1] = torch.tensor(ids[-n_target:])
    logits = model(input_ids=input_ids, attention_mask=mask, position_ids=positions).logits
    slow = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), full_labels.reshape(-1), ignore_index=-100)
    assert torch.allclose(fast, slow, atol=1e-5)


def test_a_batch_split_by_tokens_gives_the_whole_batch_gradient(tiny_model_dir):
    """Parts of at most `batch_tokens` padded tokens, each loss summed over its targets and divided by the batch's
    target count: the same gradient as one pass over the whole batch, with a fraction of its activations."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    tokenizer = load_tokenizer(str(tiny_model_dir))
    texts = [("Question: " + "long " * i + "price?", f"${i}") for i in range(1, 9)]
    batch = [encode_pair(tokenizer, TrainPair(p, t), 64) for p, t in texts]
    parts = split_by_tokens(batch, 40)
    assert len(parts) > 2 and sorted(map(id, sum(parts, []))) == sorted(map(id, batch))
    assert all(len(part) == 1 or part_cost(part) <= 40 for part in parts)

    def gradient(groups):
        model.zero_grad()
        targets = sum(n for _, n in batch)
        for group in groups:
            (answer_loss(model, group, tokenizer.pad_token_id, "cpu", "sum") / targets).backward()
        return torch.cat([p.grad.flatten() for p in model.parameters()])

    assert torch.allclose(gradient(parts), gradient([batch]), atol=1e-6)


def test_a_part_costs_what_it_runs_and_scores():
    """A shared prompt prefix runs once and a scored position weighs `scored_weight` tokens: 8 questions sharing a
    20-token template fit one part of 150, corpus windows (every token scored) only 2 at a whole token a scored
    position (3 at half a token), and without sharing 4 questions."""
    questions = [(list(range(20)) + [100 + row] * 10, 2) for row in range(8)]  # 30 ids, the first 20 shared
    windows = [([200 + row] * 30, 29) for row in range(8)]
    assert part_cost(questions) == 20 + 8 * (10 + 3)
    assert part_cost(questions, share_prefix=False) == 8 * (30 + 3)
    assert part_cost(windows[:2]) == 2 * (30 + 30)
    assert [len(p) for p in split_by_tokens(questions, 150)] == [8]
    assert [len(p) for p in split_by_tokens(windows, 150)] == [2, 2, 2, 2]
    assert [len(p) for p in split_by_tokens(questions, 150, share_prefix=False)] == [4, 4]
    assert part_cost(windows[:2], scored_weight=0.5) == 2 * (30 + 15)  # a model whose scored positions weigh less
    assert [len(p) for p in split_by_tokens(windows, 150, True, 0.5)] == [3, 3, 2]


def test_a_scored_position_weighs_the_vocabulary_against_what_a_token_keeps(tiny_model_dir):
    """12 bytes per vocabulary entry against each linear layer's input and output in the training precision. The
    tiny Llama (hidden 32, key/value heads 2 x 8, MLP 64) reads and writes 9 x 32 + 2 x 16 + 3 x 64 = 512 values a
    layer in its q/k/v/o and gate/up/down layers; LoRA's own small layers do not count."""
    from transformers import AutoModelForCausalLM

    vocabulary = len(load_tokenizer(str(tiny_model_dir)))
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert scored_position_weight(model, "fp32") == pytest.approx(12 * vocabulary / (2 * 512 * 4))
    assert scored_position_weight(model, "bf16") == pytest.approx(12 * vocabulary / (2 * 512 * 2))
    lora = prepare_model(str(tiny_model_dir), FinetuneConfig(method="lora"), "cpu")
    assert scored_position_weight(lora, "fp32") == scored_position_weight(model, "fp32")


PAIRS = [TrainPair(f"Question: price of lamp {i}?", f"${10 + i}") for i in range(8)] * 20
PLAN = TrainPlan([PAIRS], [])


def test_lora_training_lowers_the_loss_and_a_second_call_reuses_the_adapter(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    cfg = FinetuneConfig(batch_size=8, learning_rate=2e-2)
    folder, stats = train_cached(str(tiny_model_dir), tokenizer, PLAN, cfg, 0, "cpu")
    assert stats.last_loss < stats.first_loss - 0.2  # a random 32-wide model moves slowly through rank-16 adapters
    assert stats.sequences == 160 and stats.steps == 20 and stats.tokens > 0 and not stats.cached
    assert json.loads((folder / "adapter_config.json").read_text())["r"] == 16
    again, cached = train_cached(str(tiny_model_dir), tokenizer, PLAN, cfg, 0, "cpu")
    assert again == folder and cached.cached and cached.seconds == stats.seconds


def test_full_fine_tuning_learns_the_answers_and_saves_a_whole_model(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    cfg = FinetuneConfig(method="full", batch_size=8, learning_rate=1e-2)
    folder, stats = train_cached(str(tiny_model_dir), tokenizer, PLAN, cfg, 0, "cpu")
    assert stats.last_loss < 0.6 * stats.first_loss
    assert (folder / "config.json").exists() and not (folder / "adapter_config.json").exists()
    assert stats.method == "full"


def test_training_stops_when_the_held_out_loss_stops_improving_and_keeps_the_best_epoch(tiny_model_dir):
    """Learning a fact's answer cannot help a held-out pair with an unrelated answer: its loss rises after a while."""
    tokenizer = load_tokenizer(str(tiny_model_dir))
    epoch = [TrainPair(f"Question: price of lamp {i}?", f"${10 + i}") for i in range(8)] * 4
    held_out = [TrainPair("Question: colour of the sky?", "blue")]
    cfg = FinetuneConfig(batch_size=8, learning_rate=5e-2, patience=1)
    _, stats = train_cached(str(tiny_model_dir), tokenizer, TrainPlan([epoch] * 8, held_out), cfg, 0, "cpu")
    assert stats.epochs_planned == 8 and stats.epochs_run < 8 and stats.validation_pairs == 1
    assert len(stats.validation_losses) == stats.epochs_run and stats.best_epoch == stats.epochs_run - cfg.patience
    assert min(stats.validation_losses) == stats.validation_losses[stats.best_epoch - 1]
    assert stats.losses and len(stats.losses) <= 200
    _, kept_all = train_cached(str(tiny_model_dir), tokenizer, TrainPlan([epoch] * 8, held_out),
                               cfg.model_copy(update={"early_stopping": False}), 0, "cpu")
    assert kept_all.epochs_run == 8 == kept_all.best_epoch and len(kept_all.validation_losses) == 8  # the curve, no stopping


RESUMABLE = FinetuneConfig(batch_size=4, learning_rate=2e-2, checkpoint_minutes=1e-9, early_stopping=False)  # a checkpoint every step


def lamp_plan(epochs: int) -> TrainPlan:
    epoch = [TrainPair(f"Question: price of lamp {i}?", f"${10 + i}") for i in range(8)] * 2
    return TrainPlan([epoch] * epochs, [TrainPair("Question: price of lamp 9?", "$19")])


def same_weights(one, other) -> bool:
    """Two adapter folders hold the same tensors, bit for bit."""
    from safetensors.torch import load_file

    a, b = (load_file(str(folder / "adapter_model.safetensors")) for folder in (one, other))
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_killed_training_resumes_from_its_checkpoint_to_the_same_adapter(tiny_model_dir, tmp_path, monkeypatch):
    from bench.training import finetune

    tokenizer = load_tokenizer(str(tiny_model_dir))
    plan, cfg = lamp_plan(3), RESUMABLE
    monkeypatch.setenv("FTRAG_CACHE_DIR", str(tmp_path / "whole"))
    whole, whole_stats = train_cached(str(tiny_model_dir), tokenizer, plan, cfg, 0, "cpu")

    monkeypatch.setenv("FTRAG_CACHE_DIR", str(tmp_path / "killed"))
    real_step, calls = finetune.Trainer.step, []

    def killed_after_seven_steps(self, batch):
        if len(calls) == 7:  # mid-epoch 2: a kill lands between two steps
            raise SystemExit("killed")
        calls.append(1)
        real_step(self, batch)

    monkeypatch.setattr(finetune.Trainer, "step", killed_after_seven_steps)
    with pytest.raises(SystemExit):
        train_cached(str(tiny_model_dir), tokenizer, plan, cfg, 0, "cpu")
    assert list((tmp_path / "killed" / "adapter").glob(".partial-*/progress.json"))  # the checkpoint survived
    monkeypatch.setattr(finetune.Trainer, "step", real_step)
    resumed, resumed_stats = train_cached(str(tiny_model_dir), tokenizer, plan, cfg, 0, "cpu")
    assert resumed_stats.losses == whole_stats.losses and resumed_stats.validation_losses == whole_stats.validation_losses
    assert same_weights(whole, resumed)
    assert not list((tmp_path / "killed" / "adapter").glob(".partial-*"))  # spent checkpoints are removed
    # the checkpoint carried the CPU seconds with the wall seconds, so the resumed share covers the whole training
    assert 0 < whole_stats.cpu_share <= 2 and 0 < resumed_stats.cpu_share <= 2


def test_a_kill_between_a_checkpoints_two_writes_resumes_from_the_last_whole_one(tiny_model_dir, tmp_path, monkeypatch):
    """Killed after the new weights are written but before the progress that names them: the resumed training reads
    the previous weights with their own progress, and ends at the unbroken training's adapter."""
    from bench.training import checkpoint

    tokenizer = load_tokenizer(str(tiny_model_dir))
    plan, cfg = lamp_plan(2), RESUMABLE
    monkeypatch.setenv("FTRAG_CACHE_DIR", str(tmp_path / "whole"))
    whole, whole_stats = train_cached(str(tiny_model_dir), tokenizer, plan, cfg, 0, "cpu")

    monkeypatch.setenv("FTRAG_CACHE_DIR", str(tmp_path / "killed"))
    real_write, writes = checkpoint.atomic_write_json, []

    def killed_on_the_fifth_progress(path, data):
        if len(writes) == 4:
            raise SystemExit("killed")  # the fifth state file is in place; its progress never lands
        writes.append(path)
        real_write(path, data)

    monkeypatch.setattr(checkpoint, "atomic_write_json", killed_on_the_fifth_progress)
    with pytest.raises(SystemExit):
        train_cached(str(tiny_model_dir), tokenizer, plan, cfg, 0, "cpu")
    folder = next((tmp_path / "killed" / "adapter").glob(".partial-*"))
    assert len(list(folder.glob("state-*.safetensors"))) == 2  # the last whole checkpoint's, and the orphan
    progress = json.loads((folder / "progress.json").read_text())
    del progress["cpu_seconds"]  # as older code wrote it: the CPU time before the kill is unknown
    (folder / "progress.json").write_text(json.dumps(progress))
    monkeypatch.setattr(checkpoint, "atomic_write_json", real_write)
    resumed, resumed_stats = train_cached(str(tiny_model_dir), tokenizer, plan, cfg, 0, "cpu")
    assert resumed_stats.losses == whole_stats.losses and resumed_stats.cpu_share is None
    assert same_weights(whole, resumed)


def test_the_adapter_key_holds_the_rate_training_runs_at(monkeypatch):
    # with learning_rate unset the rate is a default in code: a new default must not reuse adapters trained at the old one
    cfg, plan = FinetuneConfig(method="full"), lamp_plan(1)
    before = adapter_key("model", plan, cfg, 0)
    monkeypatch.setattr(FinetuneConfig, "lr", lambda self: 5e-5)
    assert adapter_key("model", plan, cfg, 0) != before


def test_the_adapter_key_holds_the_plan_not_the_settings_that_made_it():
    """Raising raft_epochs changes ft_rag's plan alone: ft's adapter (the same plan) is reused."""
    cfg, plan = FinetuneConfig(), lamp_plan(2)
    key = adapter_key("model", plan, cfg, 0)
    assert adapter_key("model", plan, cfg.model_copy(update={"raft_epochs": 12}), 0) == key
    assert adapter_key("model", lamp_plan(3), cfg, 0) != key
    assert adapter_key("model", plan, cfg.model_copy(update={"patience": 3}), 0) != key


def test_lora_on_a_fast_bf16_cpu_multiplies_by_packed_frozen_weights_and_keys_its_fp32_adapter_apart(tiny_model_dir, monkeypatch):
    from bench.models import device as device_module
    from bench.models.packing import FrozenLinear, onednn_bf16
    if not onednn_bf16():
        pytest.skip("this CPU's torch has no oneDNN bf16 kernels: nothing is packed")
    tokenizer = load_tokenizer(str(tiny_model_dir))
    products, multiply = [], FrozenLinear.multiply
    monkeypatch.setattr(FrozenLinear, "multiply", lambda self, x, packed: products.append(packed is self.packed) or multiply(self, x, packed))
    cfg = FinetuneConfig(batch_size=8, learning_rate=2e-2)
    monkeypatch.setattr(device_module, "cpu_bf16_speedup", lambda: 0.5)  # slow bf16 matmuls: auto trains in fp32
    attention = bf16_attention_calls(monkeypatch)
    folder32, stats32 = train_cached(str(tiny_model_dir), tokenizer, PLAN, cfg, 0, "cpu")
    assert stats32.precision == "fp32" and not products and not attention
    monkeypatch.setattr(device_module, "cpu_bf16_speedup", lambda: 2.5)  # fast ones: LoRA trains in bf16
    folder16, stats16 = train_cached(str(tiny_model_dir), tokenizer, PLAN, cfg, 0, "cpu")
    assert stats16.precision == "bf16" and folder16 != folder32
    assert True in products and False in products  # forward products, and the backward pass's by the transpose
    assert attention  # and attention's products in bf16 beside them
    assert stats16.last_loss < stats16.first_loss - 0.2
    assert stats16.flops == stats32.flops  # the packed weights still count as the model's parameters
    weights = load_file(folder16 / "adapter_model.safetensors")
    assert {w.dtype for w in weights.values()} == {torch.float32}
    explicit, _ = train_cached(str(tiny_model_dir), tokenizer, PLAN, FinetuneConfig(batch_size=8, learning_rate=2e-2, precision="bf16"), 0, "cpu")
    assert explicit == folder16  # the same training as auto's resolution, so the same adapter
    packed = "packed frozen weights, LoRA as one product, bf16 attention"
    for choice in (packed, "fused AdamW", "shared key/value heads"):
        assert adapter_key("m", PLAN, cfg, 0, (choice,)) != adapter_key("m", PLAN, cfg, 0)


def test_long_rows_recompute_their_activations_and_train_the_same_adapter(tiny_model_dir, tmp_path, monkeypatch):
    """finetune.recompute_over: parts of long rows keep only each layer's input and recompute the rest in the backward
    pass, their rows run whole; the weights are those of training that kept everything and shared the prefix, up to
    float rounding, so the setting is in the adapter's key."""
    import bench.training.compute as compute
    from bench.training.finetune import train

    tokenizer = load_tokenizer(str(tiny_model_dir))
    recomputed, recompute = [], compute.RECOMPUTE
    monkeypatch.setattr(compute, "RECOMPUTE", lambda *args, **kwargs: recomputed.append(1) or recompute(*args, **kwargs))
    template = "Documents: [1] The lamp costs twelve dollars and comes with a two year warranty. Question: "
    plan = TrainPlan([[TrainPair(template + f"price of lamp {i}?", f"${10 + i}") for i in range(8)]] * 2, [])
    weights = {}
    for over in (0, 10_000):  # every part recomputes, or none does (and its rows share their prefix)
        recomputed.clear()
        cfg = FinetuneConfig(batch_size=4, learning_rate=2e-2, recompute_over=over, precision="fp32")  # bf16 rounds each shape apart
        train(str(tiny_model_dir), tokenizer, plan, cfg, 0, "cpu", tmp_path / str(over), tmp_path / f"checkpoints-{over}")
        assert bool(recomputed) == (over == 0)
        weights[over] = load_file(str(tmp_path / str(over) / "adapter_model.safetensors"))
    assert all(torch.allclose(weights[0][k], weights[10_000][k], atol=1e-5) for k in weights[0])
    assert any(weights[0][k].abs().sum() > 0 for k in weights[0] if "lora_B" in k)  # it trained
    assert adapter_key("m", PLAN, FinetuneConfig(recompute_over=0), 0) != adapter_key("m", PLAN, FinetuneConfig(), 0)


def test_the_lm_head_multiplies_a_flat_view_of_its_input_with_the_same_logits_and_gradient(tiny_model_dir):
    """load_model flattens the LM head's input (a strided slice of the last positions), for which torch on CPU would
    copy the frozen weight once per row; the logits and the gradient are those of nn.Linear's own forward."""
    from bench.models.loading import load_model
    head = load_model(str(tiny_model_dir), torch.float32).get_output_embeddings()
    assert "forward" in vars(head)  # the loaded model's head is the flattened one
    hidden = torch.randn(3, 7, head.in_features, requires_grad=True)
    flat = head(hidden[:, -4:])
    (grad_flat,) = torch.autograd.grad(flat.square().sum(), hidden)
    plain = torch.nn.Linear.forward(head, hidden[:, -4:])
    (grad_plain,) = torch.autograd.grad(plain.square().sum(), hidden)
    assert flat.shape == plain.shape == (3, 4, head.out_features)
    assert torch.allclose(flat, plain, atol=1e-6) and torch.allclose(grad_flat, grad_plain, atol=1e-6)


def test_bf16_lora_that_cannot_pack_holds_its_frozen_weights_in_bf16_and_trains_its_adapter_in_fp32(tiny_model_dir, monkeypatch):
    """A GPU's bf16 LoRA, run here on a CPU whose torch is taken to lack oneDNN's packing ops."""
    import bench.training.compute as compute
    import bench.training.finetune as finetune
    from bench.training.compute import autocast, frozen_dtype
    monkeypatch.setattr(compute, "onednn_bf16", lambda: False)
    tokenizer = load_tokenizer(str(tiny_model_dir))
    cfg = FinetuneConfig(precision="bf16")
    model = finetune.prepare_model(str(tiny_model_dir), cfg, "cpu")
    assert {p.dtype for p in model.parameters() if not p.requires_grad} == {torch.bfloat16}
    assert {p.dtype for p in model.parameters() if p.requires_grad} == {torch.float32}
    batch = [encode_pair(tokenizer, TrainPair("Question: price of the lamp?", "$12"), 64)]
    with autocast(cfg, "cpu"):
        assert not torch.is_autocast_enabled("cpu")  # the weights are bf16 already: nothing to cast
        answer_loss(model, batch, tokenizer.pad_token_id, "cpu").backward()
    grads = [p.grad for name, p in model.named_parameters() if "lora_B" in name]
    assert all(g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads) and any(g.abs().sum() > 0 for g in grads)
    # full fine-tuning, and LoRA sharded by FSDP (one dtype per shard), keep fp32 weights under bf16 autocast
    for other in (FinetuneConfig(method="full", precision="bf16"), FinetuneConfig(precision="bf16", sharding="fsdp", processes=2)):
        assert frozen_dtype(other, "cpu") == torch.float32
        with autocast(other, "cpu"):
            assert torch.is_autocast_enabled("cpu")


def test_the_trainer_updates_with_fused_adamw_on_a_cpu(tiny_model_dir, tmp_path):
    from bench.training.finetune import start
    trainer = start(str(tiny_model_dir), 0, 4, FinetuneConfig(), "cpu", tmp_path / "checkpoints")
    assert trainer.optimizer.defaults["fused"] is True
