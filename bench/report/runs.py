"""Stored runs as the report reads them: the typed scores.json, per-item scores, and the rows of every table."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.eval.migrate import upgrade_scores
from bench.eval.scoring import definitions as current_definitions
from bench.records.io import read_json, read_jsonl
from bench.records.layout import RunFolder
from bench.records.scores import ArmScores, Definition, ScoredItem, ScoresFile


@dataclass
class Run:
    path: Path
    scores: ScoresFile
    _items: dict[str, list[ScoredItem]] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return f"{self.scores.task.name}/{self.path.name}"

    def items(self, arm: str) -> list[ScoredItem]:
        """The arm's scored items; none when the run folder kept only scores.json."""
        if arm not in self._items:
            path = RunFolder(self.path).item_scores(arm)
            self._items[arm] = [ScoredItem.model_validate(row) for row in read_jsonl(path)] if path.exists() else []
        return self._items[arm]


@dataclass
class Row:
    """One arm of one run: a row of every table. `label` is the arm, or `<task>/<run_id>:<arm>` across runs."""
    label: str
    run: Run
    arm: str

    @property
    def data(self) -> ArmScores:
        return self.run.scores.arms[self.arm]


def load_run(path: Path) -> Run:
    scores_file = RunFolder(path).scores
    return Run(path, upgrade_scores(read_json(scores_file), str(scores_file)))


def rows_of(runs: list[Run]) -> list[Row]:
    prefix = len(runs) > 1
    return [Row(f"{run.name}:{arm}" if prefix else arm, run, arm) for run in runs for arm in run.scores.arms]


def definitions(runs: list[Run]) -> dict[str, Definition]:
    """The definitions stored with each run (as its code defined each figure), over the current code's."""
    merged = current_definitions()
    for run in runs:
        merged.update(run.scores.definitions)
    return merged


def label_of(defs: dict[str, Definition], key: str) -> str:
    return defs[key].label if key in defs else key
