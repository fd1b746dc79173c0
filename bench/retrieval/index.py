"""Search a corpus's chunks three ways: dense (sentence-transformers embeddings in FAISS), BM25 (bm25s: exact
words, where a small embedder is weakest, e.g. product names like "Kulker Mode 3"), or hybrid (both, fused by
reciprocal rank). One cached index artifact holds both, keyed by what determines it."""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict
from pathlib import Path

import bm25s
import faiss
import numpy as np
from sentence_transformers import SentenceTransformer

from bench.records.cache import cached_dir, stage_key
from bench.records.config import RetrievalConfig
from bench.records.io import atomic_write_json, read_json
from bench.records.items import Doc
from bench.records.manifest import IndexStats
from bench.retrieval.chunks import Chunk, chunk_docs


def load_embedder(path: str, device: str):
    # weights are data: no repository code runs, nothing is unpickled (safetensors only)
    return SentenceTransformer(path, device=device, trust_remote_code=False, model_kwargs={"use_safetensors": True})


def embed(embedder, texts: list[str], progress: bool = False) -> np.ndarray:
    vectors = embedder.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=progress, convert_to_numpy=True)
    return np.ascontiguousarray(vectors, dtype=np.float32)


HNSW_SEARCH_DEPTH = 256


def make_index(vectors: np.ndarray, kind: str):
    """Inner product on normalised vectors (cosine). IVF and HNSW are for corpora where flat search is too slow."""
    dim = vectors.shape[1]
    if kind == "flat" or len(vectors) < 1000:
        index = faiss.IndexFlatIP(dim)
    elif kind == "ivf":
        nlist = int(math.sqrt(len(vectors)))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.nprobe = min(32, nlist)
    else:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        # the true top 10 among 1M clustered chunks found at search depth 16 (faiss's default), 64, 128, 256: 61, 79,
        # 85, 90% at 0.33, 0.65, 0.91, 1.22 ms a query (benchmarks/index_scale.py); a query's generation takes seconds
        index.hnsw.efSearch = HNSW_SEARCH_DEPTH
    index.add(vectors)
    return index


# a single letter or digit is a word here: "Mode 3" and "Mode 8" must differ
BM25_TOKENS = r"(?u)\b\w+\b"
RRF_K = 60  # reciprocal rank fusion's constant (Cormack et al., 2009)


def bm25_tokens(texts: list[str]) -> list[list[str]]:
    return bm25s.tokenize(texts, token_pattern=BM25_TOKENS, stopwords="en", return_ids=False, show_progress=False)


def fuse(rankings: list[list[int]], k: int) -> list[int]:
    """Reciprocal rank fusion: each list adds 1 / (RRF_K + rank) to an item's score; the top k by score.

    >>> fuse([[3, 1, 2], [1, 2, 4]], 2)
    [1, 3]
    """
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + 1 / (RRF_K + rank)
    return sorted(scores, key=lambda item: -scores[item])[:k]


class Retriever:
    def __init__(self, folder: Path, embedder, method: str = "dense"):
        self.index = faiss.read_index(str(folder / "index.faiss"))
        self.bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False)
        self.chunks = [Chunk(**json.loads(line)) for line in (folder / "chunks.jsonl").read_text().splitlines()]
        self.embedder, self.method = embedder, method
        self.key = folder.name  # the index's cache key: a hash of the documents, embedder and chunking it was built from

    def dense(self, queries: list[str], k: int) -> list[list[int]]:
        _, ids = self.index.search(embed(self.embedder, queries), min(k, len(self.chunks)))
        return [[int(i) for i in row if i >= 0] for row in ids]

    def sparse(self, queries: list[str], k: int) -> list[list[int]]:
        ids, scores = self.bm25.retrieve(bm25_tokens(queries), k=min(k, len(self.chunks)), show_progress=False, n_threads=1)
        return [[int(i) for i, score in zip(row, row_scores) if score > 0] for row, row_scores in zip(ids, scores)]  # 0: no word shared

    def search(self, queries: list[str], k: int) -> list[list[Chunk]]:
        if self.method == "dense":
            found = self.dense(queries, k)
        elif self.method == "bm25":
            found = self.sparse(queries, k)
        else:  # hybrid: each method's top candidates, fused
            pool = max(4 * k, 20)
            found = [fuse([d, s], k) for d, s in zip(self.dense(queries, pool), self.sparse(queries, pool))]
        return [[self.chunks[i] for i in row] for row in found]


def build_retriever(docs: list[Doc], embedder_name: str, embedder, cfg: RetrievalConfig) -> tuple[Retriever, IndexStats]:
    """Build (or reuse) the index for this corpus, embedder and chunking; report what building it cost."""

    def build(tmp: Path) -> None:
        start = time.perf_counter()
        chunks = chunk_docs(docs, cfg.chunk_words, cfg.chunk_overlap)
        vectors = embed(embedder, [f"{c.title}: {c.text}" if c.title else c.text for c in chunks], progress=True)
        faiss.write_index(make_index(vectors, cfg.index), str(tmp / "index.faiss"))
        bm25 = bm25s.BM25()
        bm25.index(bm25_tokens([f"{c.title} {c.text}" for c in chunks]), show_progress=False)
        bm25.save(str(tmp / "bm25"), show_progress=False)
        (tmp / "chunks.jsonl").write_text("".join(json.dumps(asdict(c)) + "\n" for c in chunks))
        atomic_write_json(tmp / "stats.json", {"chunks": len(chunks), "build_seconds": time.perf_counter() - start,
                                               "device": embedder.device.type})

    # what determines the index: not k or the search method, which only change how it is read (HNSW's search depth
    # is stored in its file, so an index of another depth is another index)
    key = stage_key("index", [asdict(d) for d in docs], embedder_name, cfg.chunk_words, cfg.chunk_overlap, cfg.index,
                    *([HNSW_SEARCH_DEPTH] if cfg.index == "hnsw" else []))
    folder, cached = cached_dir("index", key, build)
    stats = read_json(folder / "stats.json")
    size = sum(p.stat().st_size for p in folder.iterdir() if p.name != "stats.json")
    return Retriever(folder, embedder, cfg.method), IndexStats(chunks=stats["chunks"], build_seconds=stats["build_seconds"], size_bytes=size,
                                                   cached=cached, device=stats.get("device", "cpu"))
