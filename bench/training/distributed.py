"""Fine-tuning in several processes through accelerate: DDP, one model copy per process (a GPU each, or a share of
the CPU cores with the gloo backend), or with `finetune.sharding=fsdp` a shard of it each (bench/training/sharding.py).

`finetune.processes=N` makes the training stage run `accelerate launch --num_processes N -m
bench.training.worker <job>` instead of training in the run's own process. The job file holds what `train`
would have used: the encoded plan, the settings, the seed, where to write. Every process draws the same batches
(seeded by seed and epoch), takes every N-th row of each, and DDP adds the gradients up, so each step is the
single-process step on the whole batch, its sums taken in another order. Rank 0 alone writes checkpoints and the
adapter (under FSDP every rank first helps gather them whole); a killed training resumes from the last checkpoint
as a single-process one does (every rank reads it).
"""
from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from bench.records.config import FinetuneConfig
from bench.records.errors import UserError
from bench.records.io import atomic_write_json, read_json
from bench.records.manifest import TrainStats


def free_port() -> int:
    """A port for the processes' rendezvous, so two trainings at once do not meet on accelerate's default."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def die_with_parent() -> None:
    """Linux: this process gets SIGKILL when its parent dies, so killing ftrag never leaves a training running on."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def rank_environment(device: str, processes: int) -> dict[str, str]:
    """CPU ranks share the cores, each with its share of threads; a GPU rank keeps the environment (one GPU each)."""
    if device != "cpu":
        return dict(os.environ)
    return {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // processes))}


def launch(model_path: str, epochs: list, held_out: list, pad_id: int, cfg: FinetuneConfig, seed: int, device: str,
           out: Path, checkpoints: Path, init: Path | None) -> TrainStats:
    checkpoints.mkdir(parents=True, exist_ok=True)
    job, stats, log = checkpoints / "job.json", checkpoints / "stats.json", checkpoints / "distributed.log"
    atomic_write_json(job, {"model_path": model_path, "epochs": epochs, "held_out": held_out, "pad_id": pad_id,
                            "cfg": cfg.model_dump(), "seed": seed, "device": device, "out": str(out),
                            "checkpoints": str(checkpoints), "init": str(init) if init else None, "stats": str(stats)})
    # --multi_gpu is accelerate's torchrun launcher, one process each; on CPU the ranks' Accelerator(cpu=True) then
    # meets over gloo (accelerate's --cpu would start a single process, or need MPI)
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(cfg.processes),
               "--main_process_port", str(free_port()), "--mixed_precision", "no", "--dynamo_backend", "no",
               "--module", "bench.training.worker", str(job)]
    environment = rank_environment(device, cfg.processes)
    with open(log, "w") as output:
        done = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, env=environment, preexec_fn=die_with_parent)
    if done.returncode != 0 or not stats.exists():
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-5:])
        raise UserError(f"fine-tuning in {cfg.processes} processes (finetune.processes) failed, exit {done.returncode}. "
                        f"Its log: {log}\n{tail}\nSet finetune.processes=1 to train in one process.")
    return TrainStats.model_validate(read_json(stats))
