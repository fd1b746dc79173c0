import math
from types import SimpleNamespace

import pytest

from bench.eval.metrics import METRICS, metric_family
from bench.eval.scoring import comparisons, majority_baseline
from bench.records.items import Example
from tests.conftest import scored


def values(s) -> dict:
    """Every registered metric that applies to a scored item, as the score stage writes them to item_scores/."""
    return {m.name: v for m in METRICS.values() if m.per_item and s.family in m.families and (v := m.value(s)) is not None}


@pytest.mark.parametrize("kind, labels, family", [("qa", None, "qa"), ("qa", ["yes", "no"], "choice"),
                                                  ("classification", ["a"], "choice"), ("drafting", None, "drafting")])
def test_metric_family_follows_kind_and_answer_set(kind, labels, family):
    assert metric_family(kind, labels) == family


def test_choice_items_score_the_chosen_label_and_its_confidence():
    item = Example("1", "msg", ("billing",))
    s = scored(item, "billing", "choice", ["billing", "delivery"], logprobs=[math.log(0.7), math.log(0.3)])
    assert s.predicted == "billing" and s.confidence == pytest.approx(0.7)
    assert values(s) == {"accuracy": 1.0, "confident_errors": 0.0}


def test_generated_labels_are_parsed_and_off_set_answers_count_as_wrong():
    item = Example("1", "msg", ("delivery",))
    assert values(scored(item, "Category: delivery.", "choice", ["billing", "delivery"]))["accuracy"] == 1.0
    off_set = scored(item, "shipping", "choice", ["billing", "delivery"])
    assert off_set.predicted is None and values(off_set) == {"accuracy": 0.0}  # no probabilities: no confidence measures


def test_drafting_scores_listed_facts_or_derives_them_from_the_reference():
    reference = "The Matal Brew 8 costs $79 and carries a 15 months warranty."
    listed = values(scored(Example("1", "email", (reference,), facts=("$79",)), "It costs $79.", "drafting"))
    derived = values(scored(Example("1", "email", (reference,)), "It costs $79.", "drafting"))
    assert listed["fact_recall"] == 1.0 and derived["fact_recall"] == pytest.approx(1 / 3)
    assert 0 < listed["rouge_l"] < 1


def test_qa_unanswerable_items_score_declining_only_and_retrieval_scores_recall():
    unanswerable = values(scored(Example("1", "q", (), "unanswerable"), "I don't know", retrieved=["d1#0"]))
    answered = values(scored(Example("2", "q", ("$79",), gold_docs=("d1",)), "$79", retrieved=["d1#0", "d2#0"]))
    assert unanswerable == {"abstain_on_unanswerable": 1.0, "answered_unanswerable": 0.0}
    assert answered == {"em": 1.0, "f1": 1.0, "contains": 1.0, "wrongly_declined": 0.0, "contradicted": 0.0, "recall_at_k": 1.0}
    assert math.isnan(values(scored(Example("3", "e", ("no facts here",)), "x", "drafting"))["fact_recall"])


def test_retrieved_chunks_name_their_documents_even_when_document_ids_hold_a_hash():
    item = Example("q", "Summarize", ("x",), gold_docs=("meeting#3",))  # qmsum's windows are "<meeting>#<n>"
    assert values(scored(item, "x", retrieved=["meeting#3#0"]))["recall_at_k"] == 1.0


def test_comparisons_list_each_stratum_once_even_when_the_only_stratum_is_named_all():
    cfg = SimpleNamespace(bootstrap_resamples=200, seed=0)
    by_arm = {arm: [scored(Example(str(i), "q", ("yes",)), "yes" if (i + shift) % 2 else "no") for i in range(10)]
              for arm, shift in [("rag", 0), ("ft", 1)]}
    assert [row.stratum for row in comparisons(by_arm, METRICS["em"], cfg)] == ["all"]
    two_strata = {arm: [scored(Example(s.item.id, "q", ("yes",), "seen" if int(s.item.id) < 5 else "unseen"), s.output)
                        for s in rows] for arm, rows in by_arm.items()}
    assert [row.stratum for row in comparisons(two_strata, METRICS["em"], cfg)] == ["all", "seen", "unseen"]


def test_majority_baseline_is_the_share_of_the_most_frequent_gold_label():
    items = [Example(str(i), f"q{i}", (label,)) for i, label in enumerate(["yes", "no", "yes", "maybe", "yes"])]
    found = majority_baseline(items)
    assert (found.label, found.accuracy, found.items) == ("yes", 0.6, 5)
    assert majority_baseline([Example("u", "q", ())]) is None
