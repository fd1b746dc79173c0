"""One rank of a fine-tuning launched by bench/training/distributed.py (`accelerate launch --module
bench.training.worker <job>`): reads the job, trains its share of every batch, and rank 0 writes the stats."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
from accelerate import Accelerator

from bench.records.config import FinetuneConfig
from bench.records.io import atomic_write_json, read_json
from bench.training.distributed import die_with_parent
from bench.training.finetune import train_encoded


def main() -> None:
    """One rank of a launched training."""
    die_with_parent()
    job = read_json(Path(sys.argv[1]))
    accelerator, cfg = Accelerator(cpu=job["device"] == "cpu"), FinetuneConfig.model_validate(job["cfg"])
    print(f"fine-tuning process {accelerator.process_index + 1} of {accelerator.num_processes} "
          f"({accelerator.distributed_type}, {cfg.sharding}, {accelerator.device}, {torch.get_num_threads()} threads)", flush=True)
    encoded = lambda rows: [(ids, n) for ids, n in rows]  # noqa: E731 (JSON gives lists; the trainer wants pairs)
    stats = train_encoded(job["model_path"], [encoded(e) for e in job["epochs"]], encoded(job["held_out"]), job["pad_id"],
                          cfg, job["seed"], str(accelerator.device), Path(job["out"]),
                          Path(job["checkpoints"]), Path(job["init"]) if job["init"] else None, accelerator)
    if accelerator.is_main_process:
        atomic_write_json(Path(job["stats"]), stats.model_dump())
    accelerator.wait_for_everyone()
    accelerator.end_training()  # destroys the process group, as torch asks of every process that made one


if __name__ == "__main__":
    main()
    # Leave without the interpreter's teardown: there a C++ thread of torch.distributed can still be joinable and abort
    # the process ("terminate called without an active exception", SIGABRT) after its work is written, which fails
    # the whole launch. It did so in two of some twenty test-suite runs here, once with the process group destroyed
    # before exit (pytorch/pytorch#190489; an atexit remedy, #179291, was abandoned upstream). An exception in main()
    # still exits through the interpreter, with its traceback and a failing status.
    sys.stdout.flush(), sys.stderr.flush()
    os._exit(0)
