"""A prompt prefix that every prompt of an answering batch shares (a chat template's system turn, the task's
instruction, a few-shot block) runs once, its keys and values then repeated into every prompt's cache, in fp32.

fp32 prefill is much of fp32 answering on a CPU, and the prefix is much of each prompt: 49 of the 62-81 tokens of
the default 20 COVID-QA prompts, 26 of PubMedQA's 53-68. Each row's tokens attend to the prefix's keys and values as
they would to their own, at the same positions: on 2 AMD EPYC cores (fp32 weights packed for oneDNN) the 20
generations took 5.5-5.8 against 7.2 s and the 20 PubMedQA scorings 1.9-2.2 against 2.7 s, with the same outputs as
lm-evaluation-harness's on 20 of 20 each (benchmarks/vs_lm_eval.py). In bf16 the prefix's keys and values, computed
in another batch shape, round otherwise: 7 of 20 greedy outputs changed on Xeon cores with AMX, where prefill was
0.2 s of the 1.3 s that 20 generations took."""
from __future__ import annotations

import os

import torch

# a prefix shorter than this is not worth a forward pass of its own
SHARED_PREFIX_MIN = 16


def sliding_window(config) -> int | None:
    """The attention window of models with sliding-window layers, else None: as `layer_types` says (Gemma 3, Qwen2),
    else as `use_sliding_window` says, else the window a config states (Mistral's attention applies its
    `sliding_window`, 4096 by default, with neither of the other two)."""
    layer_types = getattr(config, "layer_types", None)
    uses_window = ("sliding_attention" in layer_types if layer_types is not None
                   else getattr(config, "use_sliding_window", True))
    return getattr(config, "sliding_window", None) if uses_window else None


def shared_prefix(model, rows: list[list[int]], new_tokens: int) -> int:
    """How many leading token ids of a batch's prompts run once for all of them (0: each prompt runs whole): those
    every row shares, short of each row's last token, in fp32, and not where a sliding window (which would count the
    padding between the prefix and a row's own tokens) could reach back past a row's start."""
    if len(rows) < 2 or model.dtype != torch.float32:
        return 0
    window = sliding_window(model.config)
    if window is not None and max(map(len, rows)) + new_tokens > window:
        return 0
    prefix = min(len(os.path.commonprefix(rows)), min(map(len, rows)) - 1)
    return prefix if prefix >= SHARED_PREFIX_MIN else 0


def prefixed_batch(model, tokenizer, rows: list[list[int]], cache, new_tokens: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(input_ids, attention_mask, prefix) of a batch of prompts' token ids, left-padded. Where the rows share a
    prefix, it runs here into `cache` (a Cache, or None: then nothing is shared), repeated for every row, and the
    padding lies between it and each row's own tokens. Positions follow the attention mask (generate derives them
    from it), so every token keeps the position it has in its prompt."""
    prefix = shared_prefix(model, rows, new_tokens) if cache is not None else 0
    own = tokenizer.pad({"input_ids": [row[prefix:] for row in rows]}, return_tensors="pt").to(model.device)
    if not prefix:
        return own["input_ids"], own["attention_mask"], 0
    shared = torch.tensor([rows[0][:prefix]], device=model.device)
    model(input_ids=shared, past_key_values=cache, use_cache=True, logits_to_keep=1)
    cache.batch_repeat_interleave(len(rows))
    ids = torch.cat([shared.expand(len(rows), -1), own["input_ids"]], dim=1)
    return ids, torch.cat([torch.ones_like(ids[:, :prefix]), own["attention_mask"]], dim=1), prefix
