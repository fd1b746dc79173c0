"""The FAISS index choice at scale: build time, memory, query latency and recall@k against flat search.

    .venv/bin/python benchmarks/index_scale.py [--n 1000000] [--queries 1000] [--k 10] [--kinds flat,ivf,hnsw]

The vectors are synthetic: 384 dimensions (all-MiniLM-L6-v2's), drawn around 2,000 seeded cluster centres and
normalised, so neighbours are as clumped as real sentence embeddings are (uniform random vectors would make every
approximate index look bad: nothing is near anything). Embedding a million real chunks would take this machine hours
and measure the embedder, not the index. Queries are new draws from the same clusters; the truth is flat search.

Each index is built with the product's own settings (bench/retrieval/index.py: make_index), so the figures are the
ones `retrieval.index` gets. With faiss-gpu installed and a GPU present, the flat index is measured on the GPU too.
HNSW is measured at the product's search depth (efSearch, HNSW_SEARCH_DEPTH) and
at others on the same graph (their build column is 0). Memory is the index's own size (what it holds in RAM:
vectors, lists, graph), read from its serialised form.
"""
from __future__ import annotations

import argparse
import time

import faiss
import numpy as np

from bench.retrieval.index import make_index

DIM = 384
CENTRES = 2000


def vectors(n: int, rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
    """n unit vectors, each near a random centre (noise about as large as the spread between centres' neighbours)."""
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):  # in blocks: the float64 noise of a million rows would be 3 GB
        rows = min(100_000, n - start)
        block = centres[rng.integers(0, len(centres), rows)] + rng.normal(0, 0.04, (rows, DIM)).astype(np.float32)
        out[start : start + rows] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def measure(name: str, build, queries: np.ndarray, truth: np.ndarray | None, k: int) -> tuple[object, np.ndarray]:
    began = time.perf_counter()
    index = build()
    build_s = time.perf_counter() - began
    memory = faiss.serialize_index(faiss.index_gpu_to_cpu(index) if "gpu" in name else index).nbytes / 2**20
    index.search(queries[:10], k)  # warm up
    began = time.perf_counter()
    found = np.vstack([index.search(q[None, :], k)[1] for q in queries])  # one query at a time, as a user asks
    latency_ms = 1000 * (time.perf_counter() - began) / len(queries)
    recall = 1.0 if truth is None else float(np.mean([len(set(f) & set(t)) / k for f, t in zip(found, truth)]))
    print(f"{name:<10}{build_s:>10.1f}{memory:>12,.0f}{latency_ms:>12.2f}{100 * recall:>11.1f}%", flush=True)
    return index, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="chunks in the index")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--kinds", default="flat,ivf,hnsw")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    centres = rng.normal(0, 1 / np.sqrt(DIM), (CENTRES, DIM)).astype(np.float32)
    began = time.perf_counter()
    corpus, queries = vectors(args.n, rng, centres), vectors(args.queries, rng, centres)
    print(f"{args.n:,} vectors of {DIM} dims ({corpus.nbytes / 2**20:,.0f} MB) in {time.perf_counter() - began:.0f} s; "
          f"{args.queries} queries one at a time, k={args.k}, {faiss.omp_get_max_threads()} threads")
    print(f"{'index':<10}{'build s':>10}{'memory MB':>12}{'ms/query':>12}{'recall@k':>12}")
    flat, truth = measure("flat", lambda: make_index(corpus, "flat"), queries, None, args.k)  # the truth for the rest
    if getattr(faiss, "get_num_gpus", lambda: 0)():
        measure("flat-gpu", lambda cpu=flat: faiss.index_cpu_to_all_gpus(cpu), queries, truth, args.k)
    del flat
    for kind in (kind for kind in args.kinds.split(",") if kind != "flat"):
        index, _ = measure(kind, lambda kind=kind: make_index(corpus, kind), queries, truth, args.k)
        if kind == "hnsw":  # the search depth trades latency for recall; the product sets HNSW_SEARCH_DEPTH
            for depth in (16, 64, 128):
                index.hnsw.efSearch = depth
                measure(f"  ef={depth}", lambda built=index: built, queries, truth, args.k)
        del index


if __name__ == "__main__":
    main()
