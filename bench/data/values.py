"""Factual values in free text, each taken whole with its unit: money, percentages, clock times and time ranges,
dates, quantities with units, multi-word names, bare numbers. Each value has a kind and a canonical form, so
"$1,279", "USD 1279" and "1279 dollars" are one value, "3 years" is "36 months", and "11%" is never "11".

>>> [(v.kind, v.key) for v in find_values("Open 7:30 to 19:00; the fee is 11% on the Kulker Mode 3, $1,279.")]
[('time_range', '07:30-19:00'), ('percent', '11'), ('name', 'kulker mode 3'), ('money', '1279')]
>>> [(v.kind, v.key) for v in find_values("It lasts 2 years, or 24 months, and weighs 1.0 kg.")]
[('months', '24'), ('months', '24'), ('kg', '1')]
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

NUMBER = r"\d[\d,]*(?:\.\d+)?"
# unit words -> the kind they measure and the factor to its base unit (years are counted in months)
UNITS = {
    "%": ("percent", 1), "percent": ("percent", 1), "per cent": ("percent", 1),
    "kg": ("kg", 1), "kilograms": ("kg", 1), "kilogram": ("kg", 1), "g": ("g", 1), "grams": ("g", 1), "mg": ("mg", 1),
    "lb": ("lb", 1), "lbs": ("lb", 1), "pounds": ("lb", 1),
    "km": ("km", 1), "kilometres": ("km", 1), "kilometers": ("km", 1), "m": ("metres", 1), "metres": ("metres", 1),
    "meters": ("metres", 1), "metre": ("metres", 1), "meter": ("metres", 1), "cm": ("cm", 1), "mm": ("mm", 1),
    "l": ("litres", 1), "litres": ("litres", 1), "liters": ("litres", 1), "litre": ("litres", 1), "liter": ("litres", 1),
    "ml": ("ml", 1),
    "minutes": ("minutes", 1), "minute": ("minutes", 1), "mins": ("minutes", 1), "min": ("minutes", 1),
    "hours": ("hours", 1), "hour": ("hours", 1), "hrs": ("hours", 1), "h": ("hours", 1),
    "business days": ("business days", 1), "working days": ("business days", 1), "days": ("days", 1), "day": ("days", 1),
    "weeks": ("weeks", 1), "week": ("weeks", 1), "months": ("months", 1), "month": ("months", 1),
    "years": ("months", 12), "year": ("months", 12),
    "watts": ("watts", 1), "watt": ("watts", 1), "w": ("watts", 1), "lumens": ("lumens", 1), "lm": ("lumens", 1),
    "mah": ("mah", 1), "mph": ("mph", 1), "km/h": ("km/h", 1),
}
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december")
_UNIT = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
_CLOCK = r"\d{1,2}(?::\d{2})?\s?(?:am|pm|a\.m\.|p\.m\.)|\d{1,2}:\d{2}"
_MONTH = "|".join(MONTHS) + "|" + "|".join(m[:3] for m in MONTHS)
# in order of precedence: a span taken by an earlier pattern is not read again by a later one
PATTERNS = [
    ("time_range", re.compile(rf"(?P<a>{_CLOCK})\s?(?:-|–|to|until|till)\s?(?P<b>{_CLOCK})", re.I)),
    ("date", re.compile(rf"\b(?P<iso>\d{{4}}-\d{{2}}-\d{{2}})\b|\b(?P<d1>\d{{1,2}})\s(?P<m1>{_MONTH})\.?,?\s(?P<y1>\d{{4}})\b"
                        rf"|\b(?P<m2>{_MONTH})\.?\s(?P<d2>\d{{1,2}}),?\s(?P<y2>\d{{4}})\b", re.I)),
    ("time", re.compile(rf"(?<![\d:])(?:{_CLOCK})(?![\d:])", re.I)),
    ("money", re.compile(rf"(?:\$|usd\s?|us\$)(?P<n1>{NUMBER})|(?P<n2>{NUMBER})\s?(?:dollars|usd)\b", re.I)),
    ("quantity", re.compile(rf"(?<![\w.])(?P<n>{NUMBER})\s?(?P<u>{_UNIT})(?![\w])", re.I)),
    ("name", re.compile(r"\b[A-Z][\w-]*(?:\s+(?:[A-Z][\w-]*|\d+\b))+")),  # two or more capitalised words (or a model number)
    ("number", re.compile(rf"(?<![\w.$])(?P<n>{NUMBER})(?![\w]|\.\d)")),
]
NUMERIC_KINDS = frozenset({"money", "percent", "time", "time_range", "date", "number"} | {k for k, _ in UNITS.values()})


@dataclass(frozen=True)
class Value:
    text: str  # as written
    kind: str  # "money", "percent", "months", "kg", "time", "time_range", "date", "name", "number", ...
    key: str  # canonical form: two values of one kind are the same value when their keys are equal
    start: int

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS


def number_key(text: str, factor: float = 1) -> str:
    """'1,279' -> '1279'; '2.0' -> '2'; ('3', 12) -> '36'."""
    value = float(text.replace(",", "")) * factor
    return f"{value:.6f}".rstrip("0").rstrip(".")


def clock_key(text: str) -> str:
    """'7 pm' -> '19:00'; '8:30' -> '08:30'."""
    match = re.match(r"(\d{1,2})(?::(\d{2}))?\s?([ap])?", text.lower())
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half == "p" and hour < 12:
        hour += 12
    elif half == "a" and hour == 12:
        hour = 0
    return f"{hour:02d}:{minute:02d}"


def _date_key(m: re.Match) -> str:
    if m.group("iso"):
        return m.group("iso")
    day, month, year = (m.group("d1"), m.group("m1"), m.group("y1")) if m.group("d1") else (m.group("d2"), m.group("m2"), m.group("y2"))
    number = next(i for i, name in enumerate(MONTHS, 1) if name.startswith(month.lower()[:3]))
    try:
        return date(int(year), number, int(day)).isoformat()
    except ValueError:  # "31 February": keep what was written
        return f"{year}-{number:02d}-{day}"


def _value(kind: str, m: re.Match) -> Value:
    text = m.group(0)
    if kind == "time_range":
        return Value(text, kind, f"{clock_key(m.group('a'))}-{clock_key(m.group('b'))}", m.start())
    if kind == "time":
        return Value(text, kind, clock_key(text), m.start())
    if kind == "date":
        return Value(text, kind, _date_key(m), m.start())
    if kind == "money":
        return Value(text, kind, number_key(m.group("n1") or m.group("n2")), m.start())
    if kind == "quantity":
        unit_kind, factor = UNITS[m.group("u").lower()]
        return Value(text, unit_kind, number_key(m.group("n"), factor), m.start())
    if kind == "name":  # a sentence's capitalised first article is not part of the name
        name = re.sub(r"^(?:The|A|An)\s+", "", text.strip())
        return Value(name, kind, " ".join(name.lower().split()), m.start() + len(text) - len(name))
    return Value(text, kind, number_key(m.group("n")), m.start())


def find_values(text: str) -> list[Value]:
    """Every value in the text, in reading order; a span read as one value is never read again as another."""
    taken = [False] * len(text)
    found = []
    for kind, pattern in PATTERNS:
        for m in pattern.finditer(text):
            if any(taken[m.start():m.end()]):
                continue
            found.append(_value(kind, m))
            taken[m.start():m.end()] = [True] * (m.end() - m.start())
    return sorted(found, key=lambda v: v.start)


def value_keys(texts) -> set[tuple[str, str]]:
    """(kind, key) of every value in the texts: a set to look values up in."""
    return {(v.kind, v.key) for text in texts for v in find_values(text)}
