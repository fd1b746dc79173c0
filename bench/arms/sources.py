"""Context sources: what each arm puts in its prompt (nothing, fixed few-shot examples, retrieved chunks or the
nearest labeled examples), around the prompt skeleton every arm shares. The fine-tuned arms' training pairs are
built with the same `Sources.prompt`, so they train on the prompts they answer."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass

from bench.arms.prompts import build_user_text, chunks_block, examples_block
from bench.models.loading import format_prompt
from bench.records.arms import Arm
from bench.records.items import Doc, Example
from bench.retrieval.chunks import Chunk
from bench.retrieval.index import Retriever


@dataclass(frozen=True)
class PromptedItem:
    item: Example
    prompt: str
    retrieved: tuple[Chunk, ...] = ()
    neighbours: tuple[str, ...] = ()  # ids of training examples shown (few-shot or kNN)
    retrieval_seconds: float = 0.0  # this item's share of the batch's query embedding and search


class ExampleIndex:
    """Nearest labeled training examples of a query (kNN in-context learning for classification)."""

    def __init__(self, retriever: Retriever, examples: list[Example]):
        self.retriever, self.by_id = retriever, {ex.id: ex for ex in examples}

    def nearest(self, queries: list[str], k: int, exclude: list[str] | None = None) -> list[list[Example]]:
        found = self.retriever.search(queries, k + 1)
        exclude = exclude or [""] * len(queries)
        return [[self.by_id[c.doc_id] for c in row if c.doc_id != skip][:k] for row, skip in zip(found, exclude)]


def examples_as_docs(examples: list[Example]) -> list[Doc]:
    return [Doc(ex.id, "", ex.input) for ex in examples]


@dataclass
class Sources:
    """Everything an arm may put in a prompt, built once per run."""

    kind: str
    instruction: str
    tokenizer: object
    shots: list[Example]
    k: int
    knn_k: int
    retriever: Retriever | None = None  # corpus chunks
    example_index: ExampleIndex | None = None  # kNN training examples (classification)

    def prompt(self, item_input: str, chunks: list[Chunk], examples: list[Example]) -> str:
        blocks = []
        if chunks:
            blocks.append(chunks_block([(c.title, c.text) for c in chunks]))
        if examples:
            blocks.append(examples_block(examples, self.kind))
        return format_prompt(self.tokenizer, build_user_text(item_input, self.instruction, "\n\n".join(blocks)))


def fewshot_examples(train: list[Example], k: int, seed: int) -> list[Example]:
    """The same k training examples for every item (fixed by the seed), answerable ones only."""
    rng = random.Random(seed)
    answerable = [ex for ex in train if ex.answerable]
    return rng.sample(answerable, min(k, len(answerable)))


def own_examples(items: list[Example], src: Sources) -> list[str]:
    """Per item, its id where it is itself a training example (the fit check asks them), else "": it is left out of
    its own kNN examples, as training left it out (training.pairs.raft_pairs). Shown its own answer as the nearest
    example, synth_cls's `ft_rag`, never trained so, answered otherwise for 14 of 60: fit 76.7%, not 81.7%."""
    index = src.example_index
    return [it.id if index and index.by_id.get(it.id) == it else "" for it in items]


def build_prompts(arm: Arm, items: list[Example], src: Sources) -> list[PromptedItem]:
    queries = [it.input for it in items]
    began = time.perf_counter()
    chunks = src.retriever.search(queries, src.k) if arm.retrieves and src.retriever else [[] for _ in items]
    if arm.retrieves and src.example_index:
        examples = src.example_index.nearest(queries, src.knn_k, own_examples(items, src))
    else:
        examples = [src.shots if arm.context == "fewshot" else [] for _ in items]
    retrieval = (time.perf_counter() - began) / len(items) if arm.retrieves else 0.0
    return [PromptedItem(item, src.prompt(item.input, c, e), tuple(c), tuple(ex.id for ex in e), retrieval)
            for item, c, e in zip(items, chunks, examples)]
