"""Reports from stored results: report.md, a self-contained report.html, plots/*.png and scores.csv.

`write_report` renders one run (every run ends with it, after the score stage); `write_comparison` renders several
runs side by side (`ftrag compare`). Both read only scores.json and item_scores/*.jsonl: nothing is recomputed.
No torch: a report never needs a model.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from bench.records.io import atomic_write_text
from bench.records.scores import ScoresFile
from bench.report.document import document
from bench.report.export import to_csv
from bench.report.render import to_html, to_markdown
from bench.report.runs import Run, load_run


def write_outputs(folder: Path, runs: list[Run]) -> Path:
    blocks = document(runs, folder)  # draws the plots into folder/plots first
    atomic_write_text(folder / "report.html", to_html(blocks, folder))
    atomic_write_text(folder / "scores.csv", to_csv(runs))
    path = folder / "report.md"
    atomic_write_text(path, to_markdown(blocks))
    return path


def write_report(run_dir: Path, scores: ScoresFile) -> Path:
    """report.md, report.html, plots/ and scores.csv of one run, from its scores."""
    return write_outputs(run_dir, [Run(run_dir, scores)])


def comparison_dir(run_dirs: list[Path], results: Path) -> Path:
    key = hashlib.sha256("\n".join(str(p.resolve()) for p in run_dirs).encode()).hexdigest()[:10]
    return results / f"compare-{key}"


def write_comparison(run_dirs: list[Path], out_dir: Path) -> Path:
    """One report across runs (same task on several models, or several tasks); rows are `<task>/<run_id>:<arm>`."""
    return write_outputs(out_dir, [load_run(path) for path in run_dirs])
