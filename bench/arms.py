"""Arms: a composition of model weights (base or a fine-tuned adapter) and a context source.

The fine-tuned arms' training data is built here too, with the same prompt skeleton their inference uses.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from bench.finetune import TrainPair
from bench.models import format_prompt
from bench.prompts import ABSTAIN_ANSWER, build_user_text, chunks_block, examples_block
from bench.retrieval import Chunk, Retriever, chunk_docs
from bench.tasks import Doc, Example


@dataclass(frozen=True)
class Arm:
    name: str
    weights: Literal["base", "ft", "ft_rag"]
    context: Literal["none", "fewshot", "retrieval"]


ARMS = {
    "base": Arm("base", "base", "none"),
    "fewshot": Arm("fewshot", "base", "fewshot"),
    "rag": Arm("rag", "base", "retrieval"),
    "ft": Arm("ft", "ft", "none"),
    "ft_rag": Arm("ft_rag", "ft_rag", "retrieval"),
}


@dataclass(frozen=True)
class PromptedItem:
    item: Example
    prompt: str
    retrieved: tuple[Chunk, ...] = ()
    neighbours: tuple[str, ...] = ()  # ids of training examples shown (few-shot or kNN)


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


def answer_of(example: Example) -> str:
    return example.targets[0] if example.targets else ABSTAIN_ANSWER


def build_prompts(arm: Arm, items: list[Example], src: Sources) -> list[PromptedItem]:
    queries = [it.input for it in items]
    chunks = src.retriever.search(queries, src.k) if arm.context == "retrieval" and src.retriever else [[] for _ in items]
    if arm.context == "retrieval" and src.example_index:
        examples = src.example_index.nearest(queries, src.knn_k)
    else:
        examples = [src.shots if arm.context == "fewshot" else [] for _ in items]
    return [PromptedItem(item, src.prompt(item.input, c, e), tuple(c), tuple(ex.id for ex in e))
            for item, c, e in zip(items, chunks, examples)]


# Corpus text for knowledge fine-tuning is cut into windows of this many words (~260 tokens), so a long
# document is learned whole rather than cut to its last max_length tokens.
CORPUS_WINDOW_WORDS = 200


def ft_pairs(train: list[Example], corpus: list[Doc], src: Sources, epochs: int, corpus_epochs: int) -> list[TrainPair]:
    """Closed-book pairs (as the `ft` arm is asked) plus the corpus as plain text (knowledge fine-tuning)."""
    qa = [TrainPair(src.prompt(ex.input, [], []), answer_of(ex)) for ex in train]
    windows = chunk_docs(corpus, CORPUS_WINDOW_WORDS, 0) if corpus_epochs else []
    docs = [TrainPair("", f"{w.title}\n{w.text}" if w.title else w.text) for w in windows]
    return qa * epochs + docs * corpus_epochs


def gold_chunk(example: Example, chunks_by_doc: dict[str, list[Chunk]]) -> Chunk | None:
    """The gold document's chunk that states the answer (its first chunk when none quotes it)."""
    gold = [c for doc_id in example.gold_docs for c in chunks_by_doc.get(doc_id, [])]
    answer = answer_of(example).lower()
    return next((c for c in gold if answer in c.text.lower()), gold[0] if gold else None)


def raft_context(gold: Chunk | None, retrieved: list[Chunk], gold_docs: tuple[str, ...], distractors: int,
                 keep_gold: bool, rng: random.Random) -> list[Chunk]:
    """RAFT: the gold chunk (when kept) among retrieved distractors from other documents, in random order.
    Without a gold chunk (no annotation, or unanswerable) the context is the plain retrieval result."""
    if gold is None:
        chosen = retrieved[: distractors + 1]
    else:
        others = [c for c in retrieved if c.doc_id not in gold_docs]
        chosen = [gold] + others[:distractors] if keep_gold else others[: distractors + 1]
    chosen = list(chosen)
    rng.shuffle(chosen)
    return chosen


def raft_pairs(train: list[Example], src: Sources, gold_fraction: float, epochs: int, seed: int) -> list[TrainPair]:
    """Training prompts with the context `ft_rag` will see: k chunks, the gold one among k - 1 distractors.
    Each epoch draws fresh contexts, so the adapter learns to find the answer, not a position; kNN examples
    never include the example itself."""
    rng, distractors = random.Random(seed), src.k - 1
    queries = [ex.input for ex in train]
    chunks_by_doc: dict[str, list[Chunk]] = {}
    retrieved: list[list[Chunk]] = [[] for _ in train]
    if src.retriever:
        for chunk in src.retriever.chunks:
            chunks_by_doc.setdefault(chunk.doc_id, []).append(chunk)
        retrieved = src.retriever.search(queries, distractors + 8)
    neighbours = src.example_index.nearest(queries, src.knn_k, [ex.id for ex in train]) if src.example_index else [[] for _ in train]
    pairs = []
    for _ in range(epochs):
        for ex, found, near in zip(train, retrieved, neighbours):
            chunks = raft_context(gold_chunk(ex, chunks_by_doc), found, ex.gold_docs, distractors, rng.random() < gold_fraction, rng) if src.retriever else []
            pairs.append(TrainPair(src.prompt(ex.input, chunks, near), answer_of(ex)))
    return pairs
