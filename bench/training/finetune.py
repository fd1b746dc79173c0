"""Fine-tuning: LoRA (peft) or full, on (prompt, target) pairs with the loss on the target only.

Sequences are left-padded so every target sits at the right edge; the LM head then runs only over the
last positions (`logits_to_keep`), which on CPU nearly doubles training speed for short answers. The prompt prefix
every row of a batch part shares (the chat template's system turn, the instruction's start) runs once per part.
"""
from __future__ import annotations

import logging
import random
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from accelerate.utils import broadcast
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import get_linear_schedule_with_warmup

from bench.models.device import cpu_share, peak_memory_mb
from bench.models.flops import model_flops, part_flops
from bench.models.loading import answer_token_ids, load_model, peft_quietly, uses_chat_template
from bench.models.packing import pack_frozen
from bench.models.progress import progress as progress_bar
from bench.records.cache import cache_root, cached_dir, stage_key
from bench.records.config import FinetuneConfig
from bench.records.io import atomic_write_json, read_json
from bench.records.manifest import ModelFlops, TrainStats
from bench.training import checkpoint
from bench.training.compute import (autocast, frozen_dtype, fused_adamw, kv_heads_shared, packs_frozen, rounding, set_recompute,
                                    training_precision)
from bench.training.distributed import launch
from bench.training.parts import scored_position_weight, split_by_tokens
from bench.training.prefix import part_prefix, prefix_inputs, runs_prefix_once, train_prefix_once
from bench.training.sharding import gradient_sync_off, shard, whole_state

log = logging.getLogger(__name__)
# settings that do not change the trained weights, so not part of an adapter's cache key: `processes` takes the same
# gradients' sums in another order; the epoch and sample settings reach the weights only through the plan, which the
# key holds, so raising `raft_epochs` (as a fit warning may ask) retrains ft_rag alone, not ft and ft_plain as well
NOT_TRAINING = {"checkpoint_minutes", "fit_items", "processes", "sharding", "epochs", "corpus_epochs", "raft_epochs",
                "max_examples", "raft_gold_fraction", "validation_fraction", "validation_max"}


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
    labels = torch.full((len(encoded), keep), -100, dtype=torch.long)  # -100 at the last: the loss copies no logits slice
    for row, (ids, n_target) in enumerate(encoded):
        input_ids[row, width - len(ids):] = torch.tensor(ids)
        mask[row, width - len(ids):] = 1
        labels[row, keep - 1 - n_target : keep - 1] = torch.tensor(ids[len(ids) - n_target:])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)  # left padding must not shift positions
    return input_ids.to(device), mask.to(device), positions.to(device), labels.to(device), keep


def answer_loss(model, encoded: list[tuple[list[int], int]], pad_id: int, device: str,
                reduction: str = "mean", share_prefix: bool = True, recompute_over: int | None = None) -> torch.Tensor:
    """Cross-entropy over the rows' target tokens (mean or sum), the LM head on each row's last `keep` positions only.
    A long prefix that every row shares runs once, in the same pass (training.prefix), where the model trains with
    `prefix_attention`; the rows are then one sequence, and the head runs on the labelled positions alone (synth_qa's
    closed-book parts: 35% fewer positions, 8.7 against 12.7 ms for the head and loss of a step, the same gradients to
    the bit). Rows longer than `recompute_over` tokens recompute activations in the backward pass."""
    set_recompute(model, recompute_over is not None and max(len(ids) for ids, _ in encoded) > recompute_over)
    prefix = part_prefix(encoded) if share_prefix and runs_prefix_once(model) else 0
    input_ids, mask, positions, labels, keep = collate([(ids[prefix:], n) for ids, n in encoded], pad_id, device)
    if prefix:
        scored = labels != -100
        inputs = prefix_inputs(encoded[0][0][:prefix], input_ids, mask, positions, scored)
        labels = labels[scored]
    else:
        inputs = dict(input_ids=input_ids, attention_mask=mask, position_ids=positions, logits_to_keep=keep)
    logits = model(**inputs, use_cache=False).logits
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100,
                           reduction=reduction)


