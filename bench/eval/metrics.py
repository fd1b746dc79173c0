"""The metric registry: every figure scored per item, defined once (name, function, task families, label, better
direction, definition). Scoring computes what applies to a run's family, the report's tables and plots take
their labels from here, and the appendix prints the definitions. Adding a metric is one entry here plus the
common test in tests/test_metrics.py, which checks every entry alike.

A metric's `value` reads one `Scored` item (the test item with one arm's prediction) and returns its value, or
None where the metric does not apply (EM on an unanswerable question). Most metrics are means of their item
values; a `pooled` metric is a statistic of the whole sample instead (macro-F1, calibration error, the share of
unsupported units), bootstrapped over items alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Literal

from bench.eval.answers import contains_answer, exact_match, is_abstention, macro_f1, parse_label, recall_at_k, rouge_l, token_f1
from bench.eval.facts import CONFIDENT, CorpusText, derive_key_facts, draft_contradicts, fact_recall, required_facts, unsupported_units
from bench.eval.stats import expected_calibration_error
from bench.records.items import Example
from bench.records.predictions import Prediction

Family = Literal["qa", "choice", "drafting"]
Section = Literal["accuracy", "hallucination", "retrieval"]


def metric_family(kind: str, labels: list[str] | None) -> Family:
    """A task with a fixed answer set (classification, or QA over yes/no/maybe) is scored as a choice; free-text QA
    by answer overlap; drafting against a reference."""
    if kind == "classification" or labels:
        return "choice"
    return "drafting" if kind == "drafting" else "qa"


@dataclass(frozen=True)
class Scored:
    """One test item as one arm answered it: everything a metric may read."""

    item: Example
    prediction: Prediction
    family: Family
    labels: list[str] | None
    corpus: CorpusText
    support: float | None = None  # the judge's probability that the answer is supported (judge.enabled only)

    @property
    def output(self) -> str:
        return self.prediction.output

    @cached_property
    def probs(self) -> dict[str, float] | None:
        probs = self.prediction.choice_probs()
        return dict(zip(self.labels, probs)) if probs is not None and self.labels else None

    @cached_property
    def predicted(self) -> str | None:
        """The label answered: the chosen one, or the one a generated answer names."""
        return self.output if self.probs is not None else parse_label(self.output, self.labels or [])

    @cached_property
    def abstained(self) -> bool:
        return is_abstention(self.output)

    @property
    def confidence(self) -> float | None:
        return max(self.probs.values()) if self.probs else None


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    better: Literal["higher", "lower"]
    definition: str
    families: tuple[Family, ...]
    section: Section
    value: Callable[[Scored], Any]  # the item's value; None where the metric does not apply
    pooled: Callable[[list], float] | None = None  # a statistic of all item values; None: their mean
    shown: Callable[[list], bool] = bool  # whether the run has this figure at all, given its item values

    @property
    def per_item(self) -> bool:
        """Means of item values are compared item by item between arms and shown per stratum."""
        return self.pooled is None


def _answerable(s: Scored, score: Callable[[str, list[str]], float]) -> float | None:
    return score(s.output, list(s.item.targets)) if s.item.answerable else None


def _unanswerable(s: Scored, declined: bool) -> float | None:
    return None if s.item.answerable else float(s.abstained == declined)


def _contradicted(s: Scored) -> float | None:
    if s.family == "drafting":
        return float(draft_contradicts(s.output, list(s.item.facts) or derive_key_facts(s.item.targets[0])))
    return float(not s.abstained and not contains_answer(s.output, list(s.item.targets))) if s.item.answerable else None


def _unsupported(s: Scored) -> tuple[int, int] | None:
    if s.corpus.empty or (s.family == "qa" and s.abstained):
        return None
    return unsupported_units(s.output, s.corpus)


def _unsupported_share(values: list[tuple[int, int]]) -> float:
    """Pooled over all units, not averaged per answer (a resample without any unit counts 0)."""
    return sum(bad for _, bad in values) / max(1, sum(n for n, _ in values))


def _confident_error(s: Scored) -> float | None:
    return None if s.confidence is None else float(s.predicted not in s.item.targets and s.confidence >= CONFIDENT)


METRICS: dict[str, Metric] = {m.name: m for m in (
    # accuracy: each family's metrics in order, headline first
    Metric("em", "EM", "higher",
           "Exact match: the normalized output (lower case, no punctuation or articles) equals an accepted answer. Answerable items only.",
           ("qa",), "accuracy", lambda s: _answerable(s, exact_match)),
    Metric("f1", "F1", "higher", "Token-overlap F1 between the output and the best accepted answer.",
           ("qa",), "accuracy", lambda s: _answerable(s, token_f1)),
    Metric("contains", "contains", "higher", "An accepted answer appears in the output (credits verbose but right answers).",
           ("qa",), "accuracy", lambda s: _answerable(s, contains_answer)),
    Metric("accuracy", "accuracy", "higher", "Share of items whose chosen label is the gold label.",
           ("choice",), "accuracy", lambda s: float(s.predicted in s.item.targets)),
    Metric("macro_f1", "macro-F1", "higher",
           "F1 per label, averaged over labels with equal weight (rare labels count as much as common ones).",
           ("choice",), "accuracy", lambda s: (s.item.targets[0], s.predicted),
           pooled=lambda pairs: macro_f1([g for g, _ in pairs], [p for _, p in pairs])),
    Metric("fact_recall", "key-fact recall", "higher",
           "Share of the reference's required facts present in the draft: the task's list, else the reference's numbers and multi-word names that the input does not already state. Drafts with no such fact are left out.",
           ("drafting",), "accuracy", lambda s: fact_recall(s.output, required_facts(s.item))),
    Metric("rouge_l", "ROUGE-L", "higher", "Longest-common-subsequence F-measure between the draft and the reference.",
           ("drafting",), "accuracy", lambda s: rouge_l(s.output, s.item.targets[0])),
    # hallucination
    Metric("abstain_on_unanswerable", "declines unanswerable", "higher",
           'Share of unanswerable questions (the corpus does not hold the answer) that the arm declines, e.g. "I don\'t know".',
           ("qa",), "hallucination", lambda s: _unanswerable(s, declined=True)),
    Metric("answered_unanswerable", "answers unanswerable", "lower",
           "Share of unanswerable questions that the arm answers anyway: every such answer is made up.",
           ("qa",), "hallucination", lambda s: _unanswerable(s, declined=False)),
    Metric("wrongly_declined", "declines answerable", "lower", "Share of answerable questions that the arm declines.",
           ("qa",), "hallucination", lambda s: float(s.abstained) if s.item.answerable else None),
    Metric("contradicted", "confidently wrong", "lower",
           "QA: share of answerable questions answered (not declined) with no accepted answer in the output; on the synthetic tasks, where every fact is known, each such answer contradicts the knowledge base. Drafting: share of drafts that state a value of the same kind as a required fact (a price, a number of months) that is not the required one.",
           ("qa", "drafting"), "hallucination", _contradicted),
    Metric("unsupported_units", "unsupported facts", "lower",
           "Share of the factual units in the outputs (numbers with their units, multi-word names) that appear in no corpus document (exact match after normalisation, so a paraphrased number counts as unsupported).",
           ("qa", "drafting"), "hallucination", _unsupported, pooled=_unsupported_share,
           shown=lambda values: any(n for n, _ in values)),  # only when some answer states a unit
    Metric("judge_unsupported", "judged unsupported", "lower",
           "Model-judged (only with judge.enabled): mean probability, from a local instruction model shown the corpus chunks retrieved for the question, that the answer is NOT supported by them.",
           ("qa", "drafting"), "hallucination", lambda s: None if s.support is None else 1 - s.support),
    Metric("ece", "calibration error (ECE)", "lower",
           "Expected calibration error: the gap between the chosen label's probability and accuracy, averaged over 10 equal-width confidence bins weighted by their item counts.",
           ("choice",), "hallucination",
           lambda s: None if s.confidence is None else (s.confidence, float(s.predicted in s.item.targets)),
           pooled=lambda pairs: expected_calibration_error([c for c, _ in pairs], [h for _, h in pairs])),
    Metric("confident_errors", "confident errors", "lower",
           f"Share of items answered wrongly with a label probability of at least {CONFIDENT}.",
           ("choice",), "hallucination", _confident_error),
    # retrieval
    Metric("recall_at_k", "recall@k", "higher", "Share of items whose gold document is among the k retrieved chunks.",
           ("qa", "choice", "drafting"), "retrieval",
           lambda s: recall_at_k(s.prediction.retrieved_docs, list(s.item.gold_docs)) if s.prediction.retrieved and s.item.gold_docs else None),
)}


def family_metrics(family: Family, section: Section = "accuracy", per_item: bool | None = True) -> list[Metric]:
    """The registered metrics of a family and section in registry order (the headline first), by default those
    that are means of item values."""
    return [m for m in METRICS.values() if family in m.families and m.section == section
            and (per_item is None or m.per_item == per_item)]
