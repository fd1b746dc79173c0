"""Model size: one task run with each of several generators (presets, HF ids or local paths), then one report across
them with the headline, hallucination and cost of every arm against model size (bench/report/sizes.py).

Each run is an ordinary `ftrag run` (cached and resumable as ever), so a sweep killed half way continues where it
stopped, and a model already run is not run again.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from bench.experiments.cluster import run_on_ray
from bench.records.errors import UserError
from bench.records.layout import results_dir
from bench.report import write_comparison
from bench.run.launch import run

log = logging.getLogger(__name__)


def sweep_dir(task: str, models: list[str], overrides: list[str]) -> Path:
    key = hashlib.sha256("\n".join([task, *models, *overrides]).encode()).hexdigest()[:10]
    return results_dir() / f"sweep-{Path(task).name}-{key}"


def run_sweep(task: str, models: list[str], overrides: list[str] = (), backend: str = "local", address: str | None = None,
              cpus: float = 1, gpus: float = 0) -> Path:
    """Run the task with each model (here one after another, or as parallel Ray tasks), then write the cross-model
    report. Either way each cell is the same `ftrag run`, so the two backends give the same run folders."""
    if len(models) < 2:
        raise UserError("sweep --models: name at least two generators, comma-separated (e.g. smollm2-135m,gemma3-270m).")
    cells = [[*overrides, f"model.generator={model}"] for model in models]
    if backend == "ray":
        run_dirs = run_on_ray(task, cells, address, cpus, gpus)
    else:
        run_dirs = []
        for number, (model, cell) in enumerate(zip(models, cells), 1):
            log.info("sweep: model %d of %d, %s", number, len(models), model)
            run_dirs.append(run(task, cell))
    return write_comparison(run_dirs, sweep_dir(task, models, list(overrides)))