def prepare_model(model_path: str, cfg: FinetuneConfig, device: str, init: Path | None = None):
    """The model to train: fresh LoRA weights over the base model, or the base model itself (full fine-tuning); with
    `init`, an adapter or fully fine-tuned model trained before, to train further (the knowledge-update experiment)."""
    if init is not None and cfg.method == "full":
        return train_prefix_once(load_model(init, torch.float32, fine_tuned=True).to(device).train(), cfg.max_length)
    base = load_model(model_path, frozen_dtype(cfg, device))
    model = train_prefix_once(base, cfg.max_length, bf16_products=packs_frozen(cfg, device))
    if init is not None:
        with peft_quietly():
            return PeftModel.from_pretrained(model, init, is_trainable=True).to(device).train()
    if cfg.method == "lora":
        lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                          target_modules="all-linear", task_type="CAUSAL_LM")
        with peft_quietly():
            model = get_peft_model(model, lora)
    return model.to(device).train()


@dataclass(frozen=True)
class TrainPlan:
    """What each epoch trains on, and the held-out pairs the stopping rule reads (none: train every epoch)."""
    epochs: list[list[TrainPair]]
    validation: list[TrainPair]


def validation_loss(model, encoded: list[tuple[list[int], int]], cfg: FinetuneConfig, pad_id: int, device: str) -> float:
    """Mean answer loss over the held-out pairs, weighted by their target tokens, in training's precision."""
    model.eval()
    total, weight = 0.0, 0
    with torch.no_grad(), autocast(cfg, device):
        for start in range(0, len(encoded), cfg.batch_size):
            part = encoded[start : start + cfg.batch_size]
            n = sum(n_target for _, n_target in part)
            total, weight = total + answer_loss(model, part, pad_id, device).item() * n, weight + n
    model.train()
    return total / max(1, weight)


