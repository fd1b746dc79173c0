"""Matching an answer against accepted answers: normalisation, exact match, token F1, a correct answer stated in
a sentence, label parsing. Plain functions of strings; the metric registry (metrics.py) says which apply where.

>>> exact_match("The price is $249.", ["$249"]), exact_match("$249", ["$249", "249 dollars"])
(0.0, 1.0)
>>> round(token_f1("It costs $249", ["$249"]), 2)
0.5
>>> answer_correct("The Lumo 2 costs $249.", ["$249", "249"]), answer_correct("$199, $249 or $299", ["$249"])
(1.0, 0.0)
"""
from __future__ import annotations

import re
import string
from collections import Counter

from bench.eval.declines import declines
from bench.data.values import find_values, value_keys

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation.replace(".", "").replace("$", "").replace("%", ""))
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


def mentions(output: str, gold: str) -> bool:
    """The output states this accepted answer: as written (a bare number only as a bare number, so "24" is not
    in "24 hours"), or as the same value in another form ("1279 dollars" for "$1,279", "2 years" for "24 months").

    >>> mentions("It lasts 24 hours", "24"), mentions("It lasts 24 months", "24"), mentions("USD 1279", "$1,279")
    (False, False, True)
    """
    gold_values, output_values = find_values(gold), find_values(output)
    if len(gold_values) == 1 and gold_values[0].kind == "number" and normalize_answer(gold) == normalize_answer(gold_values[0].text):
        return any(v.kind == "number" and v.key == gold_values[0].key for v in output_values)
    if normalize_answer(gold) and f" {normalize_answer(gold)} " in f" {normalize_answer(output)} ":
        return True
    numeric = [v for v in gold_values if v.numeric]
    return len(numeric) == 1 and any((v.kind, v.key) == (numeric[0].kind, numeric[0].key) for v in output_values)


def conflicting_values(output: str, golds: list[str], question: str = "") -> list[str]:
    """Values the output states of the kind asked for (the canonical answer's kind: a price, a number of months)
    that are no accepted answer and not in the question: a hedge ("$199, $249 or $299") or a contradiction."""
    asked = {v.kind for v in find_values(golds[0]) if v.numeric} if golds else set()
    accepted, given = value_keys(golds), value_keys([question])
    return [v.text for v in find_values(output) if v.kind in asked and (v.kind, v.key) not in accepted | given]


def answer_correct(output: str, golds: list[str], question: str = "") -> float:
    """A right answer, however worded: it states an accepted answer, does not decline, and states no other value of
    the asked kind."""
    if not output.strip() or declines(output, question):
        return 0.0
    return float(any(mentions(output, g) for g in golds) and not conflicting_values(output, golds, question))


def recall_at_k(retrieved_doc_ids: list[str], gold_doc_ids: list[str]) -> float:
    """1 when any retrieved chunk comes from a gold document."""
    return float(bool(set(retrieved_doc_ids) & set(gold_doc_ids)))


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
