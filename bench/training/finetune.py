"""Fine-tuning: LoRA (peft) or full, on (prompt, target) pairs with the loss on the target only.

Sequences are left-padded so every target sits at the right edge; the LM head then runs only over the
last positions (`logits_to_keep`), which on CPU nearly doubles training speed for short answers.
"""
from __future__ import annotations

import random
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, get_linear_schedule_with_warmup

from bench.models.device import peak_memory_mb
from bench.models.loading import uses_chat_template
from bench.models.progress import progress
from bench.records.cache import cached_dir, stage_key
from bench.records.config import FinetuneConfig
from bench.records.io import atomic_write_json, read_json
from bench.records.manifest import TrainStats


@dataclass(frozen=True)
class TrainPair:
    prompt: str  # already formatted (chat template applied); "" for plain corpus text
    target: str


def encode_pair(tokenizer, pair: TrainPair, max_length: int) -> tuple[list[int], int]:
    """Token ids of prompt + target + end of sequence, and how many trailing ids the loss covers."""
    if pair.prompt:
        prompt_ids = tokenizer.encode(pair.prompt, add_special_tokens=not uses_chat_template(tokenizer))
    else:  # corpus text: every token but the first is a target
        prompt_ids = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    target_ids = tokenizer.encode(pair.target, add_special_tokens=False) + [tokenizer.eos_token_id]
    ids = (prompt_ids + target_ids)[-max_length:]  # cut the prompt's start, never the target
    n_target = min(len(target_ids), len(ids) - 1)
    return ids, n_target


def make_batches(encoded: list[tuple[list[int], int]], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of similar length (less padding), in random order."""
    order = sorted(range(len(encoded)), key=lambda i: (len(encoded[i][0]), rng.random()))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(encoded: list[tuple[list[int], int]], pad_id: int, device: str):
    width = max(len(ids) for ids, _ in encoded)
    keep = max(n for _, n in encoded) + 1  # logits for the last `keep` positions predict the targets
    input_ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(input_ids)
    labels = torch.full((len(encoded), keep - 1), -100, dtype=torch.long)
    for row, (ids, n_target) in enumerate(encoded):
        input_ids[row, width - len(ids):] = torch.tensor(ids)
        mask[row, width - len(ids):] = 1
        labels[row, keep - 1 - n_target:] = torch.tensor(ids[len(ids) - n_target:])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)  # left padding must not shift positions
    return input_ids.to(device), mask.to(device), positions.to(device), labels.to(device), keep


def answer_loss(model, input_ids, mask, positions, labels, keep: int) -> torch.Tensor:
    """Mean cross-entropy over target tokens, running the LM head on the last `keep` positions only."""
    logits = model(input_ids=input_ids, attention_mask=mask, position_ids=positions, logits_to_keep=keep).logits
    return F.cross_entropy(logits[:, :-1].float().reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)


def prepare_model(model_path: str, cfg: FinetuneConfig, device: str):
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    if cfg.method == "lora":
        lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                          target_modules="all-linear", task_type="CAUSAL_LM")
        # peft reads transformers' deprecated `is_gradient_checkpointing`; the warning is theirs, not the user's
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing", category=FutureWarning)
            model = get_peft_model(model, lora)
    return model.to(device).train()


def train(model_path: str, tokenizer, pairs: list[TrainPair], cfg: FinetuneConfig, epochs: int,
          seed: int, device: str, out: Path) -> TrainStats:
    """1. encode  2. loop over epochs of length-bucketed batches  3. save adapter (or whole model)."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    encoded = [encode_pair(tokenizer, p, cfg.max_length) for p in pairs]
    model = prepare_model(model_path, cfg, device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr(), weight_decay=0.0)
    steps = epochs * -(-len(encoded) // cfg.batch_size)
    schedule = get_linear_schedule_with_warmup(optimizer, max(1, steps // 20), steps)
    losses, tokens, began = [], 0, time.perf_counter()
    with progress(total=steps, desc=f"fine-tune ({cfg.method})", unit="step") as bar:
        for _ in range(epochs):
            for batch in make_batches(encoded, cfg.batch_size, rng):
                input_ids, mask, positions, labels, keep = collate([encoded[i] for i in batch], tokenizer.pad_token_id, device)
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
                    loss = answer_loss(model, input_ids, mask, positions, labels, keep)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step(), schedule.step(), optimizer.zero_grad(set_to_none=True)
                losses.append(loss.item())
                tokens += int(mask.sum())
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.3f}", tok_s=f"{tokens / (time.perf_counter() - began):.0f}", refresh=False)
    seconds = time.perf_counter() - began
    model.save_pretrained(out)
    n_params = sum(p.numel() for p in model.parameters())
    window = max(1, len(losses) // 10)
    return TrainStats(method=cfg.method, sequences=len(encoded) * epochs, steps=steps, tokens=tokens, seconds=seconds,
                      flops=(4 if cfg.method == "lora" else 6) * n_params * tokens, trainable_params=sum(p.numel() for p in params),
                      first_loss=sum(losses[:window]) / window, last_loss=sum(losses[-window:]) / window,
                      peak_rss_mb=peak_memory_mb(device), device=device)


def train_cached(model_path: str, tokenizer, pairs: list[TrainPair], cfg: FinetuneConfig, epochs: int,
                 seed: int, device: str) -> tuple[Path, TrainStats]:
    """Reuse an adapter trained on the same model, data, settings and seed; keep its measured cost."""
    key = stage_key("adapter", model_path, [asdict(p) for p in pairs], cfg.model_dump(), epochs, seed)

    def build(tmp: Path) -> None:
        stats = train(model_path, tokenizer, pairs, cfg, epochs, seed, device, tmp)
        atomic_write_json(tmp / "train_stats.json", stats.model_dump())

    folder, cached = cached_dir("adapter", key, build)
    stats = TrainStats.model_validate({**read_json(folder / "train_stats.json"), "cached": cached})
    return folder, stats
