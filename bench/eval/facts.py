"""Facts in free text: the facts a draft is scored on, and the hallucination checks that compare the values an
answer states with the item's own evidence (support, contradiction).

>>> evidence = Evidence.of_values(["$79", "15 months", "Zoral Mode 8"])
>>> unsupported_units("The Matal Brew 8 costs $89 and pairs with the Zoral Mode 8.", evidence, "What does the Matal Brew 8 cost?")
(2, 1)
>>> draft_contradicts("Its warranty is 12 months and it costs $79.", ["15 months", "$79"])
True
"""
from __future__ import annotations

from dataclasses import dataclass

from bench.eval.answers import mentions, normalize_answer
from bench.data.values import Value, find_values, value_keys
from bench.records.items import Doc, Example

CONFIDENT = 0.8  # a classification answer at or above this probability counts as confident
# a bare number or a name says too little of what it measures to contradict a fact of another kind
UNCOMPARABLE = frozenset({"number", "name"})


def derive_key_facts(reference: str) -> list[str]:
    """Values (with their units) and multi-word names in a reference, when a task does not list its facts.

    >>> derive_key_facts("The Matal Brew 8 costs $79 and has a 15 months warranty.")
    ['Matal Brew 8', '$79', '15 months']
    """
    return list(dict.fromkeys(v.text for v in find_values(reference)))


def required_facts(item: Example) -> list[str]:
    """The facts a draft is scored on: the task's list, else those derived from the reference that the input does
    not already state (QMSum's queries name the speakers its references name: echoing the query is no recall).

    >>> required_facts(Example("1", "What did Project Manager say about the Matal Brew 8?", ("Project Manager set $79.",)))
    ['$79']
    """
    if item.facts:
        return list(item.facts)
    given = f" {normalize_answer(item.input)} "
    return [f for f in derive_key_facts(item.targets[0]) if f" {normalize_answer(f)} " not in given]


def fact_recall(draft: str, facts: list[str]) -> float:
    """Share of required facts the draft states (in any surface form of the same value).

    >>> fact_recall("It costs 79 dollars; warranty 15 months.", ["$79", "15 months", "30 days"])
    0.6666666666666666
    """
    if not facts:
        return float("nan")
    return sum(mentions(draft, fact) for fact in facts) / len(facts)


@dataclass(frozen=True)
class Evidence:
    """What an item's answer may truthfully state: the item's known values (a task's `fields.evidence`, e.g. every
    fact of the product asked about), else the text of its gold documents, else of the chunks the arm was given."""
    keys: frozenset[tuple[str, str]]  # (kind, canonical key) of every value the evidence states
    text: str  # normalised, for names

    @classmethod
    def of_values(cls, values: list[str]) -> Evidence:
        return cls(frozenset(value_keys(values)), " " + " ".join(normalize_answer(v) for v in values) + " ")

    @classmethod
    def of_docs(cls, docs: list[Doc]) -> Evidence:
        return cls.of_values([f"{d.title}. {d.text}" for d in docs])

    def supports(self, value: Value) -> bool:
        if value.kind == "name":
            return f" {normalize_answer(value.text)} " in self.text
        if value.kind == "number":  # "36" is supported by "36 months"
            return any(key == value.key for _, key in self.keys)
        return (value.kind, value.key) in self.keys

    def comparable_kinds(self) -> set[str]:
        return {kind for kind, _ in self.keys} - UNCOMPARABLE


def new_values(output: str, question: str) -> list[Value]:
    """The values an output states that its question did not already state (repeating the product name is no fact)."""
    asked = value_keys([question])
    return [v for v in find_values(output) if (v.kind, v.key) not in asked]


def unsupported_units(output: str, evidence: Evidence, question: str = "") -> tuple[int, int]:
    """(values the output states beyond its question, how many of them its evidence does not state)."""
    units = new_values(output, question)
    return len(units), sum(not evidence.supports(v) for v in units)


def draft_contradicts(draft: str, facts: list[str], evidence: Evidence | None = None, question: str = "") -> bool:
    """The draft states a value of a kind the evidence knows (a price, a number of months) that the evidence does
    not hold: a wrong value. Without evidence, the required facts stand for it."""
    evidence = evidence or Evidence.of_values(facts)
    kinds = evidence.comparable_kinds()
    return any(v.kind in kinds and not evidence.supports(v) for v in new_values(draft, question))
