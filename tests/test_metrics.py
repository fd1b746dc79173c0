import doctest
import math

import pytest

from bench.arms import prompts
from bench.data import values
from bench.eval import answers, declines, facts, stats
from bench.eval.answers import answer_correct, exact_match, mentions, recall_at_k, token_f1
from bench.eval.declines import DECLINE_OPENINGS, DECLINE_WHOLE
from bench.eval.declines import declines as is_decline
from bench.eval.facts import Evidence, draft_contradicts, required_facts, unsupported_units
from bench.data.values import find_values
from bench.eval.metrics import METRICS, family_metrics
from bench.eval.stats import bootstrap_ci
from bench.records import arms, config
from bench.records.items import Doc, Example
from tests.conftest import scored


@pytest.mark.parametrize("module", [answers, declines, facts, stats, values, prompts, config, arms])
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


@pytest.mark.parametrize("text, kind, key", [
    ("The restocking fee is 11%.", "percent", "11"), ("a fee of 11 percent", "percent", "11"),
    ("It costs $1,279.", "money", "1279"), ("USD 1279", "money", "1279"), ("1279 dollars", "money", "1279"),
    ("Open 7:30 to 19:00", "time_range", "07:30-19:00"), ("open 8:30 am - 5 pm", "time_range", "08:30-17:00"),
    ("calls after 7 pm", "time", "19:00"), ("released on 5 March 2021", "date", "2021-03-05"), ("on 2021-03-05", "date", "2021-03-05"),
    ("a warranty of 3 years", "months", "36"), ("It weighs 0.76 kg", "kg", "0.76"), ("It holds 1.0 litres", "litres", "1"),
    ("repairs take 7 business days", "business days", "7"), ("rated at 450 W", "watts", "450"),
])
def test_each_value_comes_out_whole_with_its_unit(text, kind, key):
    (found,) = find_values(text)
    assert (found.kind, found.key) == (kind, key)


def test_a_time_range_is_one_value_not_four():
    assert [v.text for v in find_values("Phone support is open from 7:30 to 19:00.")] == ["7:30 to 19:00"]


def test_a_wrong_percentage_in_a_draft_is_caught():
    assert draft_contradicts("The restocking fee is 19%.", ["11%"])
    assert not draft_contradicts("The restocking fee is 11%.", ["11%"])


def test_a_value_must_match_with_its_unit():
    golds = ["24 months", "24", "2 years", "two years"]
    assert answer_correct("It lasts 24 hours.", golds) == 0.0
    assert answer_correct("The warranty lasts 24 months.", golds) == 1.0 and answer_correct("It is covered for 2 years.", golds) == 1.0
    assert not mentions("It lasts 24 hours", "24") and mentions("24", "24")


def test_a_hedge_listing_several_values_of_the_asked_kind_is_wrong():
    assert answer_correct("It costs $199, $249 or $299.", ["$249", "249"]) == 0.0
    assert answer_correct("It costs $249 and ships free over $79.", ["$249", "249"]) == 0.0  # another price: not one answer
    assert answer_correct("It costs $249 and weighs 2 kg.", ["$249", "249"]) == 1.0  # another kind: no conflict


def test_a_right_answer_stated_in_a_sentence_is_correct_and_numbers_in_the_question_do_not_conflict():
    question = "What is the price of the Kulker Mode 3?"
    golds = ["$1,279", "1279", "1279 dollars", "USD 1279", "1,279", "$1279"]
    assert answer_correct("The price of the Kulker Mode 3 is $1,279.", golds, question) == 1.0
    assert answer_correct("The kulker mode 3 costs 1279 dollars.", golds, question) == 1.0  # "3" is the question's
    assert answer_correct("I don't know.", golds, question) == 0.0 and answer_correct("", golds, question) == 0.0
    assert exact_match("The price of the Kulker Mode 3 is $1,279.", golds) == 0.0  # EM stays what it is


DECLINES = ["I don't know", "I do not know.", "I'm not sure", "I am not sure what it costs.", "I don't have that information.",
            "I don\u2019t have that information.", "The documents do not provide the warranty period.", "The text doesn't mention it.",
            "I cannot find the answer in the documents.", "I can't find that.", "Sorry, I don't know.", "Unfortunately, the context does not say.",
            "There is no information about that.", "Not stated.", "N/A", "Unknown.", "It is not mentioned in the documents.",
            "This cannot be determined.", "I have no idea.", "No information is given.", "The provided documents have no information about it.",
            "No answer.", "Unanswerable", "Not known", "None given", "Cannot answer.", "I'm unable to determine that.", "No idea.",
            "Can't answer.", "Cannot be determined.", 'The answer is "I don\'t know".',
            'The answer to your question is: "I don\'t know."', "The answer is unknown."]
NOT_DECLINES = ["It is not available in red.", "It is unknown to most people but costs $79.", "$249", "18 months", "The Known Lamp 2",
                "2019", "I don't know why, but it costs $79.", "I'm not sure, but it costs $79.", "Not at all: it weighs 2 kg.", "",
                "The answer is 2019.", "The answer to your question is: the Kulker Core 5"]


@pytest.mark.parametrize("text", DECLINES)
def test_the_common_ways_to_decline_are_recognised(text):
    assert is_decline(text)


@pytest.mark.parametrize("text", NOT_DECLINES)
def test_a_negation_a_hedged_value_or_an_empty_output_is_not_a_decline(text):
    assert not is_decline(text)


@pytest.mark.parametrize("pattern", DECLINE_OPENINGS + DECLINE_WHOLE)
def test_every_documented_way_to_decline_has_an_example_above(pattern):
    import re
    plain = [t.lower().replace("\u2019", "'").removeprefix("sorry, ").removeprefix("unfortunately, ").rstrip(".") for t in DECLINES]
    assert any(re.match(pattern + r"\b", t) for t in plain), pattern


def test_a_value_copied_from_another_products_page_is_unsupported():
    evidence = Evidence.of_values(["$529", "36 months", "0.76 kg", "Zoral Mode 8"])  # the Netin Neo 5's own facts
    question = "What is the price of the Netin Neo 5?"
    assert unsupported_units("The Netin Neo 5 costs $139.", evidence, question) == (1, 1)  # $139 is the Kulker Solo 6's price
    assert unsupported_units("The Netin Neo 5 costs $529.", evidence, question) == (1, 0)  # the name repeats the question: no fact


def test_a_true_fact_of_the_same_kind_beside_the_required_one_is_not_a_contradiction():
    evidence = Evidence.of_values(["$529", "36 months", "$79"])  # the product's price and the store's free-shipping threshold
    assert not draft_contradicts("It costs $529, and shipping is free over $79.", ["$529"], evidence)
    assert draft_contradicts("It costs $499, and shipping is free over $79.", ["$529"], evidence)


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
    assert [m.name for m in family_metrics("qa")] == ["correct", "em", "f1"]
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
