"""The hand-written run the report and verdict tests read: a small scores.json (four arms, paired comparisons, a
break-even) and its item scores, as the score stage writes them (no model runs)."""
import json
from pathlib import Path

from bench.data.tasks import find_task_file, read_spec
from bench.eval.scoring import definitions
from bench.records.config import resolve_config
from bench.records.scores import ScoresFile
from bench.report.verdict import verdict as verdict_of_file

ARMS = ["base", "rag", "ft", "ft_rag"]
# headline EM per arm: overall, seen, corpus_only. Fine-tuning knows the trained facts, RAG the corpus-only ones.
EM = {"base": (0.05, 0.05, 0.05), "rag": (0.60, 0.55, 0.65), "ft": (0.30, 0.50, 0.10), "ft_rag": (0.70, 0.65, 0.75)}
ENVIRONMENT = {"python": "3.11", "machine": "x86_64, 2 CPUs", "cuda": None, "packages": {"torch": "2.13"}}


def interval(mean: float, width: float = 0.1, n: int = 40) -> dict:
    return {"mean": mean, "low": max(0.0, mean - width), "high": min(1.0, mean + width), "n": n}


def comparison(a: str, b: str, stratum: str, mean: float, low: float, high: float, p: float, p_holm: float | None = None) -> dict:
    return {"a": a, "b": b, "metric": "em", "stratum": stratum, "diff": {"mean": mean, "low": low, "high": high, "n": 40},
            "p": p, "test": "McNemar (mid-p)", "p_holm": p_holm}


def train_stats() -> dict:
    return {"method": "lora", "sequences": 700, "steps": 88, "tokens": 60000, "seconds": 300.0, "flops": 3.5e13,
            "trainable_params": 4_800_000, "first_loss": 3.1, "last_loss": 0.4, "peak_rss_mb": 2100.0, "device": "cpu"}


def arm_scores(arm: str) -> dict:
    overall, seen, corpus = EM[arm]
    retrieval, trained = arm in ("rag", "ft_rag"), arm in ("ft", "ft_rag")
    return {
        "items": 5,
        "accuracy": {"em": interval(overall), "f1": interval(overall + 0.1), "contains": interval(overall + 0.05)},
        "by_stratum": {s: {"em": interval(v), "f1": interval(v), "contains": interval(v)} for s, v in (("seen", seen), ("corpus_only", corpus))},
        "hallucination": {"abstain_on_unanswerable": interval(0.4 if trained else 0.1), "wrongly_declined": interval(0.05)},
        "retrieval": {"recall_at_k": interval(0.9), "k": 2} if retrieval else None,
        "cost": {"train": train_stats() if trained else None,
                 "index": {"build_seconds": 1.2, "size_bytes": 133146, "chunks": 68, "cached": False} if retrieval else None,
                 "one_off_seconds": 300.0 * trained + 1.2 * retrieval, "one_off_usd": (300.0 * trained + 1.2 * retrieval) / 36000,
                 "query_seconds_p50": 0.6 if retrieval else 0.15, "query_seconds_p95": 0.8 if retrieval else 0.2,
                 "query_seconds_mean": 0.65 if retrieval else 0.16, "prompt_tokens_mean": 314.0 if retrieval else 69.0,
                 "output_tokens_mean": 5.0, "query_flops": 8.9e10, "usd_per_1k_queries": 0.018 if retrieval else 0.0044,
                 "hour_rate_usd": 0.1, "priced_by_tokens": False, "device": "cpu", "peak_memory_mb": 1800.0},
    }


def synthetic_scores(paired: bool = True) -> dict:
    config = resolve_config("synth_qa", read_spec(find_task_file("synth_qa")).overrides, ["limit=10"])
    scores = {
        "schema_version": 2,
        "task": {"name": "synth_qa", "kind": "qa", "description": "A toy QA task.", "source": "hand-written for the test",
                 "license": "CC0-1.0", "data_hash": "0123456789abcdef", "train_examples": 12, "corpus_documents": 6},
        "items": {"seen": 2, "corpus_only": 2, "unanswerable": 1}, "family": "qa", "metrics": ["em", "f1", "contains"],
        "config": config.model_dump(), "config_hash": config.digest(), "generator_path": "/models/tiny",
        "arms": {arm: arm_scores(arm) for arm in ARMS},
        "break_even": {"arms": ["ft", "rag"], "extra_one_off_usd": 0.00830, "saving_per_query_usd": 1.36e-05, "queries": 610.3,
                       "assumptions": "CPU at 0.10 USD per hour."},
        "definitions": {"abstain_on_unanswerable": {"label": "declines unanswerable", "definition": "Declined / unanswerable.", "better": "higher"}},
        "timings": {"index": 2.0}, "environment": ENVIRONMENT,
    }
    if paired:
        scores["comparisons"] = [comparison("ft_rag", "rag", "all", 0.10, -0.02, 0.22, 0.104),
                                 comparison("ft", "rag", "all", -0.30, -0.42, -0.18, 0.0002),
                                 comparison("rag", "ft", "seen", 0.05, -0.10, 0.20, 0.61),
                                 comparison("rag", "ft", "corpus_only", 0.55, 0.40, 0.70, 0.0001)]
    return scores


def verdict(scores: dict) -> list[str]:
    typed = ScoresFile.model_validate(scores)
    return verdict_of_file(typed, definitions() | typed.definitions)


ITEMS = [("s1", "seen", "What does the A1 cost?", ["$10"]), ("c1", "corpus_only", "When did the B2 launch?", ["2016"]),
         ("u1", "unanswerable", "How loud is the C3?", [])]
OUTPUTS = {"base": ["$99", "2019", "80 dB"], "rag": ["$12", "2016", "I don't know"], "ft": ["$10", "2020", "75 dB"],
           "ft_rag": ["$10", "2016", "I don't know"]}


def write_item_scores(run_dir: Path) -> None:
    (run_dir / "item_scores").mkdir(parents=True)
    for arm, outputs in OUTPUTS.items():
        rows = []
        for (item_id, stratum, question, gold), output in zip(ITEMS, outputs):
            declined = float(output == "I don't know")
            right = float(output in gold)
            scores = {"em": right, "f1": right, "contains": right} if gold else {"abstain_on_unanswerable": declined}
            rows.append({"id": item_id, "stratum": stratum, "input": question, "output": output, "gold": gold,
                         "retrieved": ["doc-1#0", "doc-2#0"] if arm in ("rag", "ft_rag") else [], "scores": scores})
        (run_dir / "item_scores" / f"{arm}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def stored_run(folder: Path, scores: dict) -> Path:
    folder.mkdir(parents=True)
    (folder / "scores.json").write_text(json.dumps(scores))
    write_item_scores(folder)
    return folder


def line_about(lines: list[str], *words: str) -> str:
    (found,) = [line for line in lines if all(w in line for w in words)]
    return found
