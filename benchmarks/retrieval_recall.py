"""Recall@k of each retrieval method (dense, BM25, hybrid) on the tasks' test items that name gold documents.

    .venv/bin/python benchmarks/retrieval_recall.py [--tasks synth_qa,synth_cls,synth_draft] [--k 1,2,3,5]

Builds (or reuses) each task's index with the task's own chunking, then reads it three ways. Prints one line per
task and method: the share of items whose gold document is among the top k chunks, and the mean query time.
"""
from __future__ import annotations

import argparse
import time

from bench.data.tasks import load_task, select_items
from bench.models.presets import resolve_embedder
from bench.records.config import resolve_config
from bench.retrieval.index import build_retriever, load_embedder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="synth_qa,synth_cls,synth_draft")
    parser.add_argument("--k", default="1,2,3,5")
    parser.add_argument("--limit", type=int, default=None, help="test items per stratum (default: all)")
    args = parser.parse_args()
    ks = [int(k) for k in args.k.split(",")]
    embedder = load_embedder(resolve_embedder("all-minilm-l6-v2"), "cpu")
    print(f"{'task':<12}{'method':<8}{'items':>6}  " + "  ".join(f"recall@{k:<3}" for k in ks) + "  ms/query")
    for name in args.tasks.split(","):
        task = load_task(name)
        cfg = resolve_config(task.name, task.spec.overrides)
        items = [it for it in select_items(task.test, args.limit) if it.gold_docs]
        retriever, _ = build_retriever(task.corpus, cfg.model.embedder, embedder, cfg.retrieval)
        for method in ("dense", "bm25", "hybrid"):
            retriever.method = method
            began = time.perf_counter()
            found = retriever.search([it.input for it in items], max(ks))
            ms = 1000 * (time.perf_counter() - began) / len(items)
            recalls = [sum(bool({c.doc_id for c in row[:k]} & set(it.gold_docs)) for it, row in zip(items, found)) / len(items) for k in ks]
            print(f"{name:<12}{method:<8}{len(items):>6}  " + "  ".join(f"{100 * r:>8.1f}%" for r in recalls) + f"  {ms:8.1f}")


if __name__ == "__main__":
    main()
