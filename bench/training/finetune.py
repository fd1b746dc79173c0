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
from bench.models.loading import answer_token_ids, uses_chat_template
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
    if pair.prompt:  # the target follows the prompt as a scored answer would (answer_token_ids)
        prompt_ids = tokenizer.encode(pair.prompt, add_special_tokens=not uses_chat_template(tokenizer))
        target_ids = answer_token_ids(tokenizer, pair.target) + [tokenizer.eos_token_id]
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


@dataclass(frozen=True)
class TrainPlan:
    """What each epoch trains on, and the held-out pairs the stopping rule reads (none: train every epoch)."""
    epochs: list[list[TrainPair]]
    validation: list[TrainPair]


def validation_loss(model, encoded: list[tuple[list[int], int]], cfg: FinetuneConfig, pad_id: int, device: str) -> float:
    """Mean answer loss over the held-out pairs, weighted by their target tokens."""
    model.eval()
    total, weight = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(encoded), cfg.batch_size):
            part = encoded[start : start + cfg.batch_size]
            input_ids, mask, positions, labels, keep = collate(part, pad_id, device)
            n = int((labels != -100).sum())
            total, weight = total + answer_loss(model, input_ids, mask, positions, labels, keep).item() * n, weight + n
    model.train()
    return total / max(1, weight)


def run_epoch(model, optimizer, schedule, params, encoded, cfg: FinetuneConfig, pad_id: int, device: str,
              rng: random.Random, bar, losses: list[float]) -> int:
    """One pass over length-bucketed batches in random order; returns the tokens seen."""
    tokens = 0
    for batch in make_batches(encoded, cfg.batch_size, rng):
        input_ids, mask, positions, labels, keep = collate([encoded[i] for i in batch], pad_id, device)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
            loss = answer_loss(model, input_ids, mask, positions, labels, keep)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step(), schedule.step(), optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        tokens += int(mask.sum())
        bar.update(1)
        bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
    return tokens


def train(model_path: str, tokenizer, plan: TrainPlan, cfg: FinetuneConfig, seed: int, device: str, out: Path) -> TrainStats:
    """1. encode  2. train epoch by epoch, measuring the held-out loss after each; stop when it has not improved for
    `patience` epochs and keep the best epoch's weights  3. save the adapter (or whole model)."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    epochs = [[encode_pair(tokenizer, p, cfg.max_length) for p in pairs] for pairs in plan.epochs]
    held_out = [encode_pair(tokenizer, p, cfg.max_length) for p in plan.validation]
    model = prepare_model(model_path, cfg, device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr(), weight_decay=0.0)
    steps = sum(-(-len(e) // cfg.batch_size) for e in epochs)
    schedule = get_linear_schedule_with_warmup(optimizer, max(1, steps // 20), steps)
    losses, val_losses, tokens, best, began = [], [], 0, None, time.perf_counter()
    with progress(total=steps, desc=f"fine-tune ({cfg.method})", unit="step") as bar:
        for number, encoded in enumerate(epochs, 1):
            tokens += run_epoch(model, optimizer, schedule, params, encoded, cfg, tokenizer.pad_token_id, device, rng, bar, losses)
            if not held_out:
                continue
            val_losses.append(validation_loss(model, held_out, cfg, tokenizer.pad_token_id, device))
            if best is None or val_losses[-1] < best[1] - 1e-4:
                best = (number, val_losses[-1], [p.detach().clone() for p in params])
            elif cfg.early_stopping and number - best[0] >= cfg.patience:
                break
    if best is not None and cfg.early_stopping:
        with torch.no_grad():
            for param, kept in zip(params, best[2]):
                param.copy_(kept)
    seconds = time.perf_counter() - began
    model.save_pretrained(out)
    n_params = sum(p.numel() for p in model.parameters())
    window = max(1, len(losses) // 10)
    return TrainStats(method=cfg.method, sequences=sum(len(e) for e in epochs[:number]), steps=len(losses), tokens=tokens,
                      seconds=seconds, flops=(4 if cfg.method == "lora" else 6) * n_params * tokens,
                      trainable_params=sum(p.numel() for p in params), first_loss=sum(losses[:window]) / window,
                      last_loss=sum(losses[-window:]) / window, peak_rss_mb=peak_memory_mb(device), device=device,
                      epochs_planned=len(epochs), epochs_run=number, best_epoch=best[0] if best and cfg.early_stopping else number,
                      validation_pairs=len(held_out), losses=thin(losses), validation_losses=val_losses)


def thin(values: list[float], points: int = 200) -> list[float]:
    """At most `points` values for the loss curve: means of consecutive steps."""
    size = max(1, -(-len(values) // points))
    return [sum(values[i : i + size]) / len(values[i : i + size]) for i in range(0, len(values), size)]


def train_cached(model_path: str, tokenizer, plan: TrainPlan, cfg: FinetuneConfig, seed: int, device: str) -> tuple[Path, TrainStats]:
    """Reuse an adapter trained on the same model, data, settings and seed; keep its measured cost."""
    key = stage_key("adapter", model_path, [[asdict(p) for p in e] for e in plan.epochs], [asdict(p) for p in plan.validation],
                    cfg.model_dump(), seed)

    def build(tmp: Path) -> None:
        stats = train(model_path, tokenizer, plan, cfg, seed, device, tmp)
        atomic_write_json(tmp / "train_stats.json", stats.model_dump())

    folder, cached = cached_dir("adapter", key, build)
    stats = TrainStats.model_validate({**read_json(folder / "train_stats.json"), "cached": cached})
    return folder, stats
