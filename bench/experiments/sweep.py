"""Model size: one task run with each of several generators (presets, HF ids or local paths), then one report across
them with the headline, hallucination and cost of every arm against model size (bench/report/sizes.py).

Each run is an ordinary `ftrag run` (cached and resumable as ever), so a sweep killed half way continues where it
stopped, and a model already run is not run again.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from bench.records.errors import UserError
from bench.records.layout import results_dir
from bench.report import write_comparison
from bench.run.pipeline import run

log = logging.getLogger(__name__)


def sweep_dir(task: str, models: list[str], overrides: list[str]) -> Path:
    key = hashlib.sha256("\n".join([task, *models, *overrides]).encode()).hexdigest()[:10]
    return results_dir() / f"sweep-{Path(task).name}-{key}"


def run_sweep(task: str, models: list[str], overrides: list[str] = ()) -> Path:
    """Run the task with each model in turn, then write the cross-model report."""
    if len(models) < 2:
        raise UserError("sweep --models: name at least two generators, comma-separated (e.g. smollm2-135m,gemma3-270m).")
    run_dirs = []
    for number, model in enumerate(models, 1):
        log.info("sweep: model %d of %d, %s", number, len(models), model)
        run_dirs.append(run(task, [*overrides, f"model.generator={model}"]))
    return write_comparison(run_dirs, sweep_dir(task, models, list(overrides)))
