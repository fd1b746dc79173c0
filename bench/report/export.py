"""scores.csv: every figure of scores.json flat, one row per arm, metric and stratum (`pandas.read_csv` loads it)."""
from __future__ import annotations

import csv
import io

from bench.records.scores import Interval
from bench.report.reproduce import flat
from bench.report.runs import Row, Run, rows_of

CSV_COLUMNS = ["run", "arm", "versus", "section", "metric", "stratum", "mean", "low", "high", "n", "test", "p", "p_holm"]


def csv_records(row: Row) -> list[dict]:
    """Every interval of one arm (accuracy overall and per stratum, hallucination, retrieval) and every numeric cost."""
    base = {"run": row.run.name, "arm": row.arm}

    def interval(section: str, metric: str, stratum: str, ci: Interval) -> dict:
        return {**base, "section": section, "metric": metric, "stratum": stratum, **ci.model_dump()}

    data = row.data
    records = [interval("accuracy", m, "all", ci) for m, ci in data.accuracy.items()]
    records += [interval("accuracy", m, s, ci) for s, block in data.by_stratum.items() for m, ci in block.items()]
    records += [interval("hallucination", m, "all", ci) for m, ci in data.hallucination.items()]
    if data.retrieval:
        records.append(interval("retrieval", "recall_at_k", "all", data.retrieval.recall_at_k))
    records += [{**base, "section": "cost", "metric": key, "stratum": "all", "mean": value}
                for key, value in flat(data.cost.model_dump()).items()
                if isinstance(value, (int, float)) and not isinstance(value, bool)]
    return records


def comparison_records(run: Run) -> list[dict]:
    """Each stored paired test: the difference `arm` minus `versus` as an interval, with its p-values."""
    return [{"run": run.name, "arm": c.a, "versus": c.b, "section": "comparison", "metric": c.metric, "stratum": c.stratum,
             **c.diff.model_dump(), "test": c.test, "p": c.p, "p_holm": c.p_holm}
            for c in run.scores.comparisons]


def experiment_records(run: Run) -> list[dict]:
    """The experiments' figures: section `forgetting` (metric = probe, or `domain` / `general`; `versus` base for a
    change) and section `update` (metric = current, stale, unchanged, update_seconds, update_usd)."""
    s, records = run.scores, []

    def add(section: str, arm: str, metric: str, ci: Interval | None, versus: str = "", p: float | None = None) -> None:
        if ci is not None:
            records.append({"run": run.name, "arm": arm, "versus": versus, "section": section, "metric": metric, "stratum": "all",
                            **ci.model_dump(), "p": p})

    if s.forgetting:
        for probe, result in s.forgetting.base.items():
            add("forgetting", "base", probe, result.accuracy)
        for v in s.forgetting.variants:
            add("forgetting", v.name, "domain", v.domain)
            add("forgetting", v.name, "domain", v.domain_gain, "base")
            add("forgetting", v.name, "general", v.general_change, "base", v.general_p)
            for probe, result in v.probes.items():
                add("forgetting", v.name, probe, result.accuracy)
                add("forgetting", v.name, probe, result.change, "base", result.p)
    if s.update:
        for v in s.update.variants:
            for metric in ("current", "stale", "unchanged"):
                add("update", v.name, metric, getattr(v, metric))
            records += [{"run": run.name, "arm": v.name, "section": "update", "metric": key, "stratum": "all", "mean": getattr(v, key)}
                        for key in ("update_seconds", "update_usd")]
    if s.curve:
        for pt in s.curve.points:
            add("curve", pt.arm, f"{s.curve.metric}@{pt.examples}", pt.score)
            add("curve", pt.arm, f"{s.curve.metric}@{pt.examples}", pt.vs_rag, "rag", pt.p)
    records += [{"run": run.name, "section": "claim", "metric": c.source, "stratum": "all", "test": c.finding} for c in s.claims]
    return records


def to_csv(runs: list[Run]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows_of(runs):
        writer.writerows(csv_records(row))
    for run in runs:
        writer.writerows(comparison_records(run))
        writer.writerows(experiment_records(run))
    return buffer.getvalue()
