"""Per-item metrics. Each takes one prediction and returns a number; aggregation and CIs live in scoring.py.

>>> exact_match("The price is $249.", ["$249"]), exact_match("$249", ["$249", "249 dollars"])
(0.0, 1.0)
>>> round(token_f1("It costs $249", ["$249"]), 2)
0.5
>>> is_abstention("I don't know."), is_abstention("18 months")
(True, False)
"""
from __future__ import annotations

import re
import string
from collections import Counter
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from bench.tasks import Example

# What each metric means, for the report's appendix (stored in scores.json with every run).
DEFINITIONS = {
    "em": {"label": "EM", "better": "higher",
        "definition": "Exact match: the normalized output (lower case, no punctuation or articles) equals an accepted answer. Answerable items only."},
    "f1": {"label": "F1", "better": "higher",
        "definition": "Token-overlap F1 between the output and the best accepted answer."},
    "contains": {"label": "contains", "better": "higher",
        "definition": "An accepted answer appears in the output (credits verbose but right answers)."},
    "accuracy": {"label": "accuracy", "better": "higher",
        "definition": "Share of items whose chosen label is the gold label."},
    "macro_f1": {"label": "macro-F1", "better": "higher",
        "definition": "F1 per label, averaged over labels with equal weight (rare labels count as much as common ones)."},
    "rouge_l": {"label": "ROUGE-L", "better": "higher",
        "definition": "Longest-common-subsequence F-measure between the draft and the reference."},
    "fact_recall": {"label": "key-fact recall", "better": "higher",
        "definition": "Share of the reference's required facts present in the draft: the task's list, else the reference's numbers and multi-word names that the input does not already state. Drafts with no such fact are left out."},
    "recall_at_k": {"label": "recall@k", "better": "higher",
        "definition": "Share of items whose gold document is among the k retrieved chunks."},
}

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation.replace(".", "").replace("$", "").replace("%", ""))
# Phrases that decline to answer. Matched on the normalised answer, so case and punctuation do not matter.
ABSTENTION_PATTERNS = re.compile(
    r"\b(i do ?n[o']?t know|i don t know|dont know|not known|unknown|no information|not (stated|mentioned|specified|provided|available|given)"
    r"|(documents?|context|text) (does|do) not (say|state|mention|contain)|cannot (answer|be determined|determine)|can ?not answer|unable to (answer|determine))\b"
)


def normalize_answer(text: str) -> str:
    """SQuAD-style: lower case, drop punctuation (keeping '.', '$', '%' inside numbers), articles and extra spaces."""
    text = text.lower().translate(_PUNCT)
    text = re.sub(r"\.(?!\d)", " ", text)  # a full stop ends a sentence; a decimal point stays
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, golds: list[str]) -> float:
    return float(any(normalize_answer(prediction) == normalize_answer(g) for g in golds))


def token_f1(prediction: str, golds: list[str]) -> float:
    """Best token-overlap F1 against any accepted answer."""
    pred_tokens = normalize_answer(prediction).split()
    best = 0.0
    for gold in golds:
        gold_tokens = normalize_answer(gold).split()
        common = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
        if common:
            precision, recall = common / len(pred_tokens), common / len(gold_tokens)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def contains_answer(prediction: str, golds: list[str]) -> float:
    """Lenient: an accepted answer appears inside the prediction (a verbose but right answer)."""
    pred = f" {normalize_answer(prediction)} "
    return float(any(f" {normalize_answer(g)} " in pred for g in golds if normalize_answer(g)))


def is_abstention(prediction: str) -> bool:
    return bool(ABSTENTION_PATTERNS.search(normalize_answer(prediction))) or not prediction.strip()


def recall_at_k(retrieved_doc_ids: list[str], gold_doc_ids: list[str]) -> float:
    """1 when any retrieved chunk comes from a gold document."""
    return float(bool(set(retrieved_doc_ids) & set(gold_doc_ids)))


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

    >>> from bench.tasks import Example
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


_ROUGE = None


def rouge_l(draft: str, reference: str) -> float:
    """ROUGE-L F-measure (longest common subsequence), stemmed, via Google's rouge-score package.

    >>> round(rouge_l("the kettle costs 79 dollars", "the kettle costs $79"), 2)
    0.89
    """
    global _ROUGE
    if _ROUGE is None:
        from rouge_score import rouge_scorer

        _ROUGE = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return _ROUGE.score(reference, draft)["rougeL"].fmeasure


def parse_label(output: str, labels: list[str]) -> str | None:
    """The label a generated answer names: an exact match first, else the longest label it contains.

    >>> parse_label("Category: card_arrival.", ["card", "card_arrival"]), parse_label("no idea", ["card"])
    ('card_arrival', None)
    """
    text = output.strip().lower()
    for label in labels:
        if text == label.lower():
            return label
    contained = [label for label in labels if re.search(rf"(?<!\w){re.escape(label.lower())}(?!\w)", text)]
    return max(contained, key=len) if contained else None


def macro_f1(golds: list[str], predictions: list[str | None]) -> float:
    """Mean F1 over the labels that occur in the gold answers (an unparsed prediction counts as wrong).

    >>> macro_f1(["a", "a", "b"], ["a", "b", "b"])
    0.6666666666666666
    """
    scores = []
    for label in sorted(set(golds)):
        tp = sum(g == label and p == label for g, p in zip(golds, predictions))
        fp = sum(g != label and p == label for g, p in zip(golds, predictions))
        fn = sum(g == label and p != label for g, p in zip(golds, predictions))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores) if scores else float("nan")


# Every per-item metric with one signature, (output, item) -> score in [0, 1]. score_item uses these, and
# tests/test_metrics.py checks each one the same way, so a new metric is registered here and tested for free.
ITEM_METRICS: dict[str, Callable[[str, "Example"], float]] = {
    "em": lambda output, item: exact_match(output, list(item.targets)),
    "f1": lambda output, item: token_f1(output, list(item.targets)),
    "contains": lambda output, item: contains_answer(output, list(item.targets)),
    "rouge_l": lambda output, item: rouge_l(output, item.targets[0]),
    "fact_recall": lambda output, item: fact_recall(output, required_facts(item)),
}
