"""Where things live: the results folder and the files of one run folder, named in one place."""
from __future__ import annotations

import os
from pathlib import Path

from bench.records.arms import Arm
from bench.records.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[2]


def results_dir() -> Path:
    return Path(os.environ.get("FTRAG_RESULTS_DIR", REPO_ROOT / "results"))


class RunFolder:
    """`results/<task>/<run_id>/`: settings, manifest, predictions, scores and the report of one run."""

    def __init__(self, path: Path):
        self.path = Path(path)

    config = property(lambda self: self.path / "config.yaml")  # the resolved settings, for people
    manifest = property(lambda self: self.path / "run.json")  # what the run built (index, adapters, costs)
    scores = property(lambda self: self.path / "scores.json")
    judge = property(lambda self: self.path / "predictions" / "judge.json")
    report = property(lambda self: self.path / "report.md")
    finished = property(lambda self: self.path / "finished.json")  # the inputs of the finished run: bench/run/launch.py

    def predictions(self, arm: Arm, seed: int, seeds: list[int]) -> Path:
        """`<arm>.jsonl` for the first fine-tuning seed (and for base-model arms); `<arm>@seed<n>.jsonl` for the others."""
        suffix = "" if not arm.fine_tuned or seed == seeds[0] else f"@seed{seed}"
        return self.path / "predictions" / f"{arm.name}{suffix}.jsonl"

    def fit_predictions(self, arm: str) -> Path:
        """A fine-tuned arm's answers to its own training questions (its first seed): has it learned them?"""
        return self.path / "predictions" / "fit" / f"{arm}.jsonl"

    def item_scores(self, arm: str) -> Path:
        return self.path / "item_scores" / f"{arm}.jsonl"

    def experiment(self, name: str) -> Path:
        """`experiments/<name>/`: an experiment's manifest (`run.json`) and predictions, beside the run's own."""
        return self.path / "experiments" / name

    def experiment_predictions(self, name: str, variant: str, part: str) -> Path:
        """What one variant of an experiment answered for one part of it (a probe, the changed facts...)."""
        safe = variant.replace(" ", "_").replace("(", "").replace(")", "")
        return self.experiment(name) / "predictions" / part / f"{safe}.jsonl"


def find_run(target: str, marker: str = "run.json") -> RunFolder:
    """A run folder, or a task name for its latest run (the one whose `marker` file is newest)."""
    path = Path(target)
    if (path / marker).exists():
        return RunFolder(path)
    runs = sorted((results_dir() / target).glob(f"*/{marker}"), key=lambda p: p.stat().st_mtime)
    if not runs:
        raise UserError(f"no finished run for '{target}' (looked for {marker} under {results_dir() / target}). "
                        f"Run `ftrag run {target}` first, or give a run folder.")
    return RunFolder(runs[-1].parent)
