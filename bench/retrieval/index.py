"""Embed chunks with sentence-transformers, index them with FAISS, search them; each index cached by its inputs."""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict
from pathlib import Path

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
    return SentenceTransformer(path, device=device)


def embed(embedder, texts: list[str], progress: bool = False) -> np.ndarray:
    vectors = embedder.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=progress, convert_to_numpy=True)
    return np.ascontiguousarray(vectors, dtype=np.float32)


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
    index.add(vectors)
    return index


class Retriever:
    def __init__(self, folder: Path, embedder):
        self.index = faiss.read_index(str(folder / "index.faiss"))
        self.chunks = [Chunk(**json.loads(line)) for line in (folder / "chunks.jsonl").read_text().splitlines()]
        self.embedder = embedder

    def search(self, queries: list[str], k: int) -> list[list[Chunk]]:
        _, ids = self.index.search(embed(self.embedder, queries), k)
        return [[self.chunks[i] for i in row if i >= 0] for row in ids]


def build_retriever(docs: list[Doc], embedder_name: str, embedder, cfg: RetrievalConfig) -> tuple[Retriever, IndexStats]:
    """Build (or reuse) the index for this corpus, embedder and chunking; report what building it cost."""

    def build(tmp: Path) -> None:
        start = time.perf_counter()
        chunks = chunk_docs(docs, cfg.chunk_words, cfg.chunk_overlap)
        vectors = embed(embedder, [f"{c.title}: {c.text}" if c.title else c.text for c in chunks], progress=True)
        faiss.write_index(make_index(vectors, cfg.index), str(tmp / "index.faiss"))
        (tmp / "chunks.jsonl").write_text("".join(json.dumps(asdict(c)) + "\n" for c in chunks))
        atomic_write_json(tmp / "stats.json", {"chunks": len(chunks), "build_seconds": time.perf_counter() - start})

    key = stage_key("index", [asdict(d) for d in docs], embedder_name, cfg.model_dump())
    folder, cached = cached_dir("index", key, build)
    stats = read_json(folder / "stats.json")
    size = sum(p.stat().st_size for p in folder.iterdir() if p.name != "stats.json")
    return Retriever(folder, embedder), IndexStats(chunks=stats["chunks"], build_seconds=stats["build_seconds"], size_bytes=size, cached=cached)
