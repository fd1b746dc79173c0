"""Attention for LoRA training on packed frozen weights (a CPU's bf16 matmuls): fp32 scores and softmax, its other
products in bf16, in place of torch's fp32 SDPA kernel.

On 2 AMD EPYC Zen 5 cores SDPA's fp32 flash kernel took a third of a RAFT step (`ft_rag`'s rows, ~300 tokens) and a
tenth of a closed-book one; it gained nothing from bf16 inputs. Here, attention forward and backward over SmolLM2-135M's
9 query and 3 key/value heads took 3.0 against 6.1 ms for a 315-token row, 6.9 against 14.8 ms for a 512-token one,
and 0.56 against 0.98 ms for 8 rows of 23 tokens on a 49-token shared prefix. Alternating with SDPA in one process,
LoRA steps ran 1.16-1.32x as fast on RAFT rows, 1.07-1.09x on corpus text and 1.01-1.32x closed-book. Over fp32
weights the LoRA gradients of a RAFT batch moved 0.8% (of their norm) from fp32 SDPA's; the packed bf16 weights move
them 2.8%, both together 3.5%. It keeps the bf16 probabilities for the backward pass (~1.8 MB a layer for a
315-token row, where SDPA keeps fp32 q, k, v and output, ~1.9 MB). Its batched bf16 matmuls meet a new shape with
each part, and ideep keeps a primitive for each; with that cache bounded (run/allocator.py) the steps peaked no higher
than SDPA's (1,993 against 2,014 MB)."""
from __future__ import annotations

import torch
from transformers.integrations.sdpa_attention import sdpa_attention_forward

BF16 = torch.bfloat16


class Bf16Attention(torch.autograd.Function):
    """softmax(q k^T s + mask) v for query heads grouped over shared key/value heads (each group's queries run as one
    matrix against its head, so no head is copied). q: (batch, heads, length, dim); k, v: (batch, kv heads, keys, dim);
    `visible`: bool, (batch or 1, 1, length, keys). Returns (batch, length, heads, dim), fp32, the layout the output
    projection reads. The scores stay fp32, as a fused kernel's accumulator keeps them: rounded to bf16
    (autocast's eager attention), a score of ~20 moves by up to 1/16, and SmolLM2-135M's LoRA gradients moved 2.2%
    from fp32 SDPA's on RAFT rows, against 0.8%. The products by v and the backward pass's four run in bf16: an fp32
    gradient of the probabilities changed nothing measurable. A query that sees no key (padding) gets zeros and passes
    no gradient, as SDPA's kernels do."""

    @staticmethod
    def forward(ctx, q, k, v, visible: torch.Tensor, scale: float):
        batch, heads, length, dim = q.shape
        kv_heads, keys = k.shape[1], k.shape[2]
        group = heads // kv_heads
        q = q.mul(scale).reshape(batch, kv_heads, group * length, dim)  # scaled here, not over the scores
        scores = torch.matmul(q, k.transpose(-1, -2)).view(batch, kv_heads, group, length, keys)
        hidden = ~visible.unsqueeze(-3)  # over the group's heads
        probs = scores.masked_fill_(hidden, torch.finfo(scores.dtype).min).softmax(-1).to(BF16)
        probs = probs.view(batch, kv_heads, group * length, keys)
        qb, kb, vb = q.to(BF16), k.to(BF16), v.to(BF16)
        ctx.save_for_backward(qb, kb, vb, probs)
        unseen = (~visible.any(-1)).transpose(1, 2).unsqueeze(-1)  # (batch, length, 1, 1): queries that see no key
        ctx.scale, ctx.heads, ctx.unseen = scale, heads, unseen if unseen.any() else None
        out = torch.matmul(probs, vb).view(batch, heads, length, dim).transpose(1, 2)
        out = out.to(torch.float32, memory_format=torch.contiguous_format)
        return out if ctx.unseen is None else out.masked_fill_(ctx.unseen, 0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        qb, kb, vb, probs = ctx.saved_tensors
        batch, kv_heads, rows, dim = qb.shape
        if ctx.unseen is not None:
            grad = grad.masked_fill(ctx.unseen, 0)
        grad_out = grad.transpose(1, 2).to(BF16, memory_format=torch.contiguous_format).view(batch, kv_heads, rows, dim)
        grad_v = torch.matmul(probs.transpose(-1, -2), grad_out)
        grad_probs = torch.matmul(grad_out, vb.transpose(-1, -2))
        grad_scores = torch._softmax_backward_data(grad_probs, probs, -1, BF16)  # fp32 inside
        grad_q = torch.matmul(grad_scores, kb).view(batch, ctx.heads, -1, dim).float().mul_(ctx.scale)
        grad_k = torch.matmul(grad_scores.transpose(-1, -2), qb).float()  # qb is scaled
        return grad_q, grad_k, grad_v.float(), None, None


def bf16_attention_forward(module, query, key, value, attention_mask, dropout: float = 0.0,
                           scaling: float | None = None, **kwargs):
    """transformers' attention interface over Bf16Attention: a bool mask, or none for causal attention (the queries
    the last of the keys). What it does not cover (dropout, a float mask, softcapping, a position bias) runs as
    transformers' SDPA attention."""
    plain = attention_mask is None or attention_mask.dtype == torch.bool
    if dropout or not plain or kwargs.get("softcap") is not None or kwargs.get("position_bias") is not None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)
    length, keys = query.shape[2], key.shape[2]
    if attention_mask is None:
        attention_mask = torch.ones(1, 1, length, keys, dtype=torch.bool, device=query.device).tril(keys - length)
    scale = scaling if scaling is not None else query.shape[-1] ** -0.5
    return Bf16Attention.apply(query, key, value, attention_mask, scale), None
