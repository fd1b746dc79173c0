"""The training pairs of each fine-tuned arm, in the prompts that arm answers with: closed-book QA pairs plus the
corpus text for `ft`; RAFT-style pairs (the gold chunk among retrieved distractors) for `ft_rag`."""
from __future__ import annotations

import random

from bench.arms.sources import Sources
from bench.records.config import FinetuneConfig
from bench.records.items import Doc, Example
from bench.retrieval.chunks import Chunk, chunk_docs
from bench.training.finetune import TrainPair, TrainPlan


def training_sample(train: list[Example], limit: int | None, seed: int) -> list[Example]:
    """At most `limit` training examples, a seeded sample taken evenly across targets (labels stay balanced)."""
    if limit is None or len(train) <= limit:
        return train
    rng = random.Random(seed)
    by_target: dict[str, list[Example]] = {}
    for ex in rng.sample(train, len(train)):
        by_target.setdefault(ex.targets[0] if ex.targets else "", []).append(ex)
    queues = list(by_target.values())
    sample: list[Example] = []
    while len(sample) < limit:  # round robin over targets
        for queue in queues:
            if queue and len(sample) < limit:
                sample.append(queue.pop())
    return sample


# Corpus text for knowledge fine-tuning is cut into windows of this many words (~260 tokens), so a long
# document is learned whole rather than cut to its last max_length tokens.
CORPUS_WINDOW_WORDS = 200


def split_validation(train: list[Example], given: list[Example], cfg: FinetuneConfig, seed: int,
                     hold_out: bool = True) -> tuple[list[Example], list[Example]]:
    """(examples to train on, held-out examples for the stopping rule): the task's validation part when it has one,
    else, with early stopping and `hold_out` on, a seeded slice of the training examples, which are then not trained on."""
    if given or not cfg.early_stopping or not hold_out:
        return train, given[: cfg.validation_max]
    n = min(cfg.validation_max, int(len(train) * cfg.validation_fraction))
    held = {ex.id for ex in random.Random(f"{seed}/validation").sample(train, n)} if n else set()
    return [ex for ex in train if ex.id not in held], [ex for ex in train if ex.id in held]


def closed_book(examples: list[Example], src: Sources) -> list[TrainPair]:
    """The prompts the `ft` arm is asked, with the answer to learn."""
    return [TrainPair(src.prompt(ex.input, [], []), ex.answer) for ex in examples]


def corpus_text(docs: list[Doc]) -> list[TrainPair]:
    """Documents as plain text, in windows: knowledge fine-tuning."""
    return [TrainPair("", f"{w.title}\n{w.text}" if w.title else w.text) for w in chunk_docs(docs, CORPUS_WINDOW_WORDS, 0)]


def ft_plan(train: list[Example], validation: list[Example], docs: list[Doc], src: Sources, epochs: int, corpus_epochs: int) -> TrainPlan:
    """Closed-book pairs for `epochs` epochs, and the documents (the corpus, and its paraphrases when used) for the
    first `corpus_epochs` of them."""
    qa, text = closed_book(train, src), corpus_text(docs) if corpus_epochs else []
    plan = [(qa if e < epochs else []) + (text if e < corpus_epochs else []) for e in range(max(epochs, corpus_epochs))]
    return TrainPlan(plan, closed_book(validation, src))


def gold_chunk(example: Example, chunks_by_doc: dict[str, list[Chunk]]) -> Chunk | None:
    """The gold document's chunk that states the answer (its first chunk when none quotes it)."""
    gold = [c for doc_id in example.gold_docs for c in chunks_by_doc.get(doc_id, [])]
    answer = example.answer.lower()
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


def raft_plan(train: list[Example], validation: list[Example], src: Sources, gold_fraction: float, epochs: int, seed: int) -> TrainPlan:
    """RAFT-style epochs, each with fresh contexts; held-out pairs with the gold chunk kept."""
    pairs = raft_pairs(train, src, gold_fraction, epochs, seed)
    per_epoch = [pairs[e * len(train) : (e + 1) * len(train)] for e in range(epochs)]
    return TrainPlan(per_epoch, raft_pairs(validation, src, 1.0, 1, seed) if validation else [])


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
            pairs.append(TrainPair(src.prompt(ex.input, chunks, near), ex.answer))
    return pairs
