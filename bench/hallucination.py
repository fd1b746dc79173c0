"""Hallucination measures, computed the same way for every arm from its stored predictions.

>>> corpus = CorpusText([Doc("d", "Matal Brew 8", "The Matal Brew 8 costs $79.")])
>>> unsupported_units("The Matal Brew 8 costs $89.", corpus)
(2, 1)
>>> draft_contradicts("Its warranty is 12 months and it costs $79.", ["24 months", "$79"])
True
"""
from __future__ import annotations

import re

from bench.metrics import derive_key_facts, normalize_answer
from bench.tasks import Doc

CONFIDENT = 0.8  # a classification answer at or above this probability counts as confident

DEFINITIONS = {
    "abstain_on_unanswerable": {"label": "declines unanswerable", "better": "higher",
        "definition": 'Share of unanswerable questions (the corpus does not hold the answer) that the arm declines, e.g. "I don\'t know".'},
    "answered_unanswerable": {"label": "answers unanswerable", "better": "lower",
        "definition": 'Share of unanswerable questions that the arm answers anyway: every such answer is made up.'},
    "wrongly_declined": {"label": "declines answerable", "better": "lower",
        "definition": 'Share of answerable questions that the arm declines.'},
    "contradicted": {"label": "confidently wrong", "better": "lower",
        "definition": 'QA: share of answerable questions answered (not declined) with no accepted answer in the output; on the synthetic tasks, where every fact is known, each such answer contradicts the knowledge base. Drafting: share of drafts that state a value of the same kind as a required fact (a price, a number of months) that is not the required one.'},
    "unsupported_units": {"label": "unsupported facts", "better": "lower",
        "definition": 'Share of the factual units in the outputs (numbers with their units, multi-word names) that appear in no corpus document (exact match after normalisation, so a paraphrased number counts as unsupported).'},
    "judge_unsupported": {"label": "judged unsupported", "better": "lower",
        "definition": 'Model-judged (only with judge.enabled): mean probability, from a local instruction model shown the corpus chunks retrieved for the question, that the answer is NOT supported by them.'},
    "ece": {"label": "calibration error (ECE)", "better": "lower",
        "definition": "Expected calibration error: the gap between the chosen label's probability and accuracy, averaged over 10 equal-width confidence bins weighted by their item counts."},
    "confident_errors": {"label": "confident errors", "better": "lower",
        "definition": f'Share of items answered wrongly with a label probability of at least {CONFIDENT}.'},
}


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
