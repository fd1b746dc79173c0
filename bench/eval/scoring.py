"""The score stage: stored predictions + the run manifest + the task's items -> `scores.json` and per-item scores.

It needs no model, so `ftrag score <run>` recomputes every figure in seconds, and a metric change never needs an
arm to answer again. Every figure is a registered metric (metrics.py) with a bootstrap interval, a paired
comparison, or a cost (cost.py).
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from bench.data.tasks import Task
from bench.eval.context import Context, ci, load_context, scored_items, values_of
from bench.eval.claims import claims
from bench.eval.curve import curve_scores
from bench.eval.forgetting import forgetting_scores
from bench.eval.update import update_scores
from bench.eval.cost import COST_DEFINITIONS, break_even, cost_block
from bench.eval.metrics import METRICS, Metric, Scored, family_metrics
from bench.eval.comparisons import comparisons, fine_tune_vs_retrieval, with_holm
from bench.eval.stats import bootstrap_statistic
from bench.records.arms import ARMS
from bench.records.config import RunConfig
from bench.records.io import atomic_write_text
from bench.records.items import Example
from bench.records.layout import RunFolder
from bench.records.predictions import read_predictions
from bench.records.scores import (ArmScores, BreakEven, Definition, Interval, Majority, ModalAnswer, Retrieval,
                                  ScoredItem, ScoresFile, SeedMetric, SeedSpread, TaskInfo)


FIT = Definition(label="fit on its training questions", better="higher",
                 definition="A fine-tuned arm answers a seeded sample of the questions it was trained on (finetune.fit_items): the "
                            "share it gets right on the family's headline metric (QA: a correct answer, or declining where the "
                            "training answer was to decline). Low fit means the adapter has not learned its training data, so "
                            "comparing it is premature.")


def definitions() -> dict[str, Definition]:
    """What each figure means, as this code computes it (stored in scores.json, so a run keeps its own)."""
    metrics = {m.name: Definition(label=m.label, better=m.better, definition=m.definition) for m in METRICS.values()}
    return metrics | COST_DEFINITIONS | {"fit": FIT}


def interval(metric: Metric, scored: list[Scored], cfg: RunConfig) -> Interval | None:
    """The metric over the items it applies to; None when the run does not have it (it applies to no item)."""
    values = values_of(metric, scored)
    if not metric.shown(values):
        return None
    if metric.per_item:
        return ci(values, cfg)
    return bootstrap_statistic(len(values), lambda idx: metric.pooled([values[i] for i in idx]), cfg.bootstrap_resamples, cfg.seed)


def section_block(scored: list[Scored], ctx: Context, section: str) -> dict[str, Interval]:
    metrics = family_metrics(ctx.family, section, per_item=None)
    return {m.name: found for m in metrics if (found := interval(m, scored, ctx.cfg)) is not None}


def headline_scored(scored: list[Scored], headline: Metric) -> list[Scored]:
    """The items the headline metric applies to (QA: the answerable ones)."""
    return [s for s in scored if headline.value(s) is not None]


def accuracy_blocks(scored: list[Scored], ctx: Context) -> tuple[dict[str, Interval], dict[str, dict[str, Interval]]]:
    """(overall, per stratum): the family's metrics over the items its headline scores; strata in order of appearance."""
    scored = headline_scored(scored, ctx.metrics[0])
    overall = {m.name: ci(values_of(m, scored), ctx.cfg) for m in ctx.metrics}
    overall |= section_block(scored, ctx, "accuracy")  # adds whole-sample metrics (macro-F1)
    strata = dict.fromkeys(s.item.stratum for s in scored)
    by_stratum = {stratum: {m.name: ci(values_of(m, [s for s in scored if s.item.stratum == stratum]), ctx.cfg)
                            for m in ctx.metrics} for stratum in strata}
    return overall, by_stratum


def fit_interval(ctx: Context, folder: RunFolder, arm_name: str) -> Interval | None:
    """How well a fine-tuned arm answers questions it trained on (its fit predictions, when it has them)."""
    path = folder.fit_predictions(arm_name)
    if not ARMS[arm_name].fine_tuned or not path.exists():
        return None
    by_id = {ex.id: ex for ex in ctx.task.train}
    scored = [Scored(by_id[p.id], p, ctx.family, ctx.task.spec.labels, ctx.docs) for p in read_predictions(path) if p.id in by_id]
    headline = ctx.metrics[0]
    # a training question whose answer was to decline is learned when the arm declines it
    return ci([float(s.declined) if not s.item.answerable else headline.value(s) for s in scored], ctx.cfg) if scored else None


def arm_scores(scored: list[Scored], ctx: Context, arm_name: str, folder: RunFolder) -> ArmScores:
    overall, by_stratum = accuracy_blocks(scored, ctx)
    recall = section_block(scored, ctx, "retrieval").get("recall_at_k")
    return ArmScores(items=len(scored), accuracy=overall, by_stratum=by_stratum,
                     hallucination=section_block(scored, ctx, "hallucination"),
                     retrieval=Retrieval(recall_at_k=recall, k=ctx.cfg.retrieval.k, method=ctx.cfg.retrieval.method) if recall else None,
                     fit=fit_interval(ctx, folder, arm_name),
                     modal_answer=modal_answer(scored) if ctx.family == "choice" else None,
                     cost=cost_block(ctx.run, arm_name, [s.prediction for s in scored]))


