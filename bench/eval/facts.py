"""Facts in free text: the units a draft or answer states (numbers with their units, multi-word names), the facts
a draft is scored on, and the hallucination checks built on them (support by the corpus, contradiction).

>>> corpus = CorpusText([Doc("d", "Matal Brew 8", "The Matal Brew 8 costs $79.")])
>>> unsupported_units("The Matal Brew 8 costs $89.", corpus)
(2, 1)
>>> draft_contradicts("Its warranty is 12 months and it costs $79.", ["24 months", "$79"])
True
"""
from __future__ import annotations

import re

from bench.eval.answers import contains_answer, normalize_answer
from bench.records.items import Doc

CONFIDENT = 0.8  # a classification answer at or above this probability counts as confident

_NUMBER_WITH_UNIT = re.compile(
    r"\$?\d[\d,]*(?:\.\d+)?(?:\s?(?:%|percent|kg|g|km|m|cm|mm|mg|ml|minutes?|hours?|days?|weeks?|months?|years?|litres?|liters?|w|watts?|lumens?|mah))?\b",
    re.IGNORECASE,
)
_NAME = re.compile(r"\b[A-Z][\w-]*(?:\s+(?:[A-Z][\w-]*|\d+))+")  # two or more capitalised words: a name


def derive_key_facts(reference: str) -> list[str]:
    """Numbers (with their unit) and multi-word names in a reference, when a task does not list its facts.

    >>> derive_key_facts("The Matal Brew 8 costs $79 and has a 15 months warranty.")
    ['$79', '15 months', 'The Matal Brew 8']
    """
    names = [m.group(0).strip() for m in _NAME.finditer(reference)]
    numbers = [m.group(0).strip() for m in _NUMBER_WITH_UNIT.finditer(reference)]
    # a number inside a name ("Brew 8") is part of that name, not a fact of its own
    numbers = [n for n in numbers if not any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", name) for name in names)]
    return list(dict.fromkeys(f for f in numbers + names if f))


def required_facts(item) -> list[str]:
    """The facts a draft is scored on: the task's list, else those derived from the reference that the input does
    not already state (QMSum's queries name the speakers its references name: echoing the query is no recall).

    >>> from bench.records.items import Example
    >>> required_facts(Example("1", "What did Project Manager say about the Matal Brew 8?", ("Project Manager set $79.",)))
    ['$79']
    """
    if item.facts:
        return list(item.facts)
    given = f" {normalize_answer(item.input)} "
    return [f for f in derive_key_facts(item.targets[0]) if f" {normalize_answer(f)} " not in given]


def fact_recall(draft: str, facts: list[str]) -> float:
    """Share of required facts that appear in the draft (normalised containment).

    >>> fact_recall("It costs $79; warranty 15 months.", ["$79", "15 months", "30 days"])
    0.6666666666666666
    """
    if not facts:
        return float("nan")
    return sum(contains_answer(draft, [fact]) for fact in facts) / len(facts)



class CorpusText:
    """The whole corpus, normalised once, for support checks."""

    def __init__(self, docs: list[Doc]):
        self.text = " " + " ".join(normalize_answer(f"{d.title} {d.text}") for d in docs) + " "
        self.empty = not docs

    def supports(self, unit: str) -> bool:
        return f" {normalize_answer(unit)} " in self.text


def unsupported_units(output: str, corpus: CorpusText) -> tuple[int, int]:
    """(factual units in the output, how many of them no corpus document states)."""
    units = derive_key_facts(output)
    return len(units), sum(not corpus.supports(u) for u in units)


def unit_kind(value: str) -> str | None:
    """'$79' -> '$'; '24 months' -> 'months'; a bare number -> None (too ambiguous to compare)."""
    if value.startswith("$"):
        return "$"
    match = re.fullmatch(r"[\d.,]+\s?([a-zA-Z%]+)", value.strip())
    return match.group(1).lower().rstrip("s") if match else None


def draft_contradicts(draft: str, facts: list[str]) -> bool:
    """A draft states a value of the same kind as a required fact that is none of the required values."""
    kinds = {unit_kind(f) for f in facts} - {None}
    wanted = {normalize_answer(f) for f in facts}
    return any(unit_kind(u) in kinds and normalize_answer(u) not in wanted for u in derive_key_facts(draft))
