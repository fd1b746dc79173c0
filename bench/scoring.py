"""Per-item scores (stored with each prediction) and per-arm summaries with confidence intervals (scores.json)."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np

from bench import hallucination, metrics
from bench.arms import ARMS
from bench.hallucination import CONFIDENT, CorpusText, draft_contradicts, unsupported_units
from bench.judge import judge_support
from bench.metrics import derive_key_facts, macro_f1
from bench.stats import bootstrap_ci, bootstrap_statistic, expected_calibration_error, paired_test
from bench.tasks import Example

if TYPE_CHECKING:
    from bench.pipeline import Stage

COST_DEFINITIONS = {
    "usd_per_1k_queries": {"label": "USD / 1k queries", "better": "lower",
        "definition": "Cost of 1,000 queries: mean measured seconds per query at the device's hour rate (prices.*), or prompt and output tokens at the per-1k-token prices when those are set."},
    "one_off_usd": {"label": "one-off USD", "better": "lower",
        "definition": "Training plus index-building seconds x the hour rate / 3,600: paid once, before the first query."},
    "break_even": {"label": "break-even", "better": "lower",
        "definition": "Query volume at which fine-tuning's lower per-query cost repays its extra one-off cost compared with RAG."},
}
ALL_DEFINITIONS = metrics.DEFINITIONS | hallucination.DEFINITIONS | COST_DEFINITIONS

# The per-item metrics of each family, headline first. A task with a fixed answer set (classification, or
# QA over yes/no/maybe) is scored as a choice; free-text QA by answer overlap; drafting against a reference,
# headed by key-fact recall: a draft in the right style with the wrong facts is the failure that matters.
FAMILY_METRICS = {"choice": ("accuracy",), "qa": ("em", "f1", "contains"), "drafting": ("fact_recall", "rouge_l")}


def metric_family(kind: str, labels: list[str] | None) -> str:
    if kind == "classification" or labels:
        return "choice"
    return "drafting" if kind == "drafting" else "qa"


def score_item(family: str, item: Example, output: str, retrieved_docs: list[str], labels: list[str] | None,
               probs: dict[str, float] | None) -> dict:
    scores: dict = {}
    if family == "choice":
        predicted = output if probs is not None else metrics.parse_label(output, labels or [])
        scores.update(predicted=predicted, accuracy=float(predicted in item.targets))
        if probs is not None:
            scores.update(confidence=max(probs.values()), gold_prob=probs.get(item.targets[0], 0.0))
    elif family == "drafting":
        scores.update({name: metrics.ITEM_METRICS[name](output, item) for name in FAMILY_METRICS["drafting"]})
    else:
        scores["abstained"] = metrics.is_abstention(output)
        if item.answerable:
            scores.update({name: metrics.ITEM_METRICS[name](output, item) for name in FAMILY_METRICS["qa"]})
    if retrieved_docs and item.gold_docs:
        scores["recall_at_k"] = metrics.recall_at_k(retrieved_docs, list(item.gold_docs))
    return scores


def read_predictions(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def ci(values: list[float], cfg) -> dict:
    values = [v for v in values if v == v]  # NaN: the metric does not apply to that item
    return asdict(bootstrap_ci(values, cfg.bootstrap_resamples, cfg.seed))


def accuracy_block(records: list[dict], family: str, cfg) -> dict:
    names = FAMILY_METRICS[family]
    scored = [r for r in records if names[0] in r["scores"]]
    block = {m: ci([r["scores"][m] for r in scored], cfg) for m in names}
    block["by_stratum"] = {
        s: {m: ci([r["scores"][m] for r in scored if r["stratum"] == s], cfg) for m in names}
        for s in dict.fromkeys(r["stratum"] for r in scored)
    }
    if family == "choice":
        golds, predicted = [r["gold"][0] for r in scored], [r["scores"]["predicted"] for r in scored]
        block["macro_f1"] = asdict(bootstrap_statistic(len(scored), lambda idx: macro_f1([golds[i] for i in idx], [predicted[i] for i in idx]),
                                                       cfg.bootstrap_resamples, cfg.seed))
    return block


def hallucination_block(records: list[dict], family: str, corpus: CorpusText, cfg) -> dict | None:
    """Each measure as a bootstrap interval over the items it applies to (see bench/hallucination.py)."""
    per_item: dict[str, list[float]] = {}
    add = lambda name, value: per_item.setdefault(name, []).append(float(value))
    units: list[tuple[int, int]] = []  # per answer: factual units, and how many no document supports
    for r in records:
        s = r["scores"]
        if family == "qa":
            if "em" in s:
                add("wrongly_declined", s["abstained"])
                add("contradicted", not s["abstained"] and not s["contains"])
            else:
                add("abstain_on_unanswerable", s["abstained"])
                add("answered_unanswerable", not s["abstained"])
        elif family == "drafting":
            add("contradicted", draft_contradicts(r["output"], r.get("facts") or derive_key_facts(r["gold"][0])))
        elif "confidence" in s:
            add("confident_errors", s["accuracy"] == 0 and s["confidence"] >= CONFIDENT)
        if family != "choice" and not corpus.empty and not s.get("abstained"):
            units.append(unsupported_units(r["output"], corpus))
    block = {name: ci(values, cfg) for name, values in per_item.items()}
    if any(found for found, _ in units):  # pooled over all units, not averaged per answer; resampled by answer
        share = lambda idx: sum(units[i][1] for i in idx) / max(1, sum(units[i][0] for i in idx))
        block["unsupported_units"] = asdict(bootstrap_statistic(len(units), share, cfg.bootstrap_resamples, cfg.seed))
    confident = [(r["scores"]["confidence"], r["scores"]["accuracy"]) for r in records if "confidence" in r["scores"]]
    if confident:
        conf, hit = zip(*confident)
        block["ece"] = asdict(bootstrap_statistic(len(conf), lambda idx: expected_calibration_error(
            [conf[i] for i in idx], [hit[i] for i in idx]), cfg.bootstrap_resamples, cfg.seed))
    return block or None


def comparisons(records_by_arm: dict[str, list[dict]], metric: str, cfg) -> list[dict]:
    """Every pair of arms on the headline metric, over the items both scored, overall and per stratum."""
    rows = []
    names = list(records_by_arm)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            scored_a = {r["id"]: r for r in records_by_arm[a] if metric in r["scores"]}
            scored_b = {r["id"]: r for r in records_by_arm[b] if metric in r["scores"]}
            shared = [item for item in scored_a if item in scored_b]
            # dict.fromkeys: once each, in order, even when the task names its only stratum "all" (banking77)
            for stratum in dict.fromkeys(["all"] + [scored_a[item]["stratum"] for item in shared]):
                ids = [item for item in shared if stratum == "all" or scored_a[item]["stratum"] == stratum]
                if stratum != "all" and len(ids) == len(shared):
                    continue  # one stratum only: "all" already says it
                test = paired_test([scored_a[item]["scores"][metric] for item in ids],
                                   [scored_b[item]["scores"][metric] for item in ids], cfg.bootstrap_resamples, cfg.seed)
                rows.append({"a": a, "b": b, "metric": metric, "stratum": stratum, "diff": asdict(test.diff),
                             "p_bootstrap": test.p_bootstrap, "p_mcnemar": test.p_mcnemar})
    return rows


def cost_block(stage: Stage, arm_name: str, records: list[dict]) -> dict:
    arm, prices, cfg = ARMS[arm_name], stage.cfg.prices, stage.cfg
    hour_rate = prices.gpu_hour_usd if stage.device == "cuda" else prices.cpu_hour_usd
    seconds = [r["seconds"] for r in records]
    measured_memory = [r["peak_memory_mb"] for r in records if r.get("peak_memory_mb") is not None]
    prompt_tokens = float(np.mean([r["prompt_tokens"] for r in records]))
    output_tokens = float(np.mean([r["output_tokens"] for r in records]))
    train = stage.train_stats.get((arm.weights, cfg.seeds[0]))
    index = stage.index_stats if arm.context == "retrieval" else None
    one_off_seconds = (train.seconds if train else 0.0) + (index.build_seconds if index else 0.0)
    return {
        "train": asdict(train) if train else None,
        "index": asdict(index) if index else None,
        "one_off_seconds": one_off_seconds,
        "one_off_usd": one_off_seconds / 3600 * hour_rate,
        "query_seconds_p50": float(np.percentile(seconds, 50)),
        "query_seconds_p95": float(np.percentile(seconds, 95)),
        "query_seconds_mean": float(np.mean(seconds)),
        "prompt_tokens_mean": prompt_tokens,
        "output_tokens_mean": output_tokens,
        "query_flops": 2 * stage.n_params * (prompt_tokens + output_tokens),
        "usd_per_1k_queries": usd_per_1k_queries(prices, hour_rate, float(np.mean(seconds)), prompt_tokens, output_tokens),
        "hour_rate_usd": hour_rate,
        "priced_by_tokens": prices.by_tokens,
        "device": stage.device,
        "peak_memory_mb": max(measured_memory) if measured_memory else stage.memory_mb.get(f"answer:{arm_name}"),
    }


def usd_per_1k_queries(prices, hour_rate: float, seconds: float, prompt_tokens: float, output_tokens: float) -> float:
    if prices.by_tokens:
        return prompt_tokens * prices.usd_per_1k_prompt_tokens + output_tokens * prices.usd_per_1k_output_tokens
    return seconds * 1000 / 3600 * hour_rate


def break_even(costs: dict[str, dict], ft_arm: str = "ft", rag_arm: str = "rag") -> dict | None:
    """Queries after which fine-tuning's lower per-query cost repays its one-off cost, versus RAG."""
    if ft_arm not in costs or rag_arm not in costs:
        return None
    ft, rag = costs[ft_arm], costs[rag_arm]
    extra_one_off = ft["one_off_usd"] - rag["one_off_usd"]
    saving_per_query = (rag["usd_per_1k_queries"] - ft["usd_per_1k_queries"]) / 1000
    if saving_per_query <= 0:
        queries = None  # fine-tuning is never cheaper per query, so it never catches up
    else:
        queries = max(0.0, extra_one_off / saving_per_query)
    return {"arms": [ft_arm, rag_arm], "extra_one_off_usd": extra_one_off,
            "saving_per_query_usd": saving_per_query, "queries": queries,
            "assumptions": f"One-off cost = measured fine-tuning seconds (ft) or index build seconds (rag) at "
                           f"{ft['hour_rate_usd']:.2f} USD per {ft['device']} hour; per-query cost = "
                           + ("measured prompt and output tokens at the configured per-1k-token prices"
                              if ft.get("priced_by_tokens") else "mean measured seconds per query, as answered in this run")
                           + " at the same rate. Serving both arms on the same hardware is assumed."}


