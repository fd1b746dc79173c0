"""Training's attention: bf16 products (Bf16Attention), a shared prompt prefix run once (prefix_attention), key/value
heads read in place."""
import os

import torch
import torch.nn.functional as F

import pytest

from bench.models.loading import load_tokenizer
from bench.records.config import FinetuneConfig
from bench.training.attention import Bf16Attention, bf16_attention_forward
from bench.training.finetune import TrainPair, TrainPlan, answer_loss, encode_pair, train_cached
from bench.training.prefix import shared_prefix
from tests.conftest import TINY_MODEL_PART, attention_calls, bf16_attention_calls

HEADS, KV_HEADS, DIM = 6, 2, 16


def inputs(rows: int, length: int, keys: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    q = torch.randn(rows, HEADS, length, DIM, generator=generator) * 2
    k = torch.randn(rows, KV_HEADS, keys, DIM, generator=generator) * 2
    v = torch.randn(rows, KV_HEADS, keys, DIM, generator=generator)
    return [t.requires_grad_() for t in (q, k, v)]


def attention_module() -> torch.nn.Module:
    module = torch.nn.Module()
    module.num_key_value_groups = HEADS // KV_HEADS  # what transformers' SDPA attention reads
    return module


def output_and_gradients(attend, q, k, v, grad):
    for t in (q, k, v):
        t.grad = None
    out = attend(q, k, v)
    out.backward(grad)
    return [out.detach(), q.grad.clone(), k.grad.clone(), v.grad.clone()]


def sdpa(q, k, v, mask, scale):
    """fp32 SDPA over repeated key/value heads, in the (rows, length, heads, dim) layout Bf16Attention returns."""
    repeat = HEADS // KV_HEADS
    out = F.scaled_dot_product_attention(q, k.repeat_interleave(repeat, 1), v.repeat_interleave(repeat, 1),
                                         attn_mask=mask, scale=scale)
    return out.transpose(1, 2)


def relative_errors(mine, reference) -> list[float]:
    return [((a - b).norm() / b.norm()).item() for a, b in zip(mine, reference)]


def test_bf16_attention_gives_fp32_sdpas_outputs_and_gradients_to_bf16_rounding():
    """Grouped query heads over shared key/value heads, a causal mask over a prefix, left padding, and sharp attention
    (scores up to ~100): outputs and the gradients of q, k and v within 2% of fp32 SDPA's. A wrong head grouping or
    mask is off by ~100%; scores rounded to bf16 put the gradients ~10% off."""
    rows, length, keys, scale = 3, 20, 28, 3.0
    visible = torch.ones(length, keys, dtype=torch.bool).tril(keys - length).repeat(rows, 1, 1, 1)
    visible[1, :, :, 8:11] = False  # a row's left padding
    q, k, v = inputs(rows, length, keys)
    grad = torch.randn(rows, length, HEADS, DIM)
    mine = output_and_gradients(lambda *t: Bf16Attention.apply(*t, visible, scale), q, k, v, grad)
    reference = output_and_gradients(lambda *t: sdpa(*t, visible, scale), q, k, v, grad)
    assert mine[0].dtype == torch.float32 and mine[0].is_contiguous() and mine[0].shape == (rows, length, HEADS, DIM)
    assert max(relative_errors(mine, reference)) < 0.02


def test_without_a_mask_bf16_attention_is_causal_with_the_heads_scale():
    module = attention_module()
    q, k, v = inputs(2, 12, 12, seed=1)
    grad = torch.randn(2, 12, HEADS, DIM)
    mine = output_and_gradients(lambda *t: bf16_attention_forward(module, *t, None)[0], q, k, v, grad)
    causal = torch.ones(12, 12, dtype=torch.bool).tril()
    reference = output_and_gradients(lambda *t: sdpa(*t, causal, DIM ** -0.5), q, k, v, grad)
    assert max(relative_errors(mine, reference)) < 0.03


def test_a_query_that_sees_no_key_gets_zeros_and_passes_no_gradient_as_sdpa():
    """Left padding: the first queries of a row see no key. SDPA gives them zeros; so does Bf16Attention, and no
    gradient flows from them (where attending to all alike would carry their gradient into the row's keys)."""
    q, k, v = inputs(2, 6, 6)
    visible = torch.ones(6, 6, dtype=torch.bool).tril().repeat(2, 1, 1, 1)
    visible[0, :, :, :2] = False  # row 0's two padding positions: queries 0 and 1 see nothing
    grad = torch.randn(2, 6, HEADS, DIM)
    mine = output_and_gradients(lambda *t: Bf16Attention.apply(*t, visible, 0.25), q, k, v, grad)
    reference = output_and_gradients(lambda *t: sdpa(*t, visible, 0.25), q, k, v, grad)
    assert torch.equal(mine[0][0, :2], torch.zeros(2, HEADS, DIM)) and torch.equal(reference[0][0, :2], mine[0][0, :2])
    assert all(torch.isfinite(t).all() for t in mine)
    assert max(relative_errors(mine, reference)) < 0.02


def test_what_bf16_attention_does_not_cover_runs_as_transformers_sdpa_attention():
    module = attention_module()
    q, k, v = (t.detach() for t in inputs(1, 6, 6))
    additive = torch.zeros(1, 1, 6, 6).masked_fill(torch.ones(6, 6, dtype=torch.bool).triu(1), float("-inf"))
    out, _ = bf16_attention_forward(module, q, k, v, additive, scaling=0.25)
    expected = sdpa(q, k, v, additive, 0.25)
    assert torch.equal(out, expected.contiguous())  # fp32 SDPA itself, not bf16 products


def test_shared_prefix_stops_before_each_rows_last_prompt_token():
    assert shared_prefix([([1, 2, 3, 4, 9], 1), ([1, 2, 3, 5, 6, 9], 2)]) == 3
    assert shared_prefix([([1, 2, 3, 9], 1), ([1, 2, 3, 9], 1)]) == 2  # identical rows: the last prompt token stays
    assert shared_prefix([([1, 9], 1), ([2, 9], 1)]) == 0


@pytest.mark.parametrize("recompute_over, bf16_products", [(None, False), (8, False), (None, True)])
def test_a_shared_prompt_prefix_run_once_gives_the_same_loss_and_gradient(tiny_model_dir, monkeypatch, recompute_over,
                                                                           bf16_products):
    """Rows that share a long template, run as one sequence (the prefix once, then each row padded, attention split by
    prefix_attention), give the loss and LoRA gradient of the rows run whole; so do they where the layers recompute
    their activations in the backward pass, and, to bf16's rounding, where attention runs in bf16 products."""
    import bench.training.finetune as finetune
    import bench.training.prefix as prefix

    tokenizer = load_tokenizer(str(tiny_model_dir))
    model = finetune.prepare_model(str(tiny_model_dir), FinetuneConfig(precision="fp32"), "cpu")
    assert prefix.runs_prefix_once(model)
    if bf16_products:  # as LoRA on packed frozen weights attends
        model.config._attn_implementation = prefix.ATTENTION_BF16
        assert prefix.runs_prefix_once(model)
    for p in (p for name, p in model.named_parameters() if "lora_B" in name):
        torch.nn.init.normal_(p, std=0.1)  # LoRA's B starts at zero: give the adapter a path the gradient must cross
    template = "You answer questions about the products of Rolith Electric, in a few words. Question: "
    texts = [(template + q, a) for q, a in [("price of lamp?", "$12"), ("what year did the kettle go on sale?", "2019"),
                                            ("weight?", "1.2 kg")]]
    batch = [encode_pair(tokenizer, TrainPair(p, t), 64) for p, t in texts]
    assert shared_prefix(batch) >= prefix.SHARED_PREFIX_MIN
    calls = (bf16_attention_calls if bf16_products else attention_calls)(monkeypatch)
    head_rows = []  # positions the LM head ran on, each pass
    head = model.get_output_embeddings()
    head.register_forward_hook(lambda _, args, __: head_rows.append(args[0].shape[:-1].numel()))

    def loss_and_gradient():
        model.zero_grad()
        loss = answer_loss(model, batch, tokenizer.pad_token_id, "cpu", "sum", recompute_over=recompute_over)
        loss.backward()
        return loss.detach(), torch.cat([p.grad.flatten() for p in model.parameters() if p.requires_grad])

    shared = loss_and_gradient()
    assert {masked for masked, _ in calls} == {False, True}  # the prefix (unmasked), then the rows: split attention ran
    targets = [n for _, n in batch]
    assert len(set(targets)) > 1 and head_rows == [sum(targets)]  # as one sequence, the labelled positions alone
    monkeypatch.setattr(prefix, "SHARED_PREFIX_MIN", 10_000)
    calls.clear()
    whole = loss_and_gradient()
    assert all(masked for masked, _ in calls)  # padded rows, each run whole
    assert head_rows[-1] == len(batch) * (max(targets) + 1)  # each row's last positions
    if bf16_products:  # the same products, rounded to bf16 in other groupings
        assert shared[0].item() == pytest.approx(whole[0].item(), rel=1e-3)
        assert (shared[1] - whole[1]).norm() < 0.01 * whole[1].norm()
    else:
        assert torch.allclose(shared[0], whole[0], atol=1e-5) and torch.allclose(shared[1], whole[1], atol=1e-5)
    assert shared[1].abs().sum() > 0


def test_training_reads_shared_key_value_heads_in_place_on_a_cpu_unless_told_otherwise_and_its_key_says_so(monkeypatch):
    from bench.training.compute import SHARED_KV_HEADS, kv_heads_shared, rounding

    cfg = FinetuneConfig()
    monkeypatch.delenv(SHARED_KV_HEADS, raising=False)
    with kv_heads_shared("cuda"):  # a masked call with grouped heads would fall back to CUDA's math kernel
        assert SHARED_KV_HEADS not in os.environ and "shared key/value heads" not in rounding(cfg, "cuda")
    with kv_heads_shared("cpu"):
        assert os.environ[SHARED_KV_HEADS] == "1"
    assert SHARED_KV_HEADS not in os.environ and "shared key/value heads" in rounding(cfg, "cpu")  # answering keeps the default
    monkeypatch.setenv(SHARED_KV_HEADS, "0")  # the user's choice stands
    with kv_heads_shared("cpu"):
        assert os.environ[SHARED_KV_HEADS] == "0" and "shared key/value heads" not in rounding(cfg, "cpu")


def test_training_runs_its_attention_on_shared_key_value_heads(tiny_model_dir, monkeypatch):
    from bench.training.compute import SHARED_KV_HEADS

    monkeypatch.delenv(SHARED_KV_HEADS, raising=False)
    calls = attention_calls(monkeypatch)
    pairs = [TrainPair("Question: price of lamp" + " number" * (i % 3) + f" {i}?", f"${10 + i}") for i in range(16)]  # padded
    # rows of different lengths in one part; fp32, whose attention is SDPA's (bf16 products group the heads themselves)
    cfg = FinetuneConfig(batch_size=8, batch_tokens=TINY_MODEL_PART, precision="fp32")
    train_cached(str(tiny_model_dir), load_tokenizer(str(tiny_model_dir)), TrainPlan([pairs], []), cfg, 0, "cpu")
    masked = [grouped for is_masked, grouped in calls if is_masked]  # whether each masked call grouped its heads
    assert masked and all(masked) and SHARED_KV_HEADS not in os.environ  # training's own setting, then the process's


def test_shared_key_value_heads_give_the_loss_and_gradients_of_repeated_ones(tiny_model_dir, monkeypatch):
    from bench.training.compute import SHARED_KV_HEADS
    from bench.training.finetune import prepare_model

    model = prepare_model(str(tiny_model_dir), FinetuneConfig(precision="fp32"), "cpu")
    with torch.no_grad():  # B starts at zero, which would leave A without a gradient to compare
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.05, generator=torch.Generator().manual_seed(len(name)))
    tokenizer = load_tokenizer(str(tiny_model_dir))
    prompt = "Answer in a few words.\nQuestion: what is the price of the lamp?"
    batch = [encode_pair(tokenizer, TrainPair(prompt, "$12"), 64), encode_pair(tokenizer, TrainPair(prompt + " Be brief.", "twelve dollars"), 64),
             encode_pair(tokenizer, TrainPair("", "The lamp costs twelve dollars and ships in a box."), 64)]
    results, calls = [], attention_calls(monkeypatch)
    for setting in ("0", "1"):  # rows of three lengths: padding masks, and the first two share a prefix
        monkeypatch.setenv(SHARED_KV_HEADS, setting)
        model.zero_grad()
        loss = answer_loss(model, batch[:2], tokenizer.pad_token_id, "cpu", "sum") + answer_loss(model, batch, tokenizer.pad_token_id, "cpu", "sum")
        loss.backward()
        results.append((loss.item(), torch.cat([p.grad.flatten() for p in model.parameters() if p.requires_grad])))
    (loss_repeated, repeated), (loss_shared, shared) = results
    # transformers groups the heads of unmasked calls (a shared prefix's single row) either way, of masked ones only when told
    grouped = [heads_grouped for _, heads_grouped in calls]
    assert not all(grouped[: len(grouped) // 2]) and all(grouped[len(grouped) // 2 :])
    assert model.config.num_key_value_heads < model.config.num_attention_heads and repeated.abs().sum() > 0
    assert loss_shared == pytest.approx(loss_repeated, rel=1e-6)
    torch.testing.assert_close(shared, repeated, rtol=1e-4, atol=1e-7)
