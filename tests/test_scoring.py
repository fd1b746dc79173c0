import math

import pytest

from bench.scoring import metric_family, score_item
from bench.tasks import Example


@pytest.mark.parametrize("kind, labels, family", [("qa", None, "qa"), ("qa", ["yes", "no"], "choice"),
                                                  ("classification", ["a"], "choice"), ("drafting", None, "drafting")])
def test_metric_family_follows_kind_and_answer_set(kind, labels, family):
    assert metric_family(kind, labels) == family


def test_choice_items_score_the_chosen_label_and_its_confidence():
    item = Example("1", "msg", ("billing",))
    scores = score_item("choice", item, "billing", [], ["billing", "delivery"], {"billing": 0.7, "delivery": 0.3})
    assert scores == {"predicted": "billing", "accuracy": 1.0, "confidence": 0.7, "gold_prob": 0.7}


def test_generated_labels_are_parsed_and_off_set_answers_count_as_wrong():
    item = Example("1", "msg", ("delivery",))
    assert score_item("choice", item, "Category: delivery.", [], ["billing", "delivery"], None)["accuracy"] == 1.0
    assert score_item("choice", item, "shipping", [], ["billing", "delivery"], None) == {"predicted": None, "accuracy": 0.0}


def test_drafting_scores_listed_facts_or_derives_them_from_the_reference():
    reference = "The Matal Brew 8 costs $79 and carries a 15 months warranty."
    listed = score_item("drafting", Example("1", "email", (reference,), facts=("$79",)), "It costs $79.", [], None, None)
    derived = score_item("drafting", Example("1", "email", (reference,)), "It costs $79.", [], None, None)
    assert listed["fact_recall"] == 1.0 and derived["fact_recall"] == pytest.approx(1 / 3)
    assert 0 < listed["rouge_l"] < 1


def test_qa_unanswerable_items_score_abstention_only_and_retrieval_scores_recall():
    unanswerable = score_item("qa", Example("1", "q", (), "unanswerable"), "I don't know", ["d1"], None, None)
    answered = score_item("qa", Example("2", "q", ("$79",), gold_docs=("d1",)), "$79", ["d1", "d2"], None, None)
    assert unanswerable == {"abstained": True}
    assert answered == {"abstained": False, "em": 1.0, "f1": 1.0, "contains": 1.0, "recall_at_k": 1.0}
    assert math.isnan(score_item("drafting", Example("3", "e", ("no facts here",)), "x", [], None, None)["fact_recall"])


def test_comparisons_list_each_stratum_once_even_when_the_only_stratum_is_named_all():
    from types import SimpleNamespace

    from bench.scoring import comparisons
    cfg = SimpleNamespace(bootstrap_resamples=200, seed=0)
    records = {arm: [{"id": str(i), "stratum": "all", "scores": {"accuracy": float((i + shift) % 2)}} for i in range(10)]
               for arm, shift in [("rag", 0), ("ft", 1)]}
    assert [row["stratum"] for row in comparisons(records, "accuracy", cfg)] == ["all"]
    two_strata = {arm: [dict(r, stratum="seen" if int(r["id"]) < 5 else "unseen") for r in rows] for arm, rows in records.items()}
    assert [row["stratum"] for row in comparisons(two_strata, "accuracy", cfg)] == ["all", "seen", "unseen"]


def test_majority_baseline_is_the_share_of_the_most_frequent_gold_label():
    from bench.scoring import majority_baseline
    items = [Example(str(i), f"q{i}", (label,)) for i, label in enumerate(["yes", "no", "yes", "maybe", "yes"])]
    assert majority_baseline(items) == {"label": "yes", "accuracy": 0.6, "items": 5}
    assert majority_baseline([Example("u", "q", ())]) is None
