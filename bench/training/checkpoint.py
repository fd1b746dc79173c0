"""Resumable fine-tuning: everything a killed training needs to go on exactly where it stopped.

A checkpoint is two files written atomically side by side in `<cache>/adapter/.partial-<key>/`:
`state-<epoch>-<batch>.safetensors` (the trainable weights, the best epoch's weights, the optimizer's moments,
torch's random state) and `progress.json` (epoch and batch reached, losses so far, scheduler state, elapsed
seconds, and the name of its state file). The state is written first under a new name and the previous one removed
only once the progress points at the new one, so a kill between the two writes leaves the last whole checkpoint,
never new weights read with old progress. Safetensors, never a pickle: a checkpoint is data, not code. Batches are
drawn from a generator seeded by (seed, epoch), so the order of the epoch in progress is drawn again, identical, on
resume.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from bench.records.io import atomic_write_json, read_json
from bench.training.sharding import shard_like, whole_on_cpu


@dataclass
class Progress:
    epoch: int = 0  # the epoch in progress (0-based)
    batch: int = 0  # the next batch of it
    tokens: int = 0
    flops: float = 0.0  # model FLOPs so far (models.flops); a checkpoint of older code resumes it from 0
    seconds: float = 0.0  # training time spent before this process started
    cpu_seconds: float | None = None  # CPU time of its threads, likewise; None: an older checkpoint kept none
    losses: list[float] = field(default_factory=list)
    validation_losses: list[float] = field(default_factory=list)
    best_epoch: int = 0  # 1-based; 0: none yet
    best_loss: float = float("inf")
    scheduler: dict = field(default_factory=dict)
    state: str = ""  # the state file these counts belong to


def save(folder: Path, progress: Progress, params: list[torch.Tensor], best: list[torch.Tensor] | None, optimizer,
         write: bool = True) -> None:
    """Write the checkpoint: the weights under a new name, then the progress that points at them, then drop the old.
    Sharded weights (FSDP) are gathered whole first, by every process; only the one with `write` writes."""
    tensors = {f"param.{i}": whole_on_cpu(p) for i, p in enumerate(params)}
    tensors |= {f"best.{i}": whole_on_cpu(p) for i, p in enumerate(best or [])}
    for i, p in enumerate(params):
        for name, value in optimizer.state.get(p, {}).items():
            tensors[f"optimizer.{i}.{name}"] = whole_on_cpu(value)
    if not write:
        return
    folder.mkdir(parents=True, exist_ok=True)
    tensors["rng.torch"] = torch.get_rng_state()
    previous, progress.state = progress.state, f"state-{progress.epoch}-{progress.batch}.safetensors"
    tmp = folder / f".{progress.state}.tmp"
    save_file(tensors, str(tmp))
    os.replace(tmp, folder / progress.state)
    atomic_write_json(folder / "progress.json", asdict(progress))
    if previous and previous != progress.state:
        (folder / previous).unlink(missing_ok=True)


def load(folder: Path, params: list[torch.Tensor], optimizer) -> tuple[Progress, list[torch.Tensor] | None] | None:
    """Restore a checkpoint into the weights and optimizer; (progress, best weights), or None when there is none."""
    if not (folder / "progress.json").exists():
        return None
    progress = Progress(**read_json(folder / "progress.json"))
    if not progress.state or not (folder / progress.state).exists():
        return None  # a checkpoint of an older layout, or one torn by hand: train from the start
    tensors = load_file(str(folder / progress.state))
    with torch.no_grad():
        for i, p in enumerate(params):
            p.copy_(shard_like(tensors[f"param.{i}"], p))
    for i, p in enumerate(params):
        state = {name.split(".", 2)[2]: shard_like(value, p) for name, value in tensors.items() if name.startswith(f"optimizer.{i}.")}
        if state:
            optimizer.state[p] = state
    torch.set_rng_state(tensors["rng.torch"])
    best = [shard_like(tensors[f"best.{i}"], p) for i, p in enumerate(params)] if "best.0" in tensors else None
    return progress, best


def clear(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
