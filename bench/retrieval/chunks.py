"""Cutting documents into overlapping word windows: the unit retrieval returns and prompts show."""
from __future__ import annotations

from dataclasses import dataclass

from bench.records.items import Doc


@dataclass(frozen=True)
class Chunk:
    id: str  # "<doc id>#<n>"
    doc_id: str
    title: str
    text: str


def chunk_docs(docs: list[Doc], words: int, overlap: int) -> list[Chunk]:
    """Overlapping word windows; a document shorter than one window stays whole."""
    step = max(1, words - overlap)
    chunks = []
    for doc in docs:
        tokens = doc.text.split()
        starts = range(0, max(1, len(tokens) - overlap), step) if len(tokens) > words else [0]
        for n, start in enumerate(starts):
            chunks.append(Chunk(f"{doc.id}#{n}", doc.id, doc.title, " ".join(tokens[start : start + words])))
    return chunks
