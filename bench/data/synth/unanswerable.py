"""Unanswerable questions: unstated policies, attributes a product lacks, and products that do not exist."""
from __future__ import annotations

import random
from dataclasses import dataclass

from bench.data.synth.attributes import _ask
from bench.data.synth.catalogue import (
    CATEGORIES, MODEL_WORDS, SPECIAL_ATTRIBUTES, TOO_CLOSE_TO_CALL_MISSING, UNSTATED_POLICIES, product_attributes,
)
from bench.data.synth.kb import KnowledgeBase

# Unanswerable questions of each kind: (training pairs, probe items).
UNANSWERABLE_SPLIT = {"unstated_policy": (4, 10), "missing_attribute": (5, 15), "unknown_product": (6, 15)}


@dataclass(frozen=True)
class Unanswerable:
    entity: str
    attribute: str  # an attribute the knowledge base does not hold for this entity
    question: str


def unanswerable_questions(kb: KnowledgeBase, seed: int) -> tuple[list[Unanswerable], list[Unanswerable]]:
    """(training questions, probe questions) whose answer the knowledge base does not hold.

    Three kinds: company policies no page states, attributes a product does not
    have (the battery life of a kettle), and products that do not exist but
    are named like the real ones. The two lists share no entity-attribute pair.
    Training questions take the training wording and probes the test wording,
    exactly like the answerable questions, so the wording never tells whether
    a question has an answer.
    """
    rng = random.Random(f"{seed}/unanswerable")
    sizes = {kind: n_train + n_probe for kind, (n_train, n_probe) in UNANSWERABLE_SPLIT.items()}
    pools = {
        "unstated_policy": _unstated_policy_asks(kb, rng, sizes["unstated_policy"]),
        "missing_attribute": _missing_attribute_asks(kb, rng, sizes["missing_attribute"]),
        "unknown_product": _unknown_product_asks(kb, rng, sizes["unknown_product"]),
    }
    train: list[Unanswerable] = []
    probe: list[Unanswerable] = []
    for kind, (n_train, _n_probe) in UNANSWERABLE_SPLIT.items():
        train += [_question(kb, entity, attribute, test_wording=False) for entity, attribute in pools[kind][:n_train]]
        probe += [_question(kb, entity, attribute, test_wording=True) for entity, attribute in pools[kind][n_train:]]
    rng.shuffle(probe)  # mix the kinds, so the first N probes are a fair sample
    return train, probe


def _question(kb: KnowledgeBase, entity: str, attribute: str, test_wording: bool) -> Unanswerable:
    if attribute in UNSTATED_POLICIES:
        question = UNSTATED_POLICIES[attribute][test_wording].format(company=kb.company)
    else:
        question = _ask(attribute, entity, kb.company, paraphrase=test_wording)
    return Unanswerable(entity, attribute, question)


def _unstated_policy_asks(kb: KnowledgeBase, rng: random.Random, count: int) -> list[tuple[str, str]]:
    asks = [(kb.company, attribute) for attribute in UNSTATED_POLICIES]
    if count > len(asks):
        raise ValueError(f"asked for {count} unstated-policy questions, only {len(asks)} exist")
    rng.shuffle(asks)
    return asks[:count]


def _missing_attribute_asks(kb: KnowledgeBase, rng: random.Random, count: int) -> list[tuple[str, str]]:
    candidates = [
        (product.name, attribute)
        for product in kb.products
        for attribute in SPECIAL_ATTRIBUTES
        if attribute != CATEGORIES[product.category].special
        and (CATEGORIES[product.category].special, attribute) not in TOO_CLOSE_TO_CALL_MISSING
    ]
    return rng.sample(candidates, count)


def _unknown_product_asks(kb: KnowledgeBase, rng: random.Random, count: int) -> list[tuple[str, str]]:
    return [
        (name, rng.choice(product_attributes(CATEGORIES[category])))
        for name, category in _unknown_product_names(kb, rng, count)
    ]


def _unknown_product_names(kb: KnowledgeBase, rng: random.Random, count: int) -> list[tuple[str, str]]:
    """Names built from the real product lines and model words, so they look like siblings of real products."""
    lines = sorted({p.name.split()[0] for p in kb.products})
    taken = {product.name for product in kb.products}
    chosen: list[tuple[str, str]] = []
    while len(chosen) < count:
        category = rng.choice(list(CATEGORIES))
        name = f"{rng.choice(lines)} {rng.choice(MODEL_WORDS)} {rng.randint(2, 9)}"
        if name not in taken:
            taken.add(name)
            chosen.append((name, category))
    return chosen
