import pytest

from bench.arms.judge import judge_support
from bench.eval.facts import CorpusText, draft_contradicts, unsupported_units
from bench.eval.metrics import METRICS
from bench.eval.scoring import interval
from bench.eval.stats import expected_calibration_error, mcnemar, paired_test
from bench.models.presets import resolve_embedder
from bench.records.config import RetrievalConfig, RunConfig
from bench.records.io import read_json
from bench.records.items import Doc, Example
from bench.records.predictions import Prediction, judge_key
from bench.retrieval.index import build_retriever, load_embedder
from tests.conftest import scored


def test_a_made_up_number_is_unsupported_and_a_quoted_one_is_not():
    corpus = CorpusText([Doc("d", "Returns", "Returns are accepted within 45 days. The Velkor Nova 3 costs $249.")])
    assert unsupported_units("45 days", corpus) == (1, 0)
    assert unsupported_units("60 days, for the Velkor Nova 3 and the Zorb Max 2", corpus) == (3, 2)


def test_a_draft_contradicts_when_it_states_another_value_of_a_required_kind():
    assert draft_contradicts("It costs $89.", ["$79"])
    assert not draft_contradicts("It costs $79 and returns take 30 days.", ["$79"])  # days is not a required kind


def test_paired_test_finds_no_difference_between_identical_arms():
    same = [1, 0, 1, 1, 0, 1, 0, 0]
    result = paired_test(same, same)
    assert result.diff.mean == 0 and result.diff.low == 0 == result.diff.high and result.p_mcnemar == 1.0
    assert result.p_bootstrap == 1.0


def test_paired_test_leaves_out_items_either_arm_could_not_be_scored_on():
    nan = float("nan")  # key-fact recall of a draft whose reference has no key facts
    result = paired_test([0.5, nan, 1.0, 0.0, nan], [0.0, 0.5, 1.0, 0.0, nan])
    assert result.diff.n == 3 and result.diff.mean == pytest.approx(0.5 / 3)
    assert result.diff.low <= result.diff.mean <= result.diff.high


def test_mcnemar_applies_only_to_binary_scores():
    assert mcnemar([0.5, 1], [0, 1]) is None
    assert mcnemar([1] * 10, [0] * 10) == pytest.approx(2 / 2**10)


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
    items = [scored(Example(str(i), "email", ("The Matal Brew 8 costs $79.",)), o, "drafting", corpus_docs=corpus)
             for i, o in enumerate(outputs)]
    cfg = RunConfig(task="t")
    found = {m: interval(METRICS[m], items, cfg) for m in ("contradicted", "unsupported_units")}
    for name, ci in found.items():
        assert ci.low <= ci.mean <= ci.high, name
    assert found["unsupported_units"].mean == pytest.approx(3 / 7)  # pooled: 3 of the 7 units ($89, $99, $109)
