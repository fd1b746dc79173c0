"""Batched greedy generation with a KV cache, measuring tokens and seconds per query."""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from bench.models.loading import uses_chat_template
from bench.models.prefix import prefixed_batch
from bench.models.progress import bar_for


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    output_tokens: int
    seconds: float  # this query's share of its batch's wall time


def stop_token_ids(tokenizer, stop_at_newline: bool) -> list[int]:
    """End of sequence, and for short answers the newline token: generating past it only wastes time."""
    ids = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    if stop_at_newline:
        newline = tokenizer.encode("\n", add_special_tokens=False)
        if len(newline) == 1:
            ids.append(newline[0])
    return ids


class PreallocatedLayer(DynamicLayer):
    """A DynamicLayer whose keys and values are views into buffers sized for the whole generation: each step writes its
    tokens in place, where DynamicLayer concatenates, copying the whole cache every step. Attention reads the same
    values, so the outputs are the same: on 2 cores, 8 prompts of 1,503 tokens and 160 new tokens took 11.7 against
    13.3 s, the default 20 short QA prompts 1.21 against 1.24 s."""

    def __init__(self, capacity: int):
        super().__init__()
        self.capacity = capacity
        self.returned = None  # the view last handed out; keys that crop or batch selection replaced are copied in anew

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        start = self.get_seq_length()
        end = start + key_states.shape[-2]
        if self.keys is not self.returned or end > self.key_buffer.shape[-2]:
            self.key_buffer = reserve(self.keys, key_states, start, max(self.capacity, end))
            self.value_buffer = reserve(self.values, value_states, start, max(self.capacity, end))
        self.key_buffer[..., start:end, :].copy_(key_states)
        self.value_buffer[..., start:end, :].copy_(value_states)
        self.keys, self.values = self.key_buffer[..., :end, :], self.value_buffer[..., :end, :]
        self.returned = self.keys
        return self.keys, self.values


def reserve(cached: torch.Tensor, new: torch.Tensor, held: int, length: int) -> torch.Tensor:
    """A buffer of `length` positions shaped as `new`, holding the `held` positions cached so far."""
    buffer = new.new_empty((*new.shape[:-2], length, new.shape[-1]))
    if held:
        buffer[..., :held, :].copy_(cached)
    return buffer


def preallocated_cache(model, capacity: int) -> DynamicCache | None:
    """generate's own DynamicCache with each full-attention layer a PreallocatedLayer of `capacity` positions; None
    (generate makes its own) for an encoder-decoder or a model whose generation config names another cache."""
    if model.config.is_encoder_decoder or getattr(model.generation_config, "cache_implementation", None):
        return None
    cache = DynamicCache(config=model.config)
    cache.layers = [PreallocatedLayer(capacity) if type(layer) is DynamicLayer else layer for layer in cache.layers]
    return cache


@torch.inference_mode()
def generate(model, tokenizer, prompts: list[str], max_new_tokens: int, batch_size: int,
             stop_at_newline: bool = True, desc: str = "generate", sample: bool = False, bar=None) -> list[Generation]:
    """Greedy decoding (or, with `sample`, nucleus sampling from torch's seeded generator), prompts sorted by length
    so each batch pads little; results in input order."""
    decoding = dict(do_sample=True, temperature=0.8, top_p=0.95, top_k=None) if sample else \
        dict(do_sample=False, temperature=None, top_p=None, top_k=None)
    token_ids = tokenizer(prompts, add_special_tokens=not uses_chat_template(tokenizer))["input_ids"]
    # longest first, ties by text: the batches lm-evaluation-harness forms. Where a batch's shape changes the
    # arithmetic (bf16 matmuls on AMX cores: 6 of 20 greedy outputs differed with the batches formed shortest first),
    # the same batches give the same outputs as that peer (benchmarks/vs_lm_eval.py)
    order = sorted(range(len(prompts)), key=lambda i: (-len(token_ids[i]), prompts[i]))
    results: dict[int, Generation] = {}
    stops = stop_token_ids(tokenizer, stop_at_newline)
    with bar_for(bar, total=len(prompts), desc=desc, unit="q") as bar:
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            began = time.perf_counter()
            rows = [token_ids[i] for i in batch]
            cache = preallocated_cache(model, max(map(len, rows)) + max_new_tokens)
            ids, mask, _ = prefixed_batch(model, tokenizer, rows, cache, max_new_tokens)
            out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens, num_beams=1,
                                 eos_token_id=stops, pad_token_id=tokenizer.pad_token_id, past_key_values=cache, **decoding)
            share = (time.perf_counter() - began) / len(batch)
            new_tokens = out[:, ids.shape[1]:]
            stop_tensor = torch.tensor(stops, device=out.device)
            for row, i in enumerate(batch):
                produced = new_tokens[row]
                is_stop = torch.isin(produced, stop_tensor)
                length = int(is_stop.nonzero()[0]) + 1 if is_stop.any() else len(produced)
                text = tokenizer.decode(produced[:length], skip_special_tokens=True).strip()
                if stop_at_newline:
                    text = text.split("\n", 1)[0].strip()
                results[i] = Generation(text, int(mask[row].sum()), length, share)
            bar.update(len(batch))
    return [results[i] for i in range(len(prompts))]
