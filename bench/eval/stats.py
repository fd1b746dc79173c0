"""Uncertainty: percentile bootstrap confidence intervals, with a fixed seed so reports are reproducible.

>>> ci = bootstrap_ci([1, 0, 1, 1, 0, 1, 1, 1], resamples=1000, seed=0)
>>> ci.mean, ci.low < ci.mean < ci.high
(0.75, True)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest

from bench.records.scores import Interval

NO_VALUE = Interval(mean=float("nan"), low=float("nan"), high=float("nan"), n=0)

def resample_indices(n: int, resamples: int, seed: int) -> np.ndarray:
    """The bootstrap's one source of randomness: `resamples` rows of n item indices drawn with replacement."""
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def percentile_interval(estimate: float, replicates: np.ndarray, n: int, level: float) -> Interval:
    tail = (1 - level) / 2 * 100
    return Interval(mean=float(estimate), low=float(np.percentile(replicates, tail)),
                    high=float(np.percentile(replicates, 100 - tail)), n=n)


def bootstrap_ci(values: list[float], resamples: int = 1000, seed: int = 0, level: float = 0.95) -> Interval:
    data = np.asarray(values, dtype=float)
    if len(data) == 0:
        return NO_VALUE
    means = data[resample_indices(len(data), resamples, seed)].mean(axis=1)
    return percentile_interval(data.mean(), means, len(data), level)


def bootstrap_statistic(n: int, statistic, resamples: int = 1000, seed: int = 0, level: float = 0.95) -> Interval:
    """Percentile bootstrap for a statistic of the whole sample (e.g. macro-F1), given as a function of item indices."""
    if n == 0:
        return NO_VALUE
    values = [statistic(rows) for rows in resample_indices(n, resamples, seed)]
    return percentile_interval(statistic(np.arange(n)), np.asarray(values), n, level)


@dataclass(frozen=True)
class PairedTest:
    diff: Interval  # mean of a minus b over the same items, with its bootstrap interval
    p_bootstrap: float  # two-sided: how often the resampled difference falls on the other side of zero
    p_mcnemar: float | None  # exact McNemar test, when both outcomes are binary


def paired_test(a: list[float], b: list[float], resamples: int = 1000, seed: int = 0, level: float = 0.95) -> PairedTest:
    """Compare two arms on the same items: paired bootstrap of the mean difference, and McNemar for 0/1 scores.

    >>> t = paired_test([1, 1, 1, 1, 1, 1, 1, 1, 0, 1], [0, 0, 0, 1, 0, 0, 0, 1, 0, 0], seed=0)
    >>> round(t.diff.mean, 2), t.diff.low > 0, round(t.p_mcnemar, 4)
    (0.7, True, 0.0156)
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scored = ~(np.isnan(a) | np.isnan(b))  # items a metric cannot score (a draft with no key facts) pair with nothing
    a, b = a[scored], b[scored]
    diffs = a - b
    if len(diffs) == 0:
        return PairedTest(NO_VALUE, float("nan"), None)
    means = diffs[resample_indices(len(diffs), resamples, seed)].mean(axis=1)
    interval = percentile_interval(diffs.mean(), means, len(diffs), level)
    # share of resamples on each side of zero; two-sided, and never reported as exactly 0
    p_boot = min(1.0, 2 * min((means <= 0).mean(), (means >= 0).mean()) + 1 / resamples)
    return PairedTest(interval, float(p_boot), mcnemar(a, b))


def mcnemar(a: list[float], b: list[float]) -> float | None:
    """Exact McNemar p-value from the discordant pairs; None unless both score lists are 0/1."""
    if not all(v in (0, 1) for v in list(a) + list(b)):
        return None
    only_a = sum(1 for x, y in zip(a, b) if x == 1 and y == 0)
    only_b = sum(1 for x, y in zip(a, b) if x == 0 and y == 1)
    return 1.0 if only_a + only_b == 0 else float(binomtest(only_a, only_a + only_b, 0.5).pvalue)


def expected_calibration_error(confidences: list[float], correct: list[float], bins: int = 10) -> float:
    """Weighted mean gap between confidence and accuracy over equal-width confidence bins.

    >>> expected_calibration_error([0.9, 0.9, 0.6, 0.6], [1, 0, 1, 1])
    0.4
    """
    conf, hit = np.asarray(confidences, dtype=float), np.asarray(correct, dtype=float)
    if len(conf) == 0:
        return float("nan")
    which = np.minimum((conf * bins).astype(int), bins - 1)
    gaps = [abs(hit[which == b].mean() - conf[which == b].mean()) * (which == b).sum() for b in range(bins) if (which == b).any()]
    return float(sum(gaps) / len(conf))
