import torch
import torch.nn.functional as F

from bench.training.attention import Bf16Attention, bf16_attention_forward

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
