import numpy as np
import pytest
from scipy.stats import binom

from bench.arms.judge import judge_support
from bench.eval.facts import Evidence, draft_contradicts, unsupported_units
from bench.eval.metrics import METRICS
from bench.eval.scoring import interval
from bench.eval.stats import (bootstrap_ci, expected_calibration_error, holm, mcnemar, newcombe_interval, paired_test,
                              seed_paired_test, wilson_interval)
from bench.models.presets import resolve_embedder
from bench.records.config import RetrievalConfig, RunConfig
from bench.records.io import read_json
from bench.records.items import Doc, Example
from bench.records.predictions import Prediction, judge_key
from bench.retrieval.index import build_retriever, load_embedder
from tests.conftest import scored


def test_a_made_up_number_is_unsupported_and_a_quoted_one_is_not():
    evidence = Evidence.of_docs([Doc("d", "Returns", "Returns are accepted within 45 days. The Velkor Nova 3 costs $249.")])
    assert unsupported_units("45 days", evidence) == (1, 0)
    assert unsupported_units("60 days, for the Velkor Nova 3 and the Zorb Max 2", evidence) == (3, 2)


def test_a_draft_contradicts_when_it_states_another_value_of_a_required_kind():
    assert draft_contradicts("It costs $89.", ["$79"])
    assert not draft_contradicts("It costs $79 and returns take 30 days.", ["$79"])  # days is not a required kind


def test_paired_test_finds_no_difference_between_identical_arms():
    same = [1, 0, 1, 1, 0, 1, 0, 0]
    result = paired_test(same, same)
    assert result.diff.mean == 0 and result.diff.low <= 0 <= result.diff.high and result.p == 1.0 and result.test == "McNemar (mid-p)"


def test_paired_test_leaves_out_items_either_arm_could_not_be_scored_on():
    nan = float("nan")  # key-fact recall of a draft whose reference has no key facts
    result = paired_test([0.5, nan, 1.0, 0.0, nan], [0.0, 0.5, 1.0, 0.0, nan])
    assert result.diff.n == 3 and result.diff.mean == pytest.approx(0.5 / 3)
    assert result.diff.low <= result.diff.mean <= result.diff.high


def test_right_wrong_scores_get_the_mid_p_mcnemar_test_and_others_the_bootstrap():
    assert paired_test([0.5, 1], [0, 1]).test == "paired bootstrap"
    assert mcnemar(np.array([1] * 10), np.array([0] * 10)) == pytest.approx(1 / 2**10)  # exact: 2 / 2**10
    assert mcnemar(np.array([1] * 6 + [0] * 2), np.array([0] * 6 + [1] * 2)) == pytest.approx(46 / 256)  # 2 * (37 - 28 / 2) / 256


def test_mid_p_agrees_with_the_interval_where_the_exact_test_did_not():
    """Nine wins and two losses in 40: Newcombe's interval excludes zero, and the exact test's p = 0.065 called it
    no clear difference; the mid-p test says 0.039."""
    a, b = [1] * 9 + [0] * 2 + [0] * 29, [0] * 9 + [1] * 2 + [0] * 29
    result = paired_test(a, b)
    assert result.diff.low > 0 and result.p == pytest.approx(0.0386, abs=1e-4)


def test_four_wins_and_no_loss_of_forty_is_not_significant():
    """The paired bootstrap said p = 0.029 here; the mid-p test says 0.0625 (the exact test 0.125), and the interval
    includes 0."""
    a, b = [1] * 14 + [0] * 26, [1] * 10 + [0] * 30
    result = paired_test(a, b)
    assert result.p == pytest.approx(0.0625) and result.diff.low < 0 < result.diff.high


def coverage(interval, n: int, p: float) -> float:
    """Exact coverage: every possible count of successes weighted by its binomial probability."""
    hits = [k for k in range(n + 1) if (ci := interval([1] * k + [0] * (n - k))).low - 1e-12 <= p <= ci.high + 1e-12]
    return float(binom.pmf(hits, n, p).sum())


@pytest.mark.parametrize("p", [0.02, 0.05, 0.1, 0.2, 0.5])
def test_rate_intervals_keep_their_coverage_at_forty_items(p):
    assert coverage(wilson_interval, 40, p) >= 0.92
    assert wilson_interval([0] * 40).high > 0  # 0/40 is not certainty
    for k in range(7):  # every interval holds its estimate exactly
        ci = wilson_interval([1] * k + [0] * (6 - k))
        assert ci.low <= ci.mean <= ci.high


