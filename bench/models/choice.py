"""Constrained choice: score every allowed answer by its log-likelihood after the prompt, pick the best.

A small model cannot answer off the label set this way. The prompt runs once per item. The choices then run
in one more forward pass as a prefix tree over the prompt's KV cache: each distinct prefix is one token that
attends to the prompt and its own ancestors. Banking77's 77 intents are 404 such tokens (305 in the tree)
against 77 x 16 = 1,232 when padded into a batch: 0.77 s against 2.6 s an item on 2 CPU cores.
Models with sliding-window layers whose window the tree would overrun score a padded batch instead.
Choices are ranked by summed token log-probability, as lm-evaluation-harness's `acc` does.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from transformers import DynamicCache

from bench.models.loading import answer_token_ids, uses_chat_template
from bench.models.prefix import prefixed_batch, sliding_window
from bench.models.progress import bar_for


@dataclass(frozen=True)
class ChoiceResult:
    label: str
    logprobs: tuple[float, ...]  # each choice's summed token log-probability, in choice order
    prompt_tokens: int
    choice_tokens: int  # tokens the choice pass ran beyond the prompt (the tree, or the padded batch)
    seconds: float

    @property
    def probs(self) -> tuple[float, ...]:
        """Softmax over the choices' log-probabilities."""
        return tuple(torch.tensor(self.logprobs).softmax(-1).tolist())


def choice_token_ids(tokenizer, choices: list[str]) -> list[list[int]]:
    """Each choice's tokens as they follow the prompt (the same tokens its training target has)."""
    return [answer_token_ids(tokenizer, choice) for choice in choices]


class ChoiceTree:
    """The choices' token ids and each distinct proper prefix of them, built once per label set."""

    def __init__(self, choice_ids: list[list[int]]):
        self.choice_ids = choice_ids
        # prefix -> its position in the tree pass; parents are inserted before their children
        self.prefixes: dict[tuple[int, ...], int] = {}
        for ids in choice_ids:
            for end in range(1, len(ids)):
                self.prefixes.setdefault(tuple(ids[:end]), len(self.prefixes))
        # sees[i, j]: tree token i attends to tree token j (itself and its ancestors)
        self.sees = torch.zeros(len(self.prefixes), len(self.prefixes), dtype=torch.bool)
        for prefix, row in self.prefixes.items():
            for end in range(1, len(prefix) + 1):
                self.sees[row, self.prefixes[prefix[:end]]] = True

    def mask(self, prompt_length: int, dtype, device) -> torch.Tensor:
        """Additive 4D mask (1, 1, N, L + N): every tree token sees the whole prompt, itself and its ancestors."""
        allowed = torch.cat([torch.ones(len(self.prefixes), prompt_length, dtype=torch.bool), self.sees], dim=1)
        blocked = torch.zeros(allowed.shape, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)
        return blocked[None, None].to(device)


def choice_logprobs(model, prompt_ids: torch.Tensor, tree: ChoiceTree) -> torch.Tensor:
    """Summed log-probability of each choice of the tree after one prompt (1 x L)."""
    length, prefixes = prompt_ids.shape[1], tree.prefixes
    if needs_padded_batch(model, length, tree):
        return _padded_batch_logprobs(model, prompt_ids, tree.choice_ids)
    out = model(input_ids=prompt_ids, use_cache=True, logits_to_keep=1)  # only the last position is read
    first = out.logits[0, -1].float().log_softmax(-1)
    scores = torch.stack([first[ids[0]] for ids in tree.choice_ids])
    if not prefixes:
        return scores
    inputs = torch.tensor([[p[-1] for p in prefixes]], device=prompt_ids.device)
    positions = torch.tensor([[length + len(p) - 1 for p in prefixes]], device=prompt_ids.device)
    attention = tree.mask(length, model.dtype, prompt_ids.device)
    logits = model(input_ids=inputs, position_ids=positions, attention_mask=attention, past_key_values=out.past_key_values).logits
    following = logits[0].float().log_softmax(-1)
    for row, ids in enumerate(tree.choice_ids):
        for end in range(1, len(ids)):
            scores[row] += following[prefixes[tuple(ids[:end])], ids[end]]
    return scores


def needs_padded_batch(model, prompt_length: int, tree: ChoiceTree) -> bool:
    """A sliding attention window that the tree would overrun: score a padded batch instead."""
    window = sliding_window(model.config)
    return window is not None and prompt_length + len(tree.prefixes) > window