@dataclass
class Trainer:
    """The model, its optimizer and schedule, and where a killed training resumes from."""
    model: torch.nn.Module
    params: list[torch.Tensor]
    optimizer: torch.optim.Optimizer
    schedule: object
    cfg: FinetuneConfig
    pad_id: int
    device: str
    checkpoints: Path
    progress: checkpoint.Progress
    rates: ModelFlops  # its model FLOPs per token, target and attention pair (models.flops)
    scored_weight: float  # what a scored position weighs in a part's cost (parts.scored_position_weight)
    best: list[torch.Tensor] | None = None
    started: float = 0.0  # perf_counter when this process began training
    cpu_started: float = 0.0  # process_time then
    saved: float = 0.0  # perf_counter of the last checkpoint
    accelerator: object | None = None  # several processes (accelerate, DDP): bench/training/distributed.py

    @property
    def main(self) -> bool:
        """Whether this process writes (checkpoints, the adapter): the only one, or rank 0 of several."""
        return self.accelerator is None or self.accelerator.is_main_process

    @property
    def sharded(self) -> bool:
        """Whether each process holds a shard of the weights (FSDP): gathering them takes every process."""
        return self.accelerator is not None and self.cfg.sharding == "fsdp"

    def checkpoint_due(self) -> bool:
        """Whether the last checkpoint is `checkpoint_minutes` old, by rank 0's clock, so that all processes agree."""
        due = time.perf_counter() - self.saved > 60 * self.cfg.checkpoint_minutes
        if self.accelerator is None:
            return due
        return bool(broadcast(torch.tensor([int(due)], device=self.device)).item())  # gloo sends no bools

    def without_exchange(self):
        """Accumulate this part's gradients in each process: DDP's no_sync, or FSDP's gradient reduction switched off."""
        return gradient_sync_off(self.model) if self.sharded else self.accelerator.no_sync(self.model)

    def elapsed(self) -> float:
        return self.progress.seconds + time.perf_counter() - self.started

    def cpu_elapsed(self) -> float | None:
        before = self.progress.cpu_seconds
        return None if before is None else before + time.process_time() - self.cpu_started

    def checkpoint(self) -> None:
        self.progress.scheduler = self.schedule.state_dict()
        self.progress.seconds, self.started = self.elapsed(), time.perf_counter()
        self.progress.cpu_seconds, self.cpu_started = self.cpu_elapsed(), time.process_time()
        if self.main or self.sharded:
            checkpoint.save(self.checkpoints, self.progress, self.params, self.best, self.optimizer, write=self.main)
        self.saved = time.perf_counter()

    def parts(self, batch: list[tuple[list[int], int]]) -> list[tuple[list[tuple[list[int], int]], float]]:
        """This process's parts of the batch, each with its weight in the update. With several processes each takes
        every n-th row, weighted n (DDP averages), and all run as many parts: DDP syncs buffers and FSDP gathers the
        weights at every forward, so one with fewer parts (or no rows) repeats a row at weight 0. Those parts run
        whole: sharing a prompt prefix (training.prefix) is not tested with several processes."""
        budget, weight = self.cfg.batch_tokens, self.scored_weight
        if self.accelerator is None:
            return [(part, 1.0) for part in split_by_tokens(batch, budget, runs_prefix_once(self.model), weight)]
        n = self.accelerator.num_processes
        splits = [split_by_tokens(batch[rank::n], budget, False, weight) if batch[rank::n] else [] for rank in range(n)]
        parts = [(part, float(n)) for part in splits[self.accelerator.process_index]]
        return parts + [(batch[:1], 0.0)] * (max(map(len, splits)) - len(parts))

    def step(self, batch: list[tuple[list[int], int]]) -> None:
        """One update on the batch's mean target loss, its gradient summed over parts of at most `batch_tokens`
        (with several processes, DDP adds their gradients up to the whole batch's)."""
        # whether each part runs its rows' shared prompt prefix once, as answer_loss and the FLOPs count both read
        targets, share = sum(n for _, n in batch), self.accelerator is None and runs_prefix_once(self.model)
        parts, loss, tokens, flops = self.parts(batch), 0.0, 0, 0.0
        for number, (part, weight) in enumerate(parts):
            exchange = self.accelerator is None or number == len(parts) - 1  # DDP exchanges gradients once a step
            with nullcontext() if exchange else self.without_exchange():
                with autocast(self.cfg, self.device):
                    part_loss = answer_loss(self.model, part, self.pad_id, self.device, "sum", share, self.cfg.recompute_over) / targets
                (part_loss * weight).backward()
            loss, tokens = loss + part_loss.item() * bool(weight), tokens + sum(len(ids) for ids, _ in part) * bool(weight)
            flops += part_flops(part, self.rates, part_prefix(part, share)) * bool(weight)
        if self.accelerator is not None:
            loss, tokens, flops = self.accelerator.reduce(torch.tensor([loss, tokens, flops], dtype=torch.float64, device=self.device),
                                                          "sum").tolist()
        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.optimizer.step(), self.schedule.step(), self.optimizer.zero_grad(set_to_none=True)
        self.progress.losses.append(loss)
        self.progress.tokens += int(tokens)
        self.progress.flops += flops


def run_epoch(trainer: Trainer, encoded: list[tuple[list[int], int]], seed: int, bar) -> None:
    """The rest of the epoch in progress: length-bucketed batches in an order seeded by (seed, epoch), so a resumed
    epoch goes on with the same batches; a checkpoint every `finetune.checkpoint_minutes`."""
    batches = make_batches(encoded, trainer.cfg.batch_size, random.Random(f"{seed}/{trainer.progress.epoch}"))
    for batch in batches[trainer.progress.batch:]:
        trainer.step([encoded[i] for i in batch])
        trainer.progress.batch += 1
        bar.update(1)
        bar.set_postfix(loss=f"{trainer.progress.losses[-1]:.3f}", refresh=False)
        if trainer.checkpoint_due():
            trainer.checkpoint()


