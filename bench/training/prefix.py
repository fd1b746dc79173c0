"""A prompt prefix that every row of a training part shares (a chat template's system turn, the task's instruction)
runs once for the part, in the part's own forward pass.

The part runs as one sequence: the prefix, then each row's own tokens, left-padded to the longest (`prefix_inputs`).
Attention (`prefix_attention`, transformers' SDPA attention in two calls) lets the prefix see itself causally and each
row see the prefix and itself causally: the loss and gradients of the rows run whole, up to float rounding (the prefix's
keys and values feed every row, and its gradient sums theirs). Before, the prefix ran as a forward pass of its own,
its keys and values repeated into a cache: the same computation in twice the passes. Closed-book steps of synth_qa
(8 rows of 72 tokens, 49 of them shared; bf16 on packed weights, 2 cores) took 0.37 against 0.42 s."""
from __future__ import annotations

import os
from functools import partial

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

from bench.training.attention import bf16_attention_forward
from bench.training.sharding import transformer

# a prefix shorter than this is not worth the split attention
SHARED_PREFIX_MIN = 16
ATTENTION = "ftrag_shared_prefix"  # registered below with transformers' attention and mask functions
ATTENTION_BF16 = "ftrag_shared_prefix_bf16"  # the same over bf16 products (attention.py), for packed LoRA training
PREFIX_ATTENTIONS = (ATTENTION, ATTENTION_BF16)


def shared_prefix(encoded: list[tuple[list[int], int]]) -> int:
    """How many leading ids every row shares (a chat template's system turn and the task's instruction), stopping
    short of each row's last prompt token, whose logit predicts its first target."""
    limit = min(len(ids) - n_target - 1 for ids, n_target in encoded)
    return max(0, min(len(os.path.commonprefix([ids for ids, _ in encoded])), limit))


def part_prefix(encoded: list[tuple[list[int], int]], share_prefix: bool = True) -> int:
    """How many leading ids of a batch part run once for all its rows (0: every row runs whole)."""
    prefix = shared_prefix(encoded) if share_prefix and len(encoded) > 1 else 0
    return prefix if prefix >= SHARED_PREFIX_MIN else 0


def prefix_attention(module, query, key, value, attention_mask, prefix_rows: tuple[int, int, int] | None = None,
                     attend=sdpa_attention_forward, **kwargs):
    """`attend` (transformers' SDPA attention, or bf16_attention_forward) over a sequence laid out by `prefix_inputs`
    (`prefix_rows`: prefix length, rows, row width): the prefix causally over itself, then the rows as a batch over the
    prefix's keys and values and their own, under `attention_mask` (rows, 1, width, prefix + width). Without
    `prefix_rows`, `attend` as it is."""
    if prefix_rows is None:
        return attend(module, query, key, value, attention_mask, **kwargs)
    prefix, rows, width = prefix_rows
    head, _ = attend(module, query[:, :, :prefix], key[:, :, :prefix], value[:, :, :prefix], None, **kwargs)

    def by_row(states: torch.Tensor) -> torch.Tensor:  # (1, heads, prefix + rows x width, dim) -> (rows, heads, width, dim)
        return states[0, :, prefix:].unflatten(1, (rows, width)).transpose(0, 1)

    keys, values = (torch.cat([states[:, :, :prefix].expand(rows, -1, -1, -1), by_row(states)], dim=2)
                    for states in (key, value))
    tail, _ = attend(module, by_row(query), keys, values, attention_mask, **kwargs)
    return torch.cat([head, tail.reshape(1, rows * width, *tail.shape[2:])], dim=1), None


AttentionInterface.register(ATTENTION, prefix_attention)
AttentionInterface.register(ATTENTION_BF16, partial(prefix_attention, attend=bf16_attention_forward))
# and SDPA's masks for the calls without a layout (transformers builds no mask at all for an unregistered name)
for name in PREFIX_ATTENTIONS:
    AttentionMaskInterface.register(name, sdpa_mask)


def train_prefix_once(model, max_length: int, bf16_products: bool = False):
    """The model, set to attend with `prefix_attention` where it can: it runs transformers' SDPA attention through the
    attention interface, and no sliding window (which the rows' mask does not apply) is shorter than a row may be;
    with `bf16_products` (LoRA training on packed frozen weights), over Bf16Attention. Set for the model's whole
    training: without a layout, `prefix_attention` is plain attention, and a layer whose activations are recomputed
    in the backward pass must attend as it did in the forward pass."""
    base = transformer(model)
    window = getattr(base.config, "sliding_window", None) or max_length
    if base._supports_attention_backend and base.config._attn_implementation == "sdpa" and window >= max_length:
        # the setter passes it to sub-configs; no validation to run
        base.config._attn_implementation = ATTENTION_BF16 if bf16_products else ATTENTION
    return model


def runs_prefix_once(model) -> bool:
    implementation = transformer(getattr(model, "module", model)).config._attn_implementation  # DDP's wrapper: .module
    return implementation in PREFIX_ATTENTIONS


def prefix_inputs(prefix_ids: list[int], input_ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor,
                  scored: torch.Tensor) -> dict:
    """The model inputs of a part whose rows share the leading `prefix_ids`, from the rest of its rows as
    finetune.collate lays them out (left-padded ids, mask, positions; `scored`, bool (rows, keep): which of each row's
    last `keep` positions the loss reads): one sequence, its attention mask, and the indices of the scored positions
    (in row order)."""
    prefix, (rows, width), device = len(prefix_ids), input_ids.shape, input_ids.device
    own = torch.ones(width, width, dtype=torch.bool, device=device).tril() & mask.bool()[:, None, :]
    attention = torch.cat([mask.new_ones(rows, width, prefix, dtype=torch.bool), own], dim=2)[:, None]
    starts = prefix + torch.arange(rows, device=device)[:, None] * width  # each row's first position in the sequence
    last = starts + torch.arange(width - scored.shape[1], width, device=device)
    return dict(input_ids=torch.cat([torch.tensor(prefix_ids, device=device), input_ids.flatten()])[None],
                attention_mask=attention, logits_to_keep=last[scored], prefix_rows=(prefix, rows, width),
                position_ids=torch.cat([torch.arange(prefix, device=device), (positions + prefix).flatten()])[None])