def choice_pass_tokens(model, prompt_length: int, tree: ChoiceTree) -> int:
    if needs_padded_batch(model, prompt_length, tree):
        width = max(len(ids) for ids in tree.choice_ids)
        return len(tree.choice_ids) * (width - 1)
    return len(tree.prefixes)


def _padded_batch_logprobs(model, prompt_ids: torch.Tensor, choice_ids: list[list[int]]) -> torch.Tensor:
    """The prompt's KV cache repeated once per choice, choices padded into one batch; the model builds its own masks."""
    width = max(len(ids) for ids in choice_ids)
    # padding positions are masked out of attention and of the sum, so the pad id itself never matters
    tokens = torch.tensor([ids + [0] * (width - len(ids)) for ids in choice_ids], device=prompt_ids.device)
    mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in choice_ids], device=prompt_ids.device)
    out = model(input_ids=prompt_ids, use_cache=True, logits_to_keep=1)
    scores = out.logits[0, -1].float().log_softmax(-1)[tokens[:, 0]]
    if tokens.shape[1] > 1:
        n_choices, length = tokens.shape[0], prompt_ids.shape[1]
        cache = out.past_key_values
        cache.batch_repeat_interleave(n_choices)
        inputs = tokens[:, :-1]
        attention = torch.cat([torch.ones(n_choices, length, dtype=mask.dtype, device=mask.device), mask[:, :-1]], dim=1)
        positions = torch.arange(length, length + inputs.shape[1], device=tokens.device).expand(n_choices, -1)
        logits = model(input_ids=inputs, attention_mask=attention, position_ids=positions, past_key_values=cache).logits
        following = logits.float().log_softmax(-1).gather(-1, tokens[:, 1:].unsqueeze(-1)).squeeze(-1)
        scores = scores + (following * mask[:, 1:]).sum(1)
    return scores


@torch.inference_mode()
def choose(model, tokenizer, prompts: list[str], choices: list[str], desc: str = "choose", bar=None,
           batch_size: int = 16) -> list[ChoiceResult]:
    tree = ChoiceTree(choice_token_ids(tokenizer, choices))
    with bar_for(bar, total=len(prompts), desc=desc, unit="q") as bar:
        if not tree.prefixes:  # every choice is one token: the prompt pass alone scores them, so prompts batch
            return choose_single_tokens(model, tokenizer, prompts, choices, batch_size, bar)
        results = []
        for prompt in prompts:
            results.append(choose_one(model, tokenizer, prompt, choices, tree))
            bar.update(1)
    return results


def choose_single_tokens(model, tokenizer, prompts: list[str], choices: list[str], batch_size: int, bar) -> list[ChoiceResult]:
    """Single-token choices (yes/no/maybe): length-sorted, left-padded batches of prompts, one pass each, the LM
    head on the last position only. Short prompts one at a time leave the cores idle (10 PubMedQA questions:
    1.8 s one by one, 1.1 s as one batch)."""
    first_tokens = torch.tensor([ids[0] for ids in choice_token_ids(tokenizer, choices)], device=model.device)
    encoded = [tokenizer(p, add_special_tokens=not uses_chat_template(tokenizer)).input_ids for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    results: dict[int, ChoiceResult] = {}
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        began, cache = time.perf_counter(), DynamicCache(config=model.config)
        ids, mask, prefix = prefixed_batch(model, tokenizer, [encoded[i] for i in batch], cache, new_tokens=0)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # left padding must not shift positions
        logits = model(input_ids=ids[:, prefix:], attention_mask=mask, position_ids=positions[:, prefix:],
                       past_key_values=cache, logits_to_keep=1).logits[:, -1]
        scores = logits.float().log_softmax(-1)[:, first_tokens]
        share = (time.perf_counter() - began) / len(batch)
        for row, i in enumerate(batch):
            results[i] = ChoiceResult(choices[int(scores[row].argmax())], tuple(scores[row].tolist()), len(encoded[i]), 0, share)
        bar.update(len(batch))
    return [results[i] for i in range(len(prompts))]


def choose_one(model, tokenizer, prompt: str, choices: list[str], tree: ChoiceTree) -> ChoiceResult:
    began = time.perf_counter()
    prompt_ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=not uses_chat_template(tokenizer)).input_ids.to(model.device)
    scores = choice_logprobs(model, prompt_ids, tree)
    length = prompt_ids.shape[1]
    return ChoiceResult(choices[int(scores.argmax())], tuple(scores.tolist()), length,
                        choice_pass_tokens(model, length, tree), time.perf_counter() - began)
