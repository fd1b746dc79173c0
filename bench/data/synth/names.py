"""Invented names: words no pretrained model has seen, for the company, its product lines and its people."""
from __future__ import annotations

import random
import re

_ONSETS = ("b", "br", "d", "dr", "f", "g", "k", "kr", "l", "m", "n", "p", "r", "s", "t", "th", "v", "z")
_VOWELS = ("a", "e", "i", "o", "u")
_MIDDLES = ("l", "r", "n", "lk", "rv", "nd", "sk", "x", "v", "d", "m", "t")
_ENDINGS = ("", "n", "r", "x", "k", "l", "s", "th")


def _invented_word(rng: random.Random) -> str:
    """Two syllables such as 'Velkor'; at least five letters, so short real words and brands cannot come out."""
    while True:
        word = "".join((
            rng.choice(_ONSETS), rng.choice(_VOWELS), rng.choice(_MIDDLES), rng.choice(_VOWELS), rng.choice(_ENDINGS)
        ))
        if len(word) >= 5:
            return word.capitalize()


def _distinct_words(rng: random.Random, count: int) -> list[str]:
    words: list[str] = []
    while len(words) < count:
        word = _invented_word(rng)
        if word not in words:
            words.append(word)
    return words


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
