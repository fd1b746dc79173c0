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
