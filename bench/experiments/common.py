"""What every experiment does first and last: reopen a finished run, and score and report it again; and which of its
arms an experiment trains again."""
from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

from bench.data.tasks import load_task
from bench.eval.context import read_manifest
from bench.eval.scoring import score_run
from bench.records.errors import UserError
from bench.records.io import atomic_write_text
from bench.records.layout import RunFolder, find_run
from bench.records.manifest import ExperimentManifest
from bench.report import write_report
from bench.run.context import RunContext
from bench.run.pipeline import prepare

log = logging.getLogger(__name__)


def reopen(target: str) -> tuple[RunFolder, RunContext]:
    """A finished run (a folder, or a task's latest run) with its model, index and adapters, all from the cache."""
    folder = find_run(target, marker="scores.json")
    manifest = read_manifest(folder)
    task = load_task(manifest.task_folder)
    if task.data_hash != manifest.data_hash:
        raise UserError(f"task '{manifest.task}' ({manifest.task_folder}) has changed since {folder.path} was run. "
                        f"Run `ftrag run {manifest.task}` with the same settings first, then the experiment.")
    return folder, prepare(manifest.config, task, folder)


def with_method(ctx: RunContext, method: str) -> RunContext:
    """The same run context, fine-tuning with another method (lora or full) at that method's default rate."""
    tuning = ctx.cfg.finetune.model_copy(update={"method": method, "learning_rate": None})
    return replace(ctx, cfg=ctx.cfg.model_copy(update={"finetune": tuning}), adapters={})


def finish(folder: RunFolder, ctx: RunContext, name: str, manifest: ExperimentManifest, began: float) -> Path:
    """Write the experiment's manifest (with the run state it was made from), then score the whole run again and
    rewrite its report."""
    manifest = manifest.model_copy(update={"seconds": round(time.perf_counter() - began, 1), "data_hash": ctx.task.data_hash,
                                           "run_adapters": sorted(a.path for a in ctx.adapters.values())})
    atomic_write_text(folder.experiment(name) / "run.json", manifest.model_dump_json(indent=2) + "\n")
    log.info("stage: score")
    scores = score_run(folder)
    log.info("stage: report")
    return write_report(folder.path, scores)


def labeled_closed_book_arm(run_arms: list[str]) -> str | None:
    """The closed-book arm trained on labeled examples: ft_plain where the run has it (ft adds the corpus paraphrases,
    documents rather than labels), else ft, else none. The learning curve draws it; forgetting trains it both ways."""
    return next((arm for arm in ("ft_plain", "ft") if arm in run_arms), None)