def seed_spread(stage: Stage, metrics_: tuple[str, ...]) -> dict | None:
    """Per fine-tuned arm: each metric's mean per fine-tuning seed, and their mean and standard deviation."""
    from bench.pipeline import predictions_path

    if len(stage.cfg.seeds) < 2:
        return None
    spread = {}
    for name in stage.cfg.arms:
        arm = ARMS[name]
        if arm.weights == "base":
            continue
        runs = [read_predictions(predictions_path(stage, arm, seed)) for seed in stage.cfg.seeds]
        spread[name] = {"seeds": stage.cfg.seeds}
        for metric in metrics_:
            values = [float(np.mean([r["scores"][metric] for r in records if metric in r["scores"]])) for records in runs]
            spread[name][metric] = {"values": values, "mean": float(np.mean(values)), "std": float(np.std(values, ddof=1))}
    return spread


def majority_baseline(items: list[Example]) -> dict | None:
    """The floor a label-choice arm must clear: the accuracy of always answering the most frequent gold label."""
    golds = [item.targets[0] for item in items if item.targets]
    if not golds:
        return None
    label, count = Counter(golds).most_common(1)[0]  # ties: the label seen first
    return {"label": label, "accuracy": count / len(golds), "items": len(golds)}


def summarize(stage: Stage, items: list[Example]) -> dict:
    from bench.pipeline import environment, predictions_path

    cfg = stage.cfg
    corpus = CorpusText(stage.task.corpus)
    arms, costs, records_by_arm = {}, {}, {}
    for name in cfg.arms:
        records = records_by_arm[name] = read_predictions(predictions_path(stage, ARMS[name], cfg.seeds[0]))
        costs[name] = cost_block(stage, name, records)
        recall = [r["scores"]["recall_at_k"] for r in records if "recall_at_k" in r["scores"]]
        arms[name] = {
            "items": len(records),
            "accuracy": accuracy_block(records, stage.family, cfg),
            "hallucination": hallucination_block(records, stage.family, corpus, cfg),
            "retrieval": {"recall_at_k": ci(recall, cfg), "k": cfg.retrieval.k} if recall else None,
            "cost": costs[name],
        }
    seeds = seed_spread(stage, FAMILY_METRICS[stage.family])
    if cfg.judge.enabled and stage.family != "choice" and stage.sources.retriever:
        judged = judge_support(records_by_arm, stage.sources.retriever, cfg.judge.model, stage.device, cfg.judge.k,
                               stage.run_dir / "predictions" / "judge.json")
        for name, support in ((n, s) for n, s in judged.items() if s):
            arms[name]["hallucination"] = (arms[name]["hallucination"] or {}) | {
                "judge_unsupported": ci([1 - p for p in support.values()], cfg)}
    counts: dict[str, int] = {}
    for item in items:
        counts[item.stratum] = counts.get(item.stratum, 0) + 1
    return {
        "task": {"name": stage.task.name, "kind": stage.task.spec.kind, "description": stage.task.spec.description,
                 "source": stage.task.spec.source, "license": stage.task.spec.license, "data_hash": stage.task.data_hash,
                 "train_examples": len(stage.task.train), "corpus_documents": len(stage.task.corpus)},
        "items": counts,
        "family": stage.family,
        "metrics": list(FAMILY_METRICS[stage.family]),
        "config": cfg.model_dump(),
        "config_hash": cfg.digest(),
        "generator_path": stage.generator_path,
        "arms": arms,
        "break_even": break_even(costs),
        "majority": majority_baseline(items) if stage.family == "choice" else None,
        "seeds": seeds,
        "comparisons": [row for metric in FAMILY_METRICS[stage.family] for row in comparisons(records_by_arm, metric, cfg)],
        "definitions": ALL_DEFINITIONS,
        "timings": stage.timings,
        "environment": environment(),
    }
