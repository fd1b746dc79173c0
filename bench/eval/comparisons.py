"""Paired comparisons of arms on the same items, and the family of them that the verdict draws.

Every pair of arms is compared on each of the family's per-item metrics, overall and per stratum. The verdict
reads a few of them (the best arm against the runner-up; the best fine-tuned arm against the best retrieval arm,
overall, per stratum and on the other metrics); those are Holm-adjusted together, so the verdict's "significant"
holds at 5% for the whole family rather than for each sentence alone.
"""
from __future__ import annotations

from bench.eval.metrics import Metric, Scored
from bench.eval.stats import holm, paired_test, seed_paired_test
from bench.records.arms import ARMS
from bench.records.config import RunConfig
from bench.records.scores import Comparison, ScoresFile

Runs = list[list[Scored]]  # one arm's answers, once per fine-tuning seed (base-model arms: one run)


def item_values(run: list[Scored], metric: Metric) -> dict[str, tuple[str, float]]:
    return {s.item.id: (s.item.stratum, v) for s in run if (v := metric.value(s)) is not None}


def compare(a_values: list[dict], b_values: list[dict], ids: list[str], cfg: RunConfig):
    """One arm against another on the given items, from each run's item values (`item_values`); several seeds of
    either arm: their variance counts too."""
    a = [[values[i][1] for i in ids] for values in a_values]
    b = [[values[i][1] for i in ids] for values in b_values]
    if len(a) == 1 and len(b) == 1:
        return paired_test(a[0], b[0], cfg.bootstrap_resamples, cfg.seed)
    return seed_paired_test(a, b, cfg.bootstrap_resamples, cfg.seed)


def comparisons(runs_by_arm: dict[str, Runs], metric: Metric, cfg: RunConfig) -> list[Comparison]:
    """Every pair of arms on one metric, over the items every run of both scored, overall and per stratum."""
    rows = []
    values = {arm: [item_values(run, metric) for run in runs] for arm, runs in runs_by_arm.items()}  # once per run
    names = list(runs_by_arm)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            scored = values[a] + values[b]
            shared = [item for item in scored[0] if all(item in found for found in scored)]
            stratum_of = {item: scored[0][item][0] for item in shared}
            # dict.fromkeys: once each, in order, even when the task names its only stratum "all" (banking77)
            for stratum in dict.fromkeys(["all"] + list(stratum_of.values())):
                ids = [item for item in shared if stratum == "all" or stratum_of[item] == stratum]
                if stratum != "all" and len(ids) == len(shared):
                    continue  # one stratum only: "all" already says it
                test = compare(values[a], values[b], ids, cfg)
                rows.append(Comparison(a=a, b=b, metric=metric.name, stratum=stratum, diff=test.diff, p=test.p, test=test.test))
    return rows


def ranked(scores: ScoresFile, arms: list[str], metric: str, lower_is_better: bool = False) -> list[str]:
    """Arms with a value on the metric, best first (ties keep their scores.json order)."""
    scored = [a for a in arms if (ci := scores.interval(a, metric)) is not None and ci.has_value]
    return sorted(scored, key=lambda a: scores.interval(a, metric).mean * (1 if lower_is_better else -1))


def fine_tune_vs_retrieval(scores: ScoresFile, metric: str) -> tuple[str, str] | None:
    """The best arm that only fine-tunes and the best that only retrieves: the question the benchmark answers.
    The arm doing both (ft_rag) competes in the best-arm sentence instead."""
    arms = [ARMS[a] for a in scores.arms if a in ARMS]
    tuned = ranked(scores, [a.name for a in arms if a.fine_tuned and not a.retrieves], metric)
    retrieving = ranked(scores, [a.name for a in arms if not a.fine_tuned and a.retrieves], metric)
    return (tuned[0], retrieving[0]) if tuned and retrieving else None


def verdict_family(scores: ScoresFile) -> list[tuple[str, str, str, str]]:
    """(arm, arm, metric, stratum) of every comparison the verdict draws."""
    headline, family = scores.headline, []
    order = ranked(scores, list(scores.arms), headline)
    if len(order) > 1:
        family.append((order[0], order[1], headline, "all"))
    pair = fine_tune_vs_retrieval(scores, headline)
    if pair:
        strata = list(scores.arms[pair[0]].by_stratum)
        family += [(*pair, headline, "all")] + [(*pair, headline, s) for s in strata if len(strata) > 1]
        family += [(*pair, metric, "all") for metric in scores.metrics[1:]]
    if {"ft", "ft_plain"} <= set(scores.arms):  # what paraphrase augmentation bought
        family.append(("ft", "ft_plain", headline, "all"))
    return list(dict.fromkeys(family))


def find(rows: list[Comparison], a: str, b: str, metric: str, stratum: str) -> Comparison | None:
    return next((c for c in rows if {c.a, c.b} == {a, b} and c.metric == metric and c.stratum == stratum), None)


def with_holm(scores: ScoresFile, rows: list[Comparison]) -> list[Comparison]:
    """The comparisons, the verdict's family among them carrying Holm-adjusted p-values."""
    chosen = [found for key in verdict_family(scores) if (found := find(rows, *key)) is not None]
    adjusted = dict(zip(map(id, chosen), holm([c.p for c in chosen])))
    return [c.model_copy(update={"p_holm": adjusted[id(c)]}) if id(c) in adjusted else c for c in rows]
