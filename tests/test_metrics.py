import doctest

import pytest

from bench import config, metrics, prompts, stats
from bench.stats import bootstrap_ci


@pytest.mark.parametrize("module", [metrics, stats, prompts, config])
def test_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_exact_match_ignores_case_punctuation_and_articles_but_not_numbers():
    assert metrics.exact_match("The Velkor Aero 3.", ["velkor aero 3"]) == 1.0
    assert metrics.exact_match("1.4 kg", ["1.4 kg"]) == 1.0
    assert metrics.exact_match("14 kg", ["1.4 kg"]) == 0.0


def test_token_f1_takes_the_best_accepted_answer():
    assert metrics.token_f1("24 months", ["2 years", "24 months"]) == 1.0
    assert metrics.token_f1("about 24 months", ["24 months"]) == pytest.approx(0.8)
    assert metrics.token_f1("", ["24 months"]) == 0.0


def test_contains_answer_matches_whole_tokens_only():
    assert metrics.contains_answer("It costs $249 today", ["$249"]) == 1.0
    assert metrics.contains_answer("It costs $2490", ["$249"]) == 0.0


@pytest.mark.parametrize("text", ["I don't know", "I do not know.", "The documents do not say.", "Unknown", "not stated", ""])
def test_declining_phrases_count_as_abstention(text):
    assert metrics.is_abstention(text)


@pytest.mark.parametrize("text", ["$249", "18 months", "The Known Lamp 2", "2019"])
def test_answers_do_not_count_as_abstention(text):
    assert not metrics.is_abstention(text)


def test_recall_at_k_is_one_when_any_gold_document_is_retrieved():
    assert metrics.recall_at_k(["doc-1", "doc-7"], ["doc-7"]) == 1.0
    assert metrics.recall_at_k(["doc-1", "doc-2"], ["doc-7"]) == 0.0


def test_bootstrap_interval_is_reproducible_and_narrows_with_more_items():
    small, large = bootstrap_ci([1, 0] * 10, seed=3), bootstrap_ci([1, 0] * 200, seed=3)
    assert small == bootstrap_ci([1, 0] * 10, seed=3)
    assert (large.high - large.low) < (small.high - small.low)
    assert small.low < 0.5 < small.high


from bench.metrics import ITEM_METRICS
from bench.tasks import Example

REFERENCE = Example("1", "Reply about the Matal Brew 8", ("The Matal Brew 8 costs $79 and has a warranty of 15 months.", "$79"))


@pytest.mark.parametrize("name", sorted(ITEM_METRICS))
def test_every_registered_metric_gives_the_gold_full_marks_and_a_wrong_answer_less(name):
    metric = ITEM_METRICS[name]
    perfect, wrong = metric(REFERENCE.targets[0], REFERENCE), metric("Our office is closed on Sundays.", REFERENCE)
    assert perfect == pytest.approx(1.0) and 0.0 <= wrong < perfect
    assert metric(REFERENCE.targets[0], REFERENCE) == perfect  # deterministic


def test_metric_errors_are_not_swallowed():
    with pytest.raises(IndexError):  # a drafting item without a reference is a bug, and says so
        ITEM_METRICS["rouge_l"]("text", Example("1", "x", ()))


def test_derived_facts_leave_out_what_the_input_already_states_but_listed_facts_stay():
    from bench.tasks import Example
    reference = "Marketing proposed a 25 Euro price; Industrial Designer wanted rubber buttons."
    query = Example("q", "What did Industrial Designer think of the price?", (reference,))
    assert metrics.required_facts(query) == ["25"]
    assert metrics.ITEM_METRICS["fact_recall"]("Industrial Designer liked it.", query) == 0.0
    listed = Example("q", query.input, (reference,), facts=("Industrial Designer",))
    assert metrics.required_facts(listed) == ["Industrial Designer"]
