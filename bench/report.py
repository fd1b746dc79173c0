"""report.md from scores.json: one row per arm, the settings, the counts. Reads only stored results."""
from __future__ import annotations

from pathlib import Path

from bench.cache import atomic_write_text


def pct(interval: dict | None) -> str:
    if not interval or interval["n"] == 0:
        return "–"
    return f"{100 * interval['mean']:.1f} [{100 * interval['low']:.1f}, {100 * interval['high']:.1f}]"


METRIC_NAMES = {"em": "EM", "f1": "F1", "contains": "contains", "accuracy": "accuracy", "macro_f1": "macro-F1",
                "rouge_l": "ROUGE-L", "fact_recall": "key-fact recall"}


def accuracy_table(scores: dict) -> list[str]:
    names = scores["metrics"] + (["macro_f1"] if scores["family"] == "choice" else [])
    strata = list(dict.fromkeys(s for arm in scores["arms"].values() for s in arm["accuracy"]["by_stratum"]))
    per_stratum = scores["metrics"][:1] if len(strata) > 1 else []
    head = ["arm"] + [METRIC_NAMES[m] for m in names] + [f"{METRIC_NAMES[m]} {s}" for s in strata for m in per_stratum]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, arm in scores["arms"].items():
        acc = arm["accuracy"]
        row = [name] + [pct(acc[m]) for m in names]
        row += [pct(acc["by_stratum"].get(s, {}).get(m)) for s in strata for m in per_stratum]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def hallucination_table(scores: dict) -> list[str]:
    head = ["arm", "abstains on unanswerable", "wrongly declines answerable", "recall@k of gold document"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, arm in scores["arms"].items():
        hal, ret = arm["hallucination"] or {}, arm["retrieval"]
        row = [name, pct(hal.get("abstain_on_unanswerable")), pct(hal.get("wrongly_declined")), pct(ret["recall_at_k"]) if ret else "–"]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def cost_table(scores: dict) -> list[str]:
    head = ["arm", "training s", "training tokens", "index build s", "index size KB", "s/query p50", "s/query p95",
            "prompt tokens", "output tokens", "USD / 1k queries", "one-off USD"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, arm in scores["arms"].items():
        cost = arm["cost"]
        train, index = cost["train"], cost["index"]
        row = [name, f"{train['seconds']:.0f}" if train else "–", f"{train['tokens']:,}" if train else "–",
               f"{index['build_seconds']:.1f}" if index else "–", f"{index['size_bytes'] / 1024:.0f}" if index else "–",
               f"{cost['query_seconds_p50']:.3f}", f"{cost['query_seconds_p95']:.3f}", f"{cost['prompt_tokens_mean']:.0f}",
               f"{cost['output_tokens_mean']:.1f}", f"{cost['usd_per_1k_queries']:.4f}", f"{cost['one_off_usd']:.4f}"]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def break_even_line(scores: dict) -> str:
    be = scores.get("break_even")
    if not be:
        return "Break-even: needs both the `ft` and `rag` arms."
    if be["queries"] is None:
        return "Break-even: fine-tuning is not cheaper per query than RAG here, so it never repays its training cost."
    return (f"Break-even: fine-tuning costs {be['extra_one_off_usd']:.4f} USD more up front and saves "
            f"{be['saving_per_query_usd'] * 1000:.4f} USD per 1k queries, so it becomes cheaper than RAG after "
            f"about {be['queries']:,.0f} queries.")


METRIC_NOTES = {
    "qa": "Answerable items only. EM: normalized exact match; F1: token overlap; contains: an accepted answer appears in the output.",
    "choice": "Each item is answered by choosing the most likely label (log-likelihood over the label set).",
    "drafting": "ROUGE-L: longest-common-subsequence F-measure against the reference; key-fact recall: share of the "
                "reference's required facts present in the draft.",
}


def write_report(run_dir: Path, scores: dict) -> Path:
    task, cfg = scores["task"], scores["config"]
    items = ", ".join(f"{n} {s}" for s, n in scores["items"].items())
    lines = [
        f"# ftrag report: {task['name']} ({task['kind']})", "",
        task["description"], "",
        f"Model `{cfg['model']['generator']}`, embedder `{cfg['model']['embedder']}`; test items: {items}; "
        f"{task['train_examples']} training examples; {task['corpus_documents']} corpus documents.", "",
        "## Accuracy", "",
        "Percentages with 95% bootstrap confidence intervals in brackets. " + METRIC_NOTES[scores["family"]], "",
        *accuracy_table(scores), "",
        "## Hallucination and retrieval", "",
        *hallucination_table(scores), "",
        "## Cost", "",
        f"Measured on {scores['environment']['machine']}; money at {cfg['prices']['cpu_hour_usd']:.2f} USD per CPU-hour and "
        f"{cfg['prices']['gpu_hour_usd']:.2f} USD per GPU-hour (settings `prices.*`).", "",
        *cost_table(scores), "",
        break_even_line(scores), "",
        "## Settings", "",
        f"- config hash `{scores['config_hash']}`; seed {cfg['seed']}; greedy decoding, at most {cfg['generation']['max_new_tokens']} new tokens",
        f"- retrieval: top {cfg['retrieval']['k']} chunks of {cfg['retrieval']['chunk_words']} words ({cfg['retrieval']['index']} index); few-shot k = {cfg['fewshot_k']}",
        f"- fine-tuning: {cfg['finetune']['method']}, {cfg['finetune']['epochs']} epochs on QA pairs + {cfg['finetune']['corpus_epochs']} on corpus text (ft); {cfg['finetune']['raft_epochs']} RAFT epochs (ft_rag)",
        f"- data: {task['source']} License: {task['license']}. Data hash `{task['data_hash']}`.",
        f"- packages: {', '.join(f'{k} {v}' for k, v in scores['environment']['packages'].items())}",
        "",
    ]
    path = run_dir / "report.md"
    atomic_write_text(path, "\n".join(lines))
    return path
