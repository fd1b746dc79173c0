"""Surface forms of values: the form a document states, and the other forms an answer may take."""
from __future__ import annotations

import random

Value = tuple[str, tuple[str, ...]]  # the canonical surface form and the other accepted forms


def _dollars(amount: int) -> Value:
    plain, grouped = str(amount), f"{amount:,}"
    aliases = [plain, f"{plain} dollars", f"USD {plain}"]
    if grouped != plain:
        aliases += [grouped, f"${plain}"]
    return f"${grouped}", tuple(aliases)


def _quantity(number: str, unit: str, *other_units: str) -> Value:
    """('27', 'minutes', 'min') -> ('27 minutes', ('27', '27 min')); '2.0' also accepts '2'."""
    numbers = [number]
    if "." in number and (short := number.rstrip("0").rstrip(".")) != number:
        numbers.append(short)
    aliases = [form for n in numbers for form in (n, *(f"{n} {u}" for u in (unit, *other_units)))]
    return f"{number} {unit}", tuple(alias for alias in aliases if alias != f"{number} {unit}")


def _percent(number: int) -> Value:
    return f"{number}%", (f"{number} percent", f"{number} per cent", str(number))


_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five")


def _months(months: int) -> Value:
    aliases = [str(months)]
    if months % 12 == 0:
        years = months // 12
        unit = "year" if years == 1 else "years"
        aliases += [f"{years} {unit}", f"{_NUMBER_WORDS[years]} {unit}"]
    elif months % 6 == 0:
        aliases.append(f"{months / 12:g} years")
    return f"{months} months", tuple(aliases)


def _extension(number: int) -> Value:
    return str(number), (f"extension {number}", f"ext. {number}")


def _business_days(days: int) -> Value:
    return f"{days} business days", (str(days), f"{days} days", f"{days} working days")


def _twelve_hour(clock: str) -> str:
    """'19:00' -> '7 pm'; '8:30' -> '8:30 am'."""
    hour, minute = (int(part) for part in clock.split(":"))
    suffix = "am" if hour < 12 else "pm"
    hour = hour % 12 or 12
    return f"{hour} {suffix}" if minute == 0 else f"{hour}:{minute:02d} {suffix}"


def _support_hours(rng: random.Random) -> Value:
    start = rng.choice(("6:30", "7:00", "7:30", "8:00", "8:30", "9:00", "9:30"))
    end = rng.choice(("16:30", "17:00", "17:30", "18:00", "18:30", "19:00", "20:00", "21:00", "21:30"))
    return f"{start} to {end}", (f"{start}-{end}", f"{_twelve_hour(start)} to {_twelve_hour(end)}")
