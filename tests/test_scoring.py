import math
from types import SimpleNamespace

import pytest

from bench.eval.metrics import METRICS, metric_family
from bench.eval.scoring import comparisons, majority_baseline, modal_answer
from bench.records.items import Doc, Example
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
    assert unanswerable == {"abstain_on_unanswerable": 1.0, "answered_unanswerable": 0.0, "empty": 0.0}
    assert answered == {"correct": 1.0, "em": 1.0, "f1": 1.0, "wrongly_declined": 0.0, "empty": 0.0, "contradicted": 0.0, "recall_at_k": 1.0}
    assert math.isnan(values(scored(Example("3", "e", ("no facts here",)), "x", "drafting"))["fact_recall"])


def test_an_empty_output_is_neither_a_decline_nor_an_answer_but_its_own_rate():
    found = values(scored(Example("1", "q", (), "unanswerable"), "  "))
    assert found == {"abstain_on_unanswerable": 0.0, "answered_unanswerable": 0.0, "empty": 1.0}


def test_unsupported_facts_use_the_items_evidence_then_its_gold_documents_then_what_was_retrieved():
    docs = [Doc("a", "Netin Neo 5", "The Netin Neo 5 costs $529."), Doc("b", "Kulker Solo 6", "The Kulker Solo 6 costs $139.")]
    question = "What does the Netin Neo 5 cost?"
    copied = "The Netin Neo 5 costs $139."
    by_gold = scored(Example("1", question, ("$529",), gold_docs=("a",)), copied, corpus_docs=docs, retrieved=["b#0"])
    by_retrieval = scored(Example("1", question, ("$529",)), copied, corpus_docs=docs, retrieved=["b#0"])
    by_kb = scored(Example("1", question, ("$529",), gold_docs=("b",), evidence=("$529", "36 months")), copied, corpus_docs=docs,
                   evidence_field=True)
    assert METRICS["unsupported_units"].value(by_gold) == (1, 1) and METRICS["unsupported_units"].value(by_kb) == (1, 1)
    assert METRICS["unsupported_units"].value(by_retrieval) == (1, 0)  # the chunks it was given do say $139
    assert METRICS["unsupported_units"].value(scored(Example("1", question, ("$529",)), copied)) is None  # no evidence at all


def test_retrieved_chunks_name_their_documents_even_when_document_ids_hold_a_hash():
    item = Example("q", "Summarize", ("x",), gold_docs=("meeting#3",))  # qmsum's windows are "<meeting>#<n>"
    assert values(scored(item, "x", retrieved=["meeting#3#0"]))["recall_at_k"] == 1.0


def test_comparisons_list_each_stratum_once_even_when_the_only_stratum_is_named_all():
    cfg = SimpleNamespace(bootstrap_resamples=200, seed=0)
    by_arm = {arm: [scored(Example(str(i), "q", ("yes",)), "yes" if (i + shift) % 2 else "no") for i in range(10)]
              for arm, shift in [("rag", 0), ("ft", 1)]}
    assert [row.stratum for row in comparisons({arm: [run] for arm, run in by_arm.items()}, METRICS["em"], cfg)] == ["all"]
    two_strata = {arm: [[scored(Example(s.item.id, "q", ("yes",), "seen" if int(s.item.id) < 5 else "unseen"), s.output)
                         for s in rows]] for arm, rows in by_arm.items()}
    assert [row.stratum for row in comparisons(two_strata, METRICS["em"], cfg)] == ["all", "seen", "unseen"]


def test_majority_baseline_is_the_share_of_the_most_frequent_gold_label():
    items = [Example(str(i), f"q{i}", (label,)) for i, label in enumerate(["yes", "no", "yes", "maybe", "yes"])]
    found = majority_baseline(items)
    assert (found.label, found.accuracy, found.items) == ("yes", 0.6, 5)
    assert majority_baseline([Example("u", "q", ())]) is None


