import json

import torch
import torch.nn.functional as F

from bench.records.config import FinetuneConfig
from bench.training.finetune import TrainPair, answer_loss, collate, encode_pair, train_cached
from bench.models.loading import load_tokenizer


def test_collate_left_pads_and_aligns_labels_with_the_targets():
    input_ids, mask, positions, labels, keep = collate([([1, 2, 3, 4, 5], 2), ([7, 8, 9], 1)], pad_id=0, device="cpu")
    assert input_ids.tolist() == [[1, 2, 3, 4, 5], [0, 0, 7, 8, 9]]
    assert mask.tolist() == [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]]
    assert positions.tolist() == [[0, 1, 2, 3, 4], [0, 0, 0, 1, 2]]
    assert keep == 3 and labels.tolist() == [[4, 5], [-100, 9]]


def test_encode_pair_keeps_the_target_when_the_prompt_is_cut(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    ids, n_target = encode_pair(tokenizer, TrainPair("word " * 100, "$249"), max_length=20)
    target = tokenizer.encode("$249", add_special_tokens=False) + [tokenizer.eos_token_id]
    assert len(ids) == 20 and n_target == len(target) and ids[-n_target:] == target


def test_answer_only_loss_equals_the_loss_over_full_logits(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    tokenizer = load_tokenizer(str(tiny_model_dir))
    encoded = [encode_pair(tokenizer, TrainPair(p, t), 64) for p, t in [("Question: price of lamp?", "$12"), ("Q: year?", "It was 2019")]]
    input_ids, mask, positions, labels, keep = collate(encoded, tokenizer.pad_token_id, "cpu")
    fast = answer_loss(model, input_ids, mask, positions, labels, keep)
    full_labels = torch.full_like(input_ids, -100)
    full_labels[:, -labels.shape[1]:] = labels
    logits = model(input_ids=input_ids, attention_mask=mask, position_ids=positions).logits
    slow = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), full_labels[:, 1:].reshape(-1), ignore_index=-100)
    assert torch.allclose(fast, slow, atol=1e-5)


PAIRS = [TrainPair(f"Question: price of lamp {i}?", f"${10 + i}") for i in range(8)] * 20


def test_lora_training_lowers_the_loss_and_a_second_call_reuses_the_adapter(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    cfg = FinetuneConfig(batch_size=8, learning_rate=2e-2)
    folder, stats = train_cached(str(tiny_model_dir), tokenizer, PAIRS, cfg, 1, 0, "cpu")
    assert stats.last_loss < stats.first_loss - 0.2  # a random 32-wide model moves slowly through rank-16 adapters
    assert stats.sequences == 160 and stats.steps == 20 and stats.tokens > 0 and not stats.cached
    assert json.loads((folder / "adapter_config.json").read_text())["r"] == 16
    again, cached = train_cached(str(tiny_model_dir), tokenizer, PAIRS, cfg, 1, 0, "cpu")
    assert again == folder and cached.cached and cached.seconds == stats.seconds


def test_full_fine_tuning_learns_the_answers_and_saves_a_whole_model(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    cfg = FinetuneConfig(method="full", batch_size=8, learning_rate=1e-2)
    folder, stats = train_cached(str(tiny_model_dir), tokenizer, PAIRS, cfg, 1, 0, "cpu")
    assert stats.last_loss < 0.6 * stats.first_loss
    assert (folder / "config.json").exists() and not (folder / "adapter_config.json").exists()
    assert stats.method == "full" and stats.trainable_params == stats.flops / (6 * stats.tokens)
