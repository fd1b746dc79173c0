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

from bench.data.tasks import Task
from bench.eval.answers import answer_correct, exact_match, macro_f1, parse_label, recall_at_k, rouge_l, token_f1
from bench.eval.declines import declines
from bench.eval.facts import CONFIDENT, Evidence, draft_contradicts, fact_recall, required_facts, unsupported_units
from bench.eval.stats import expected_calibration_error
from bench.records.config import RunConfig
from bench.records.errors import UserError
from bench.records.items import Doc, Example
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
    docs: dict[str, Doc]  # the corpus by document id
    evidence_field: bool = False  # the task lists each item's true values (fields.evidence)
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
    def declined(self) -> bool:
        return declines(self.output, self.item.input)

    @property
    def empty(self) -> bool:
        return not self.output.strip()

    @cached_property
    def correct(self) -> float:
        return answer_correct(self.output, list(self.item.targets), self.item.input)

    @cached_property
    def evidence(self) -> Evidence | None:
        """The item's known values, else its gold documents, else the documents of the chunks the arm was given."""
        if self.evidence_field:
            return Evidence.of_values([*self.item.evidence, *self.item.targets])
        for ids in (self.item.gold_docs, self.prediction.retrieved_docs):
            docs = [self.docs[i] for i in dict.fromkeys(ids) if i in self.docs]
            if docs:
                return Evidence.of_docs(docs)
        return None

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


def _answered(s: Scored) -> bool:
    return not s.empty and not s.declined


def _contradicted(s: Scored) -> float | None:
    if s.family == "drafting":
        return float(draft_contradicts(s.output, required_facts(s.item), s.evidence if s.evidence_field else None, s.item.input))
    return float(_answered(s) and not s.correct) if s.item.answerable else None


def _unsupported(s: Scored) -> tuple[int, int] | None:
    if s.evidence is None or not _answered(s):
        return None
    return unsupported_units(s.output, s.evidence, s.item.input)


def _unsupported_share(values: list[tuple[int, int]]) -> float:
    """Pooled over all units, not averaged per answer (a resample without any unit counts 0)."""
    return sum(bad for _, bad in values) / max(1, sum(n for n, _ in values))


def _confident_error(s: Scored) -> float | None:
    return None if s.confidence is None else float(s.predicted not in s.item.targets and s.confidence >= CONFIDENT)


METRICS: dict[str, Metric] = {m.name: m for m in (
    # accuracy: each family's metrics in order, headline first
    Metric("correct", "correct answer", "higher",
           "The output states an accepted answer, in any wording or surface form of the same value (\"1279 dollars\" for \"$1,279\"; a bare number only as a bare number, so \"24 hours\" is not \"24\" months), does not decline, and states no other value of the kind asked for (a hedge such as \"$199, $249 or $299\" is wrong). Answerable items only.",
           ("qa",), "accuracy", lambda s: s.correct if s.item.answerable else None),
    Metric("em", "EM", "higher",
           "Exact match: the normalized output (lower case, no punctuation or articles) equals an accepted answer. Answerable items only.",
           ("qa",), "accuracy", lambda s: _answerable(s, exact_match)),
    Metric("f1", "F1", "higher", "Token-overlap F1 between the output and the best accepted answer.",
           ("qa",), "accuracy", lambda s: _answerable(s, token_f1)),
    Metric("accuracy", "accuracy", "higher", "Share of items whose chosen label is the gold label.",
           ("choice",), "accuracy", lambda s: float(s.predicted in s.item.targets)),
    Metric("macro_f1", "macro-F1", "higher",
           "F1 per label, averaged over labels with equal weight (rare labels count as much as common ones).",
           ("choice",), "accuracy", lambda s: (s.item.targets[0], s.predicted),
           pooled=lambda pairs: macro_f1([g for g, _ in pairs], [p for _, p in pairs])),
    Metric("fact_recall", "key-fact recall", "higher",
           "Share of the reference's required facts the draft states (in any surface form of the same value): the task's list, else the reference's values with their units and multi-word names that the input does not already state. Drafts with no such fact are left out.",
           ("drafting",), "accuracy", lambda s: fact_recall(s.output, required_facts(s.item))),
    Metric("rouge_l", "ROUGE-L", "higher", "Longest-common-subsequence F-measure between the draft and the reference.",
           ("drafting",), "accuracy", lambda s: rouge_l(s.output, s.item.targets[0])),
    # hallucination
    Metric("abstain_on_unanswerable", "declines unanswerable", "higher",
           'Share of unanswerable questions (the corpus does not hold the answer) that the arm declines, in one of the documented ways (bench/eval/declines.py: "I don\'t know", "I\'m not sure", "The documents do not provide ...") and without stating a value.',
           ("qa",), "hallucination", lambda s: None if s.item.answerable else float(s.declined)),
    Metric("answered_unanswerable", "answers unanswerable", "lower",
           "Share of unanswerable questions that the arm answers anyway (a non-empty output that does not decline): every such answer is made up.",
           ("qa",), "hallucination", lambda s: None if s.item.answerable else float(_answered(s))),
    Metric("wrongly_declined", "declines answerable", "lower", "Share of answerable questions that the arm declines.",
           ("qa",), "hallucination", lambda s: float(s.declined) if s.item.answerable else None),
    Metric("empty", "empty outputs", "lower", "Share of items answered with nothing at all (neither an answer nor a decline).",
           ("qa", "drafting"), "hallucination", lambda s: float(s.empty)),
    Metric("contradicted", "confidently wrong", "lower",
           "QA: share of answerable questions answered (not declined, not empty) without a correct answer (see correct answer). Drafting: share of drafts that state a value of a kind the item's evidence holds (a price, a number of months) that the evidence does not hold; the evidence is the knowledge-base facts of what the email asks about where the task lists them, else the required facts.",
           ("qa", "drafting"), "hallucination", _contradicted),
    Metric("unsupported_units", "unsupported facts", "lower",
           "Share of the values the answers state (numbers with their units, prices, times, dates, multi-word names; those the question already states left out) that the item's own evidence does not state: the knowledge-base facts of the entity asked about where the task lists them, else the item's gold documents, else the documents of the chunks the arm was given. Declined and empty answers are left out.",
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


def scored_metrics(family: Family, headline: str | None = None) -> list[Metric]:
    """The family's per-item accuracy metrics, the headline first: `headline` where named, else the registry's first."""
    metrics = family_metrics(family)
    return sorted(metrics, key=lambda m: m.name != headline) if headline else metrics


def check_headline(task: Task, cfg: RunConfig) -> None:
    """The `headline` setting names one of the task's per-item accuracy metrics: checked before any work (the data
    layer, which validates the rest of the settings, does not know the metrics)."""
    names = [m.name for m in scored_metrics(metric_family(task.spec.kind, task.spec.labels))]
    if cfg.headline is not None and cfg.headline not in names:
        kind = f"a {task.spec.kind} task{' with labels' if task.spec.labels else ''}"
        raise UserError(f"{task.folder / 'task.yaml'}: headline: '{cfg.headline}' is not a per-item accuracy metric of "
                        f"this task ({kind}). Set overrides.headline (or headline= on the command line) to one of: "
                        f"{', '.join(names)}; the first is the default.")


def family_metrics(family: Family, section: Section = "accuracy", per_item: bool | None = True) -> list[Metric]:
    """The registered metrics of a family and section in registry order (the default headline first), by default
    those that are means of item values."""
    return [m for m in METRICS.values() if family in m.families and m.section == section
            and (per_item is None or m.per_item == per_item)]
