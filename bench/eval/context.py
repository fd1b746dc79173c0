"""What the score stage reads besides the predictions: the run manifest, the task's items and the corpus, and
each arm's predictions joined with the items they answer. The run's own scoring and the experiments' share it."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from bench.data.tasks import Task, load_task, select_items
from bench.eval.metrics import Family, Metric, Scored, metric_family, scored_metrics
from bench.eval.stats import mean_interval
from bench.records.arms import ARMS
from bench.records.config import RunConfig
from bench.records.errors import UserError
from bench.records.io import read_json
from bench.records.items import Doc, Example
from bench.records.layout import RunFolder
from bench.records.manifest import ExperimentManifest, RunManifest
from bench.records.predictions import judge_key, read_predictions
from bench.records.scores import Interval

log = logging.getLogger(__name__)


@dataclass
class Context:
    """What scoring one run reads besides the predictions."""
    run: RunManifest
    task: Task
    items: list[Example]
    family: Family
    docs: dict[str, Doc]  # the corpus by document id
    support: dict[str, float]  # judge verdicts by judge_key (judge.enabled only)

    @property
    def cfg(self) -> RunConfig:
        return self.run.config

    @property
    def metrics(self) -> list[Metric]:
        """The per-item accuracy metrics the run is scored by, its headline first."""
        return scored_metrics(self.family, self.cfg.headline)


def read_manifest(folder: RunFolder) -> RunManifest:
    if not folder.manifest.exists():
        raise UserError(f"{folder.path}: no run.json, so this is not a run folder that ftrag can score. "
                        "Give the folder of a run (results/<task>/<run id>) or a task name.")
    return RunManifest.model_validate(read_json(folder.manifest))


def experiment_manifest(folder: RunFolder, name: str, ctx: Context) -> ExperimentManifest | None:
    """What an experiment on this run built (`experiments/<name>/run.json`), or None when it has not run or was made
    from an earlier state of the run (other task data, other adapters): its answers would not match the run's."""
    path = folder.experiment(name) / "run.json"
    if not path.exists():
        return None
    manifest = ExperimentManifest.model_validate(read_json(path))
    if manifest.data_hash != ctx.task.data_hash or manifest.run_adapters != sorted(a.path for a in ctx.run.adapters):
        log.warning("%s: made from an earlier state of this run (the task's data or its adapters have changed since), so "
                    "left out of the scores. Run `ftrag %s %s` again to measure the run as it is.", path, name, folder.path)
        return None
    return manifest


def load_context(folder: RunFolder) -> Context:
    run = read_manifest(folder)
    task = load_task(run.task_folder)
    if task.data_hash != run.data_hash:
        raise UserError(f"task '{run.task}' ({run.task_folder}) has changed since this run answered: its scores would mix "
                        f"old answers with new data. Run `ftrag run {run.task}` again to answer the changed items.")
    family = metric_family(task.spec.kind, task.spec.labels)
    support = read_json(folder.judge) if run.config.judge.enabled and folder.judge.exists() else {}
    return Context(run, task, select_items(task.test, run.config.limit), family, {d.id: d for d in task.corpus}, support)


def scored_items(ctx: Context, folder: RunFolder, arm_name: str, seed: int) -> list[Scored]:
    """The arm's predictions joined with their test items, in the order the arm answered them."""
    return scored_file(ctx, folder.predictions(ARMS[arm_name], seed, ctx.cfg.seeds), ctx.items)


def scored_file(ctx: Context, path: Path, items: list[Example], command: str = "") -> list[Scored]:
    """A predictions file joined with the items it must answer (all of them, else one message naming the command
    that answers the rest: `ftrag run <task>` unless told)."""
    predictions = read_predictions(path) if path.exists() else []
    by_id = {item.id: item for item in items}
    missing = len(by_id.keys() - {p.id for p in predictions})
    if missing:
        raise UserError(f"{path}: {missing} of {len(by_id)} items have no prediction yet. "
                        f"Run `{command or f'ftrag run {ctx.run.task}'}` with the same settings to finish answering, then score.")
    labels, evidence_field = ctx.task.spec.labels, bool(ctx.task.spec.data.test.fields.evidence)
    return [Scored(by_id[p.id], p, ctx.family, labels, ctx.docs, evidence_field, ctx.support.get(judge_key(p)))
            for p in predictions if p.id in by_id]


def ci(values: list[float], cfg: RunConfig) -> Interval:
    """A rate's Wilson interval, any other mean's bootstrap interval."""
    values = [v for v in values if v == v]  # NaN: the metric could not score that item (a draft with no key facts)
    return mean_interval(values, cfg.bootstrap_resamples, cfg.seed)


def values_of(metric: Metric, scored: list[Scored]) -> list:
    return [v for v in (metric.value(s) for s in scored) if v is not None]
