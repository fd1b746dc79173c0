"""How the report writes numbers and names: percentages with intervals, points, money, p-values, arm titles."""
from __future__ import annotations

import math
import re

from bench.records.arms import ARMS
from bench.records.scores import Interval

# The report's own markup is `code` and **bold**; a backslash makes the next character plain. Text that comes from
# a task, a model or a file is data: it is escaped, so "<script>", "# heading" or "**x**" in a question shows as
# written in report.md and report.html alike.
# What Markdown could read as markup in data: a backslash, a backtick, emphasis stars, link brackets, HTML angle
# brackets, strikethrough tildes; an underscore only at a word's edge (inside a word, as in "corpus_only", it is
# plain text); an ampersand only where it starts an entity; a hash only where it would open a heading.
MARKUP = re.compile(r"[\\`*\[\]<>~]|(?<!\w)_|_(?!\w)|&(?=#?\w+;)|^\s*#")


class Data(str):
    """A table cell or list item that is data through and through (the renderers escape it)."""


def literal(text) -> str:
    """Data inside the report's own text: shown as written, never read as markup or HTML."""
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", str(text)).replace("\n", " ")
    return MARKUP.sub(lambda m: m.group(0)[:-1] + "\\" + m.group(0)[-1], text)


def code(text) -> str:
    """Data in a code span (a name, an id, a path): its backticks cannot close the span."""
    return "`" + re.sub(r"[\x00-\x1f\x7f]", " ", str(text)).replace("`", "'") + "`"


def has_value(ci: Interval | None) -> bool:
    return ci is not None and ci.has_value


def pct(ci: Interval | None) -> str:
    if not has_value(ci):
        return "–"
    return f"{100 * ci.mean:.1f} [{100 * ci.low:.1f}, {100 * ci.high:.1f}]"


def pct_words(ci: Interval) -> str:
    return f"{100 * ci.mean:.1f}% (95% CI {100 * ci.low:.1f} to {100 * ci.high:.1f})"


def pct_brief(ci: Interval) -> str:
    return f"{100 * ci.mean:.1f}% [{100 * ci.low:.1f}, {100 * ci.high:.1f}]"


def points(fraction: float) -> str:
    return f"{round(100 * fraction, 1) + 0.0:.1f}"  # + 0.0 turns -0.0 (a negated zero difference) into 0.0


def usd(value: float) -> str:
    """Three significant digits without exponent: per-query costs of a small model are fractions of a cent."""
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.2f}"
    decimals = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}"


def pvalue(p: float | None) -> str:
    if p is None:
        return "–"
    # 1 / bootstrap_resamples is the smallest bootstrap p-value there is: say "at most", not "equal"
    return "≤ 0.001" if p <= 0.001 else f"{p:.3f}"


def number(value, fmt: str = ",.0f", scale: float = 1.0) -> str:
    return "–" if value is None else format(value * scale, fmt)


def title(arm: str) -> str:
    return ARMS[arm].title if arm in ARMS else code(arm)


def capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def mid_sentence(text: str) -> str:
    """A sentence continued after a colon: "Fine-tuning scores" -> "fine-tuning scores"; "RAG scores" stays."""
    return text[0].lower() + text[1:] if text[1:2].islower() else text


def short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