def end_epoch(trainer: Trainer, held_out: list[tuple[list[int], int]]) -> None:
    """Measure the held-out loss and keep the best epoch's weights."""
    progress, number = trainer.progress, trainer.progress.epoch + 1
    progress.epoch, progress.batch = number, 0
    if not held_out:
        return
    progress.validation_losses.append(validation_loss(trainer.model, held_out, trainer.cfg, trainer.pad_id, trainer.device))
    if progress.validation_losses[-1] < progress.best_loss - 1e-4:
        progress.best_epoch, progress.best_loss = number, progress.validation_losses[-1]
        trainer.best = [p.detach().clone() for p in trainer.params]


def stopped(trainer: Trainer) -> bool:
    """The held-out loss has not improved for `patience` epochs (read from the progress, so a resume agrees)."""
    progress, cfg = trainer.progress, trainer.cfg
    return cfg.early_stopping and bool(progress.validation_losses) and progress.epoch - progress.best_epoch >= cfg.patience


def start(model_path: str, pad_id: int, steps: int, cfg: FinetuneConfig, device: str, checkpoints: Path,
          init: Path | None = None, accelerator=None) -> Trainer:
    """A new trainer, or the one a killed training left in its last checkpoint."""
    model = prepare_model(model_path, cfg, device, init)
    # both before packing takes the frozen weights out of its parameters and its linear layers
    rates, scored_weight = model_flops(model), scored_position_weight(model, training_precision(cfg, device))
    if packs_frozen(cfg, device):
        pack_frozen(model)
    if accelerator is not None:  # DistributedDataParallel over the same parameters, or FSDP's shards in their place
        model = shard(model) if cfg.sharding == "fsdp" else accelerator.prepare_model(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr(), weight_decay=0.0, fused=fused_adamw(cfg, device))
    schedule = get_linear_schedule_with_warmup(optimizer, max(1, steps // 20), steps)
    trainer = Trainer(model, params, optimizer, schedule, cfg, pad_id, device, checkpoints,
                      checkpoint.Progress(cpu_seconds=0.0), rates, scored_weight, accelerator=accelerator)
    restored = checkpoint.load(checkpoints, params, optimizer)
    if restored:
        trainer.progress, trainer.best = restored
        schedule.load_state_dict(trainer.progress.scheduler)
        for group, lr in zip(optimizer.param_groups, schedule.get_last_lr()):  # the schedule sets the rate only as it steps
            group["lr"] = lr
        log.info("fine-tuning resumes at epoch %d, batch %d (checkpoint)", trainer.progress.epoch + 1, trainer.progress.batch)
    trainer.started, trainer.cpu_started = time.perf_counter(), time.process_time()
    trainer.saved = trainer.started
    return trainer


def train(model_path: str, tokenizer, plan: TrainPlan, cfg: FinetuneConfig, seed: int, device: str, out: Path,
          checkpoints: Path, init: Path | None = None) -> TrainStats:
    """Encode the plan, then train here, or in `finetune.processes` processes launched through accelerate."""
    epochs = [[encode_pair(tokenizer, p, cfg.max_length) for p in pairs] for pairs in plan.epochs]
    held_out = [encode_pair(tokenizer, p, cfg.max_length) for p in plan.validation]
    if cfg.processes > 1:
        return launch(model_path, epochs, held_out, tokenizer.pad_token_id, cfg, seed, device, out, checkpoints, init)
    return train_encoded(model_path, epochs, held_out, tokenizer.pad_token_id, cfg, seed, device, out, checkpoints, init)


def train_encoded(model_path: str, epochs: list, held_out: list, pad_id: int, cfg: FinetuneConfig, seed: int, device: str,
                  out: Path, checkpoints: Path, init: Path | None = None, accelerator=None) -> TrainStats:
    """Train epoch by epoch (resuming from the last checkpoint), measuring the held-out loss after each; stop when it
    has not improved for `patience` epochs and keep the best epoch's weights; save the adapter (rank 0 alone)."""
    torch.manual_seed(seed)
    steps = sum(-(-len(e) // cfg.batch_size) for e in epochs)
    trainer = start(model_path, pad_id, steps, cfg, device, checkpoints, init, accelerator)
    progress = trainer.progress
    with progress_bar(total=steps, initial=len(progress.losses), desc=f"fine-tune ({cfg.method})", unit="step",
                      disable=not trainer.main) as bar, kv_heads_shared(device):
        while progress.epoch < len(epochs) and not stopped(trainer):
            run_epoch(trainer, epochs[progress.epoch], seed, bar)
            end_epoch(trainer, held_out)
            trainer.checkpoint()
    if trainer.best is not None and cfg.early_stopping:
        with torch.no_grad():
            for param, kept in zip(trainer.params, trainer.best):
                param.copy_(kept)
    state = {"state_dict": whole_state(trainer.model)} if trainer.sharded else {}  # gathered by every process
    if trainer.main:
        (accelerator.unwrap_model(trainer.model) if accelerator else trainer.model).save_pretrained(out, **state)
    return train_stats(trainer, epochs, held_out)


def train_stats(trainer: Trainer, epochs: list, held_out: list) -> TrainStats:
    cfg, progress, losses = trainer.cfg, trainer.progress, trainer.progress.losses
    window = max(1, len(losses) // 10)
    best = progress.best_epoch if progress.best_epoch and cfg.early_stopping else progress.epoch
    seconds = trainer.elapsed()
    return TrainStats(method=cfg.method, sequences=sum(len(e) for e in epochs[: progress.epoch]), steps=len(losses),
                      tokens=progress.tokens, seconds=seconds, flops=progress.flops,
                      cpu_share=cpu_share(trainer.cpu_elapsed(), seconds, trainer.device),
                      trainable_params=sum(p.numel() for p in trainer.params), first_loss=sum(losses[:window]) / window,
                      last_loss=sum(losses[-window:]) / window, peak_rss_mb=peak_memory_mb(trainer.device), device=trainer.device,
                      precision=training_precision(cfg, trainer.device),
                      epochs_planned=len(epochs), epochs_run=progress.epoch, best_epoch=best, validation_pairs=len(held_out),
                      losses=thin(losses), validation_losses=progress.validation_losses)


def thin(values: list[float], points: int = 200) -> list[float]:
    """At most `points` values for the loss curve: means of consecutive steps."""
    size = max(1, -(-len(values) // points))
    return [sum(values[i : i + size]) / len(values[i : i + size]) for i in range(0, len(values), size)]


def adapter_key(model_path: str, plan: TrainPlan, cfg: FinetuneConfig, seed: int, init: Path | None = None,
                rounding_choices: tuple[str, ...] = ()) -> str:
    """What decides the trained weights. The rate training runs at goes in as well as the setting: with
    `learning_rate` unset, a changed default would otherwise reuse adapters trained at the old rate. `rounding_choices`:
    what else makes this training round otherwise (compute.rounding)."""
    return stage_key("adapter", model_path, [[asdict(p) for p in e] for e in plan.epochs], [asdict(p) for p in plan.validation],
                     cfg.model_dump(exclude=NOT_TRAINING), cfg.lr(), seed, *([str(init)] if init else []), *rounding_choices)


def train_cached(model_path: str, tokenizer, plan: TrainPlan, cfg: FinetuneConfig, seed: int, device: str,
                 init: Path | None = None) -> tuple[Path, TrainStats]:
    """Reuse an adapter trained on the same model, data, settings and seed (and starting point); keep its measured cost.
    `finetune.precision` is resolved here, once: the key holds the precision trained in, and so do all processes."""
    cfg = cfg.model_copy(update={"precision": training_precision(cfg, device)})
    key = adapter_key(model_path, plan, cfg, seed, init, rounding(cfg, device))
    checkpoints = cache_root() / "adapter" / f".partial-{key}"

    def build(tmp: Path) -> None:
        stats = train(model_path, tokenizer, plan, cfg, seed, device, tmp, checkpoints, init)
        atomic_write_json(tmp / "train_stats.json", stats.model_dump())

    folder, cached = cached_dir("adapter", key, build)
    checkpoint.clear(checkpoints)  # the adapter is in place: its checkpoints are spent
    stats = TrainStats.model_validate({**read_json(folder / "train_stats.json"), "cached": cached})
    return folder, stats