def test_the_modal_answer_is_the_label_answered_most_often_and_how_often_it_is_gold():
    labels = ["yes", "no", "maybe"]
    golds, chosen = ["yes", "no", "no", "maybe", "no"], ["no", "no", "Answer: no", "maybe", "yes"]
    answers = [scored(Example(str(i), "q", (gold,)), out, "choice", labels)
               for i, (gold, out) in enumerate(zip(golds, chosen))]
    found = modal_answer(answers)  # the generated "Answer: no" is parsed to its label
    assert (found.label, found.count, found.gold_count) == ("no", 3, 3)
    assert modal_answer([scored(Example("1", "q", ("yes",)), "shipping", "choice", labels)]) is None  # no label named


def test_cached_training_and_index_seconds_are_priced_on_the_device_that_measured_them():
    from bench.eval.cost import cost_block
    from bench.records.config import RunConfig
    from bench.records.manifest import Adapter, Environment, IndexStats, RunManifest, TrainStats
    from bench.records.predictions import Prediction

    train = TrainStats(method="lora", sequences=10, steps=2, tokens=100, seconds=3600.0, flops=1.0, trainable_params=1,
                       first_loss=1.0, last_loss=0.5, peak_rss_mb=1.0, device="cuda", cached=True)
    run = RunManifest(task="t", task_folder="/t", data_hash="h", config=RunConfig(task="t"), generator_path="/m", device="cpu",
                      n_params=1000, index=IndexStats(chunks=1, build_seconds=3600.0, size_bytes=1, cached=True, device="cuda"),
                      adapters=[Adapter(weights="ft_rag", seed=0, path="/a", stats=train)],
                      environment=Environment(python="3", machine="m", cuda=None, packages={}))
    answers = [Prediction(id="1", input="q", prompt_hash="0", output="a", prompt_tokens=90, output_tokens=10, seconds=0.5,
                          retrieval_seconds=0.1)]
    cost = cost_block(run, "ft_rag", answers)
    prices = run.config.prices
    assert cost.one_off_usd == pytest.approx(2 * prices.gpu_hour_usd)  # an hour of training and an hour of indexing, on a GPU
    assert cost.usd_per_1k_queries == pytest.approx(0.5 * 1000 / 3600 * prices.cpu_hour_usd)  # queries answered here, on a CPU
    assert cost.query_flops == 2 * 1000 * (90 + 10)  # a run.json without query_rates: as the ftrag that wrote it counted


def test_answering_cpu_share_weighs_each_batch_by_its_model_seconds():
    from bench.eval.cost import answering_cpu_share
    from bench.records.predictions import Prediction

    def answered(seconds: float, share: float | None) -> Prediction:
        return Prediction(id="1", input="q", prompt_hash="0", output="a", prompt_tokens=9, output_tokens=1,
                          seconds=seconds, retrieval_seconds=0.5, cpu_share=share)

    # 2.5 model seconds with half the cores, 0.5 with all of them: retrieval's seconds are not the model's
    assert answering_cpu_share([answered(3.0, 0.5), answered(1.0, 1.0)]) == round((2.5 * 0.5 + 0.5) / 3, 3)
    assert answering_cpu_share([answered(3.0, 0.5), answered(1.0, None)]) is None  # a GPU's batches, or older records


def test_a_query_costs_the_forward_model_flops_of_its_prompt_and_what_followed_it():
    from bench.eval.cost import query_flops
    from bench.records.manifest import ModelFlops
    from bench.records.predictions import Prediction

    rates = ModelFlops(per_token=1, per_target=1000, per_pair=1e6)
    generated = Prediction(id="1", input="q", prompt_hash="0", output="a b c", prompt_tokens=10, output_tokens=3, seconds=0.1)
    # 10 prompt tokens and the 2 outputs fed back, the head on 3 positions, 12 x 13 / 2 causal pairs
    assert query_flops(generated, rates, 0) == 12 + 3 * 1000 + 78 * 1e6
    chosen = generated.model_copy(update={"output": "yes", "choice_logprobs": [-0.1, -2.0], "output_tokens": 4})
    # the prompt, then 4 tree tokens over it and themselves; the head on the prompt's last position and the tree's
    assert query_flops(chosen, rates, 0) == 14 + 5 * 1000 + (55 + 4 * 11) * 1e6
    assert query_flops(generated, None, 1000) == 2 * 1000 * 13  # a run.json without rates: an older ftrag's count
