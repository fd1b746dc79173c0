"""Per-item scores (stored with each prediction) and per-arm summaries with confidence intervals (scores.json)."""
from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np

from bench import metrics
from bench.arms import ARMS
from bench.metrics import macro_f1
from bench.stats import bootstrap_ci, bootstrap_statistic
from bench.tasks import Example

if TYPE_CHECKING:
    from bench.pipeline import Stage


# The per-item metrics of each family, headline first. A task with a fixed answer set (classification, or
# QA over yes/no/maybe) is scored as a choice; free-text QA by answer overlap; drafting against a reference.
FAMILY_METRICS = {"choice": ("accuracy",), "qa": ("em", "f1", "contains"), "drafting": ("rouge_l", "fact_recall")}


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
        facts = list(item.facts) or metrics.derive_key_facts(item.targets[0])
        scores.update(rouge_l=metrics.rouge_l(output, item.targets[0]), fact_recall=metrics.fact_recall(output, facts))
    else:
        scores["abstained"] = metrics.is_abstention(output)
        if item.answerable:
            golds = list(item.targets)
            scores.update(em=metrics.exact_match(output, golds), f1=metrics.token_f1(output, golds),
                          contains=metrics.contains_answer(output, golds))
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


def hallucination_block(records: list[dict], family: str, cfg) -> dict | None:
    if family != "qa":
        return None
    unanswerable = [r for r in records if "em" not in r["scores"]]
    answerable = [r for r in records if "em" in r["scores"]]
    return {
        # on unanswerable items the right move is to decline; answering there is making something up
        "abstain_on_unanswerable": ci([float(r["scores"]["abstained"]) for r in unanswerable], cfg),
        "wrongly_declined": ci([float(r["scores"]["abstained"]) for r in answerable], cfg),
    }


def cost_block(stage: Stage, arm_name: str, records: list[dict]) -> dict:
    arm, prices, cfg = ARMS[arm_name], stage.cfg.prices, stage.cfg
    hour_rate = prices.gpu_hour_usd if stage.device == "cuda" else prices.cpu_hour_usd
    seconds = [r["seconds"] for r in records]
    prompt_tokens = float(np.mean([r["prompt_tokens"] for r in records]))
    output_tokens = float(np.mean([r["output_tokens"] for r in records]))
    train = stage.train_stats.get(arm.weights)
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
        "usd_per_1k_queries": float(np.mean(seconds)) * 1000 / 3600 * hour_rate,
        "hour_rate_usd": hour_rate,
        "device": stage.device,
    }


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
            "saving_per_query_usd": saving_per_query, "queries": queries}


def summarize(stage: Stage, items: list[Example]) -> dict:
    from bench.pipeline import environment

    cfg = stage.cfg
    arms, costs = {}, {}
    for name in cfg.arms:
        records = read_predictions(stage.run_dir / "predictions" / f"{name}.jsonl")
        costs[name] = cost_block(stage, name, records)
        recall = [r["scores"]["recall_at_k"] for r in records if "recall_at_k" in r["scores"]]
        arms[name] = {
            "items": len(records),
            "accuracy": accuracy_block(records, stage.family, cfg),
            "hallucination": hallucination_block(records, stage.family, cfg),
            "retrieval": {"recall_at_k": ci(recall, cfg), "k": cfg.retrieval.k} if recall else None,
            "cost": costs[name],
        }
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
        "timings": stage.timings,
        "environment": environment(),
    }
