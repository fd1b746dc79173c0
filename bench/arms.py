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
from bench.retrieval import Chunk, Retriever
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


def fewshot_examples(train: list[Example], k: int, seed: int) -> list[Example]:
    """The same k training examples for every item (fixed by the seed), answerable ones first."""
    rng = random.Random(seed)
    answerable = [ex for ex in train if ex.answerable]
    return rng.sample(answerable, min(k, len(answerable)))


def answer_of(example: Example) -> str:
    return example.targets[0] if example.targets else ABSTAIN_ANSWER


def build_prompts(arm: Arm, items: list[Example], tokenizer, instruction: str, retriever: Retriever | None,
                  shots: list[Example], k: int) -> list[PromptedItem]:
    retrieved = retriever.search([it.input for it in items], k) if arm.context == "retrieval" else [[] for _ in items]
    prompted = []
    for item, chunks in zip(items, retrieved):
        if arm.context == "retrieval":
            context = chunks_block([(c.title, c.text) for c in chunks])
        elif arm.context == "fewshot":
            context = examples_block(shots)
        else:
            context = ""
        text = build_user_text(item.input, instruction, context)
        prompted.append(PromptedItem(item, format_prompt(tokenizer, text), tuple(chunks)))
    return prompted


def ft_pairs(train: list[Example], corpus: list[Doc], tokenizer, instruction: str, epochs: int, corpus_epochs: int) -> list[TrainPair]:
    """Closed-book QA pairs (as the `ft` arm is asked) plus the corpus as plain text (knowledge fine-tuning)."""
    qa = [TrainPair(format_prompt(tokenizer, build_user_text(ex.input, instruction, "")), answer_of(ex)) for ex in train]
    docs = [TrainPair("", f"{doc.title}\n{doc.text}" if doc.title else doc.text) for doc in corpus]
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


def raft_pairs(train: list[Example], retriever: Retriever, tokenizer, instruction: str, distractors: int,
               gold_fraction: float, epochs: int, seed: int) -> list[TrainPair]:
    """Each epoch draws fresh contexts, so the adapter learns to find the answer, not a position."""
    rng = random.Random(seed)
    chunks_by_doc: dict[str, list[Chunk]] = {}
    for chunk in retriever.chunks:
        chunks_by_doc.setdefault(chunk.doc_id, []).append(chunk)
    retrieved = retriever.search([ex.input for ex in train], distractors + 8)
    pairs = []
    for _ in range(epochs):
        for ex, found in zip(train, retrieved):
            chunks = raft_context(gold_chunk(ex, chunks_by_doc), found, ex.gold_docs, distractors, rng.random() < gold_fraction, rng)
            text = build_user_text(ex.input, instruction, chunks_block([(c.title, c.text) for c in chunks]))
            pairs.append(TrainPair(format_prompt(tokenizer, text), answer_of(ex)))
    return pairs