def test_the_percentile_bootstrap_would_not_have():
    assert coverage(lambda values: bootstrap_ci(values, 1000, 0), 40, 0.05) < 0.9


@pytest.mark.parametrize("right_a, a_loses, a_gains, floor", [
    (0.5, 0.2, 0.1, 0.93),  # discordant pairs both ways
    (0.6, 1 / 6, 0.0, 0.88),  # every discordant pair one way, ~4 of them: Newcombe's weakest case (about 0.90)
])
def test_paired_rate_intervals_cover_the_true_difference(right_a, a_loses, a_gains, floor):
    rng = np.random.default_rng(0)
    truth, hits = right_a * a_loses - (1 - right_a) * a_gains, 0
    for _ in range(400):
        a = (rng.random(40) < right_a).astype(float)
        b = np.where(a == 1, (rng.random(40) >= a_loses).astype(float), (rng.random(40) < a_gains).astype(float))
        ci = newcombe_interval(a, b)
        hits += ci.low - 1e-12 <= truth <= ci.high + 1e-12
    assert hits / 400 >= floor


def test_seed_to_seed_variance_widens_a_fine_tuning_comparison():
    rng = np.random.default_rng(1)
    base = (rng.random(40) < 0.5).astype(float)
    seeds = [np.where(rng.random(40) < 0.3, 1 - base, base) for _ in range(3)]  # three seeds that disagree a lot
    one = paired_test(seeds[0], base)
    several = seed_paired_test(seeds, [base])
    assert several.test == "seed and item bootstrap"
    assert several.diff.high - several.diff.low > one.diff.high - one.diff.low


def test_holm_adjusts_the_verdicts_family_together():
    assert holm([0.01, 0.04, 0.03]) == [0.03, 0.06, 0.06]
    assert holm([0.2]) == [0.2]


def test_calibration_error_is_zero_for_calibrated_and_large_for_overconfident_answers():
    assert expected_calibration_error([0.5, 0.5, 1.0], [1, 0, 1]) == 0.0
    assert expected_calibration_error([0.99] * 4, [0, 0, 0, 1]) == pytest.approx(0.74)


def prediction(item_id: str, question: str, output: str) -> Prediction:
    return Prediction(id=item_id, input=question, prompt_hash="0", output=output, prompt_tokens=5, output_tokens=2, seconds=0.1)


def test_judge_scores_each_distinct_answer_once_and_caches_it(tiny_model_dir, tmp_path):
    docs = [Doc("d1", "Returns", "Returns are accepted within 45 days."), Doc("d2", "Support", "Support is open 8 to 18.")]
    retriever, _ = build_retriever(docs, "all-minilm-l6-v2", load_embedder(resolve_embedder("all-minilm-l6-v2"), "cpu"), RetrievalConfig())
    predictions = [prediction("q1", "How long can I return items?", "45 days"), prediction("q2", "When is support open?", ""),
                   prediction("q1", "How long can I return items?", "90 days"), prediction("q1", "How long can I return items?", "45 days")]
    cache = tmp_path / "judge.json"
    judge_support(predictions, retriever, str(tiny_model_dir), "cpu", 1, cache)
    judged = read_json(cache)
    assert set(judged) == {judge_key(predictions[0]), judge_key(predictions[2])}  # empty answers are not judged; repeats once
    assert all(0 <= p <= 1 for p in judged.values())
    judge_support(predictions, retriever, "no-such-model", "cpu", 1, cache)  # all cached: no model is loaded
    assert read_json(cache) == judged


def test_every_hallucination_interval_contains_its_estimate():
    corpus = [Doc("d", "Brew 8", "The Matal Brew 8 costs $79 and has a 15 months warranty.")]
    outputs = ["It costs $79.", "It costs $89 and $99 and $109.", "The Matal Brew 8.", "Sure!", "$79, 15 months"]
    items = [scored(Example(str(i), "email", ("The Matal Brew 8 costs $79.",), gold_docs=("d",)), o, "drafting", corpus_docs=corpus)
             for i, o in enumerate(outputs)]
    cfg = RunConfig(task="t")
    found = {m: interval(METRICS[m], items, cfg) for m in ("contradicted", "unsupported_units")}
    for name, ci in found.items():
        assert ci.low <= ci.mean <= ci.high, name
    assert found["unsupported_units"].mean == pytest.approx(3 / 7)  # pooled: 3 of the 7 values ($89, $99, $109)