def modal_answer(scored: list[Scored]) -> ModalAnswer | None:
    """The label an arm answered most often, and how many items it is the gold label of: an arm that gives one label
    to nearly every item scores about the share of items whose gold label that is, whatever it read."""
    answered = Counter(s.predicted for s in scored if s.predicted is not None)
    if not answered:
        return None
    label, count = answered.most_common(1)[0]  # ties: the label answered first
    return ModalAnswer(label=label, count=count, gold_count=sum(label in s.item.targets for s in scored))


def seed_spread(ctx: Context, runs_by_arm: dict[str, list[list[Scored]]]) -> dict[str, SeedSpread] | None:
    """Per fine-tuned arm: each metric's mean per fine-tuning seed, and their mean and standard deviation."""
    cfg = ctx.cfg
    if len(cfg.seeds) < 2:
        return None
    spread = {}
    for name, runs in ((a, r) for a, r in runs_by_arm.items() if ARMS[a].fine_tuned):
        metrics = {}
        for metric in ctx.metrics:
            values = [float(np.mean(values_of(metric, scored))) for scored in runs]
            metrics[metric.name] = SeedMetric(values=values, mean=float(np.mean(values)), std=float(np.std(values, ddof=1)))
        spread[name] = SeedSpread(seeds=cfg.seeds, metrics=metrics)
    return spread


def majority_baseline(items: list[Example]) -> Majority | None:
    """The floor a label-choice arm must clear: the accuracy of always answering the most frequent gold label."""
    golds = [item.targets[0] for item in items if item.targets]
    if not golds:
        return None
    label, count = Counter(golds).most_common(1)[0]  # ties: the label seen first
    return Majority(label=label, accuracy=count / len(golds), items=len(golds))


def item_records(scored: list[Scored]) -> list[ScoredItem]:
    """Each item's per-item metric values beside its answer: what the report's examples show."""
    return [ScoredItem(id=s.item.id, stratum=s.item.stratum, input=s.item.input, gold=list(s.item.targets),
                       output=s.output, retrieved=s.prediction.retrieved,
                       scores={m.name: v for m in METRICS.values() if m.per_item and s.family in m.families
                               and (v := m.value(s)) is not None})
            for s in scored]


def task_info(task: Task) -> TaskInfo:
    spec = task.spec
    return TaskInfo(name=task.name, kind=spec.kind, description=spec.description, source=spec.source, license=spec.license,
                    data_hash=task.data_hash, train_examples=len(task.train), corpus_documents=len(task.corpus))


def verdict_break_even(scores: ScoresFile) -> BreakEven | None:
    """The break-even of the pair the verdict compares (the best arm that only fine-tunes against the best that
    only retrieves: `ft_plain` where it outscores `ft`), so that the cost sentences name the arms compared before."""
    pair = fine_tune_vs_retrieval(scores, scores.headline) or ("ft", "rag")
    return break_even({name: arm.cost for name, arm in scores.arms.items()}, *pair)


def score_run(folder: RunFolder) -> ScoresFile:
    """Score a run from its stored predictions; write `scores.json` and `item_scores/<arm>.jsonl`."""
    ctx = load_context(folder)
    cfg = ctx.cfg
    # each arm's answers once per fine-tuning seed; the first seed's fill the tables, all of them the comparisons
    runs_by_arm = {name: [scored_items(ctx, folder, name, seed) for seed in (cfg.seeds if ARMS[name].fine_tuned else cfg.seeds[:1])]
                   for name in cfg.arms}
    arms = {name: arm_scores(runs[0], ctx, name, folder) for name, runs in runs_by_arm.items()}
    for name, runs in runs_by_arm.items():
        atomic_write_text(folder.item_scores(name), "".join(r.model_dump_json() + "\n" for r in item_records(runs[0])))
    scores = ScoresFile(
        task=task_info(ctx.task), items=dict(Counter(item.stratum for item in ctx.items)), family=ctx.family,
        metrics=[m.name for m in ctx.metrics], config=cfg.model_dump(), config_hash=cfg.digest(),
        generator_path=ctx.run.generator_path, n_params=ctx.run.n_params, prompt_format=ctx.run.prompt_format, answering_precision=ctx.run.answering_precision, arms=arms,
        majority=majority_baseline(ctx.items) if ctx.family == "choice" else None, seeds=seed_spread(ctx, runs_by_arm),
        definitions=definitions(), timings=ctx.run.timings, stage_memory_mb=ctx.run.stage_memory_mb, environment=ctx.run.environment,
        forgetting=forgetting_scores(folder, ctx, runs_by_arm), update=update_scores(folder, ctx),
        curve=curve_scores(folder, ctx, runs_by_arm),
    )
    rows = [row for metric in ctx.metrics for row in comparisons(runs_by_arm, metric, cfg)]
    scores = scores.model_copy(update={"comparisons": with_holm(scores, rows)})
    scores = scores.model_copy(update={"claims": claims(scores, runs_by_arm), "break_even": verdict_break_even(scores)})
    atomic_write_text(folder.scores, scores.model_dump_json(indent=2) + "\n")
    return scores
