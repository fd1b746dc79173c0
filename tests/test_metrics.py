import doctest
import math

import pytest

from bench.arms import prompts
from bench.eval import answers, facts, stats
from bench.eval.answers import contains_answer, exact_match, is_abstention, recall_at_k, token_f1
from bench.eval.facts import required_facts
from bench.eval.metrics import METRICS, family_metrics
from bench.eval.stats import bootstrap_ci
from bench.records import arms, config
from bench.records.items import Doc, Example
from tests.conftest import scored


@pytest.mark.parametrize("module", [answers, facts, stats, prompts, config, arms])
def test_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_exact_match_ignores_case_punctuation_and_articles_but_not_numbers():
    assert exact_match("The Velkor Aero 3.", ["velkor aero 3"]) == 1.0
    assert exact_match("1.4 kg", ["1.4 kg"]) == 1.0
    assert exact_match("14 kg", ["1.4 kg"]) == 0.0


def test_token_f1_takes_the_best_accepted_answer():
    assert token_f1("24 months", ["2 years", "24 months"]) == 1.0
    assert token_f1("about 24 months", ["24 months"]) == pytest.approx(0.8)
    assert token_f1("", ["24 months"]) == 0.0


def test_contains_answer_matches_whole_tokens_only():
    assert contains_answer("It costs $249 today", ["$249"]) == 1.0
    assert contains_answer("It costs $2490", ["$249"]) == 0.0


@pytest.mark.parametrize("text", ["I don't know", "I do not know.", "The documents do not say.", "Unknown", "not stated", ""])
def test_declining_phrases_count_as_abstention(text):
    assert is_abstention(text)


@pytest.mark.parametrize("text", ["$249", "18 months", "The Known Lamp 2", "2019"])
def test_answers_do_not_count_as_abstention(text):
    assert not is_abstention(text)


def test_recall_at_k_is_one_when_any_gold_document_is_retrieved():
    assert recall_at_k(["doc-1", "doc-7"], ["doc-7"]) == 1.0
    assert recall_at_k(["doc-1", "doc-2"], ["doc-7"]) == 0.0


def test_bootstrap_interval_is_reproducible_and_narrows_with_more_items():
    small, large = bootstrap_ci([1, 0] * 10, seed=3), bootstrap_ci([1, 0] * 200, seed=3)
    assert small == bootstrap_ci([1, 0] * 10, seed=3)
    assert (large.high - large.low) < (small.high - small.low)
    assert small.low < 0.5 < small.high


# --- the registry: one common test for every metric --------------------------------------------------------

REFERENCE = "The Matal Brew 8 costs $79 and has a warranty of 15 months."
CORPUS = [Doc("d", "Matal Brew 8", REFERENCE)]
LABELS = ["kettle", "lamp"]
# per family: an item, a right answer and a wrong one (choice: label log-probabilities confident in each)
CASES = {
    "qa": (Example("q", "What does the Matal Brew 8 cost?", ("$79", "79 dollars"), gold_docs=("d",)), ("$79", None), ("$89", None)),
    "drafting": (Example("r", "Reply about the Matal Brew 8", (REFERENCE,), gold_docs=("d",)), (REFERENCE, None),
                 ("Our office is closed on Sundays.", None)),
    "choice": (Example("c", "My Brew 8 leaks", ("kettle",), gold_docs=("d",)), ("kettle", [-0.1, -3.0]), ("lamp", [-3.0, -0.1])),
}


def value(metric, family, answer):
    item, (output, logprobs) = CASES[family][0], answer
    found = metric.value(scored(item, output, family, LABELS if family == "choice" else None, CORPUS, ["d#0"], logprobs))
    return found if found is None or metric.per_item else metric.pooled([found])


@pytest.mark.parametrize("name", sorted(METRICS))
def test_every_registered_metric_is_defined_and_gives_a_share_or_nothing(name):
    metric = METRICS[name]
    assert metric.label and metric.definition and metric.better in ("higher", "lower") and metric.families
    for family in metric.families:
        for answer in CASES[family][1:]:
            found = value(metric, family, answer)
            assert found is None or math.isnan(found) or 0.0 <= found <= 1.0, (family, answer, found)
            assert value(metric, family, answer) == found or math.isnan(found)  # deterministic


@pytest.mark.parametrize("name", [m.name for family in CASES for m in family_metrics(family, per_item=None)])
def test_every_accuracy_metric_gives_the_gold_full_marks_and_a_wrong_answer_less(name):
    metric = METRICS[name]
    for family in metric.families:
        right, wrong = value(metric, family, CASES[family][1]), value(metric, family, CASES[family][2])
        assert right == pytest.approx(1.0) and 0.0 <= wrong < right


def test_each_family_has_a_headline_first():
    assert [m.name for m in family_metrics("qa")] == ["em", "f1", "contains"]
    assert [m.name for m in family_metrics("choice")] == ["accuracy"]
    assert [m.name for m in family_metrics("drafting")] == ["fact_recall", "rouge_l"]


def test_metric_errors_are_not_swallowed():
    with pytest.raises(IndexError):  # a drafting item without a reference is a bug, and says so
        METRICS["rouge_l"].value(scored(Example("1", "x", ()), "text", "drafting"))


def test_derived_facts_leave_out_what_the_input_already_states_but_listed_facts_stay():
    reference = "Marketing proposed a 25 Euro price; Industrial Designer wanted rubber buttons."
    query = Example("q", "What did Industrial Designer think of the price?", (reference,))
    assert required_facts(query) == ["25"]
    assert METRICS["fact_recall"].value(scored(query, "Industrial Designer liked it.", "drafting")) == 0.0
    listed = Example("q", query.input, (reference,), facts=("Industrial Designer",))
    assert required_facts(listed) == ["Industrial Designer"]
