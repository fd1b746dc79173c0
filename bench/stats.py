"""Uncertainty: percentile bootstrap confidence intervals, with a fixed seed so reports are reproducible.

>>> ci = bootstrap_ci([1, 0, 1, 1, 0, 1, 1, 1], resamples=1000, seed=0)
>>> ci.mean, ci.low < ci.mean < ci.high
(0.75, True)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int


def bootstrap_ci(values: list[float], resamples: int = 1000, seed: int = 0, level: float = 0.95) -> Interval:
    data = np.asarray(values, dtype=float)
    if len(data) == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(resamples, len(data)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return Interval(float(data.mean()), float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail)), len(data))


def bootstrap_statistic(n: int, statistic, resamples: int = 1000, seed: int = 0, level: float = 0.95) -> Interval:
    """Percentile bootstrap for a statistic of the whole sample (e.g. macro-F1), given as a function of item indices."""
    if n == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    rng = np.random.default_rng(seed)
    values = [statistic(rng.integers(0, n, size=n)) for _ in range(resamples)]
    tail = (1 - level) / 2 * 100
    return Interval(float(statistic(np.arange(n))), float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail)), n)
