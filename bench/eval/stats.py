"""Uncertainty: percentile bootstrap confidence intervals, with a fixed seed so reports are reproducible.

>>> ci = bootstrap_ci([1, 0, 1, 1, 0, 1, 1, 1], resamples=1000, seed=0)
>>> ci.mean, ci.low < ci.mean < ci.high
(0.75, True)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binom, norm

from bench.records.scores import Interval

NO_VALUE = Interval(mean=float("nan"), low=float("nan"), high=float("nan"), n=0)
MCNEMAR = "McNemar (mid-p)"  # the name the paired test of right/wrong scores is stored and reported under

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


def is_binary(values) -> bool:
    return all(v in (0, 1) for v in values)


def wilson_interval(values: list[float], level: float = 0.95) -> Interval:
    """Wilson score interval for a rate: near its nominal coverage at n = 40 where a percentile bootstrap is not
    (0/40 gives [0, 8.8%], not [0, 0]).

    >>> ci = wilson_interval([0] * 40)
    >>> ci.mean, ci.low, round(ci.high, 3)
    (0.0, 0.0, 0.088)
    """
    n = len(values)
    if n == 0:
        return NO_VALUE
    z, p = float(norm.ppf(0.5 + level / 2)), sum(values) / n
    centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # the bounds hold the estimate exactly (at 0 or n successes rounding would otherwise leave it a hair outside)
    return Interval(mean=p, low=min(p, max(0.0, centre - half)), high=max(p, min(1.0, centre + half)), n=n)


def mean_interval(values: list[float], resamples: int = 1000, seed: int = 0, level: float = 0.95) -> Interval:
    """A rate (0/1 values) gets a Wilson interval; any other mean a percentile bootstrap."""
    return wilson_interval(values, level) if is_binary(values) else bootstrap_ci(values, resamples, seed, level)


@dataclass(frozen=True)
class PairedTest:
    diff: Interval  # mean of a minus b over the same items, with its 95% interval
    p: float  # two-sided p-value of the test named
    test: str


def paired_test(a: list[float], b: list[float], resamples: int = 1000, seed: int = 0, level: float = 0.95) -> PairedTest:
    """Compare two arms on the same items. Right/wrong scores: McNemar's mid-p test on the discordant pairs, with
    Newcombe's score interval for the difference of paired rates. Other scores: paired bootstrap of the mean difference.

    >>> t = paired_test([1, 1, 1, 1, 1, 1, 1, 1, 0, 1], [0, 0, 0, 1, 0, 0, 0, 1, 0, 0], seed=0)
    >>> round(t.diff.mean, 2), t.diff.low > 0, round(t.p, 4), t.test
    (0.7, True, 0.0078, 'McNemar (mid-p)')
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scored = ~(np.isnan(a) | np.isnan(b))  # items a metric cannot score (a draft with no key facts) pair with nothing
    a, b = a[scored], b[scored]
    if len(a) == 0:
        return PairedTest(NO_VALUE, float("nan"), "none")
    if is_binary(a) and is_binary(b):
        return PairedTest(newcombe_interval(a, b, level), mcnemar(a, b), MCNEMAR)
    diffs = a - b
    means = diffs[resample_indices(len(diffs), resamples, seed)].mean(axis=1)
    return PairedTest(percentile_interval(diffs.mean(), means, len(diffs), level), bootstrap_p(means, resamples), "paired bootstrap")


def bootstrap_p(replicates: np.ndarray, resamples: int) -> float:
    """Two-sided: twice the share of resampled differences on the far side of zero, never reported as exactly 0."""
    return float(min(1.0, 2 * min((replicates <= 0).mean(), (replicates >= 0).mean()) + 1 / resamples))


def mcnemar(a: np.ndarray, b: np.ndarray) -> float:
    """McNemar's mid-p value from the discordant pairs of two 0/1 score lists: the exact binomial test's p less the
    probability of the observed split itself. The exact test is conservative, so it called differences unclear
    whose Newcombe interval excluded zero (70 of a grid of 1,454 tables of 40 items; mid-p: 10, each at p = 0.05
    with a bound within 0.5 points of zero). Fagerland, Lydersen and Laake (2013) recommend mid-p over the exact
    test for this reason; four wins and no loss (p = 0.0625) still do not count.

    >>> round(mcnemar(np.array([1, 1, 1, 1, 0]), np.array([0, 0, 0, 0, 0])), 4)
    0.0625
    """
    only_a, only_b = int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum())
    discordant, fewer = only_a + only_b, min(only_a, only_b)
    if discordant == 0:
        return 1.0
    return float(min(1.0, 2 * (binom.cdf(fewer, discordant, 0.5) - 0.5 * binom.pmf(fewer, discordant, 0.5))))


def newcombe_interval(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> Interval:
    """Newcombe's (1998, method 10) score interval for the difference of two paired rates: each rate's Wilson
    interval, combined with the correlation of the pairs."""
    n = len(a)
    both, only_a, only_b = int(((a == 1) & (b == 1)).sum()), int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum())
    neither = n - both - only_a - only_b
    p1, p2 = (both + only_a) / n, (both + only_b) / n
    w1, w2 = wilson_interval(list(a), level), wilson_interval(list(b), level)
    margins = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
    product = both * neither - only_a * only_b
    product = max(product - n / 2, 0) if product > 0 else product  # Newcombe's continuity correction of phi
    phi = product / np.sqrt(margins) if margins else 0.0
    below = np.sqrt(max(0.0, (p1 - w1.low) ** 2 - 2 * phi * (p1 - w1.low) * (w2.high - p2) + (w2.high - p2) ** 2))
    above = np.sqrt(max(0.0, (w1.high - p1) ** 2 - 2 * phi * (w1.high - p1) * (p2 - w2.low) + (p2 - w2.low) ** 2))
    return Interval(mean=p1 - p2, low=float(p1 - p2 - below), high=float(p1 - p2 + above), n=n)


def seed_paired_test(a_runs: list[list[float]], b_runs: list[list[float]], resamples: int = 1000, seed: int = 0,
                     level: float = 0.95) -> PairedTest:
    """Compare two arms when one or both were fine-tuned with several seeds (each run: one seed's scores on the same
    items). Each resample draws a seed of each arm and the items, so seed-to-seed variance widens the interval."""
    a, b = np.asarray(a_runs, dtype=float), np.asarray(b_runs, dtype=float)
    scored = ~(np.isnan(a).any(0) | np.isnan(b).any(0))
    a, b = a[:, scored], b[:, scored]
    n = a.shape[1]
    if n == 0:
        return PairedTest(NO_VALUE, float("nan"), "none")
    rng = np.random.default_rng(seed)
    rows = resample_indices(n, resamples, seed)
    pick_a, pick_b = rng.integers(0, len(a), resamples), rng.integers(0, len(b), resamples)
    means = np.array([(a[i, r] - b[j, r]).mean() for i, j, r in zip(pick_a, pick_b, rows)])
    estimate = a.mean() - b.mean()
    return PairedTest(percentile_interval(estimate, means, n, level), bootstrap_p(means, resamples), "seed and item bootstrap")


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p-values (the comparisons one verdict draws), in input order.

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    adjusted, running = [0.0] * len(pvalues), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(pvalues) - rank) * pvalues[i]))
        adjusted[i] = round(running, 12)
    return adjusted


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
