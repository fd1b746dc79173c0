"""Declining to answer, recognised from a documented list of the common ways to say it.

An answer declines when it opens with one of DECLINE_OPENINGS (after an optional "Sorry," or "Unfortunately,",
and an optional 'The answer is', as in 'The answer is "I don't know".'), or is nothing but one of DECLINE_WHOLE,
and states no value of its own (a number, a price, a name that the question did not already hold): "I'm not
sure, but it costs $79" is an answer, a hedged one. A negation inside an answer is not a decline: "It is not
available in red", "It is unknown to most people but costs $79".
An empty output is not a decline either: the metrics count it apart.

>>> [declines(t) for t in ("I'm not sure.", "The documents do not provide the price.", "Unknown", "")]
[True, True, True, False]
>>> [declines(t) for t in ("It is not available in red.", "It is unknown to most people but costs $79.")]
[False, False]
"""
from __future__ import annotations

import re

from bench.data.values import find_values

_NOT = r"(?:do not|does not|did not|don't|doesn't|didn't|dont|doesnt|cannot|can't|can not|could not|couldn't)"
_SOURCE = r"(?:the |these |this |that )?(?:provided |given |available |above )?(?:documents?|context|texts?|passages?|sources?|information|articles?|excerpts?)"
_TELL = r"(?:say|state|mention|contain|provide|specify|include|give|list|answer|tell|show|indicate|have)"
# Each opens the answer. Kept as a list so every entry is documented and tested (tests/test_metrics.py).
DECLINE_OPENINGS = [
    r"i (?:do not|don't|dont) know(?! (?:why|how|whether|if|what|which|who|where|when)\b)",  # not "I don't know why, but ..."
    r"i(?: am|'m) not (?:sure|certain)",
    r"i(?: am|'m) (?:unable|not able) to (?:answer|find|determine|say|tell|locate|provide)",
    rf"i {_NOT} (?:answer|find|determine|say|tell|locate|provide|see)",
    rf"i {_NOT} have (?:any |the |that |this |enough |specific |such )?(?:information|data|details|answer)",
    r"i have no (?:information|data|details|idea|answer)",
    r"no idea",
    r"there (?:is|are) no (?:information|mention|data|details|answer)",
    r"no (?:information|data|details) (?:is |was )?(?:given|provided|available|found)",
    rf"{_SOURCE} {_NOT} {_TELL}",
    rf"{_SOURCE} (?:has|have|contains?|gives?|provides?) no (?:information|mention|answer)",
    rf"(?:it|this|that|the answer) (?:is|was) not (?:stated|mentioned|specified|provided|given|found|included) in {_SOURCE}",
    r"(?:it|this|that|the answer) (?:cannot|can't|can not) be (?:determined|found|answered)",
]
# Short answers that decline by themselves, as the whole output.
DECLINE_WHOLE = [r"unknown", r"not known", r"not (?:stated|mentioned|specified|provided|given|available)", r"n/?a", r"none given",
                 r"no answer", r"unanswerable", r"cannot answer", r"can't answer", r"cannot be determined"]
# A decline may be framed as the answer, often quoting the prompt's own wording: 'The answer is "I don't know".'
_FRAMED = r"""(?:the answer(?: to (?:your|the|this) question)? is:?\s+["']?)?"""
_OPENING = re.compile(r"^(?:(?:sorry|unfortunately|i'm sorry|i am sorry|apologies)[,.!]?\s+)?" + _FRAMED + "(?:"
                      + "|".join(DECLINE_OPENINGS) + r")\b")
_WHOLE = re.compile(r"^" + _FRAMED + "(?:" + "|".join(DECLINE_WHOLE) + r""")["']?[.!]?$""")


def _plain(text: str) -> str:
    """Lower case, straight apostrophes, one space: the form the patterns are written for."""
    return " ".join(text.lower().replace("\u2019", "'").replace("\u2018", "'").split())


def declines(output: str, question: str = "") -> bool:
    """The output says it cannot answer, and states no value of its own (see the module docstring)."""
    text = _plain(output).strip(" \"'")
    if not text or not (_OPENING.match(text) or _WHOLE.match(text)):
        return False
    asked = {(v.kind, v.key) for v in find_values(question)}
    return all((v.kind, v.key) in asked for v in find_values(output))
