"""The verdict's sentences, read from a hand-written scores.json (tests/report_scores.py): its numbers, the paired
tests after Holm's correction, and the caveats it sets beside a headline (fit, one-label arms, hallucination leaders,
break-even, a fine-tuned arm that never read the corpus)."""
import re

import pytest

from bench.eval.claims import OVADIA, claims
from bench.eval.scoring import verdict_break_even
from bench.records.scores import Claim, ScoresFile
from bench.report.formats import mid_sentence, usd
from tests.report_scores import EM, arm_scores, comparison, interval, line_about, synthetic_scores, verdict

def test_verdict_reports_significant_and_insignificant_differences_from_the_paired_tests():
    lines = verdict(synthetic_scores())
    assert lines[0].startswith("Best arm on EM: fine-tuning + RAG, 70.0% (95% CI 60.0 to 80.0).")
    assert "No significant difference between fine-tuning + RAG and RAG on EM: 10.0 points (95% CI -2.0 to 22.0, McNemar (mid-p) p = 0.104)" in lines[0]
    # stored as ft - rag = -30 points: read the right way round, RAG leads
    assert "RAG scores 30.0 points higher than fine-tuning on EM (95% CI 18.0 to 42.0, McNemar (mid-p) p ≤ 0.001)." in lines
    assert "RAG scores 55.0 points higher than fine-tuning on EM among corpus_only items" in line_about(lines, "corpus_only")
    assert line_about(lines, "seen items").startswith("No significant difference between RAG and fine-tuning on EM among seen items: 5.0 points (95% CI -10.0 to 20.0")
    assert "after about 610 queries" in line_about(lines, "breaks even")
    assert line_about(lines, "Cost alone") == "Cost alone favours fine-tuning, but it scores 30.0 points lower on EM."


def test_the_quality_caveat_appears_only_when_the_cheaper_arm_is_significantly_worse():
    scores = synthetic_scores()
    scores["arms"]["rag"]["cost"]["usd_per_1k_queries"] = 0.001  # now RAG, the more accurate arm, is also cheaper
    assert not [line for line in verdict(scores) if "Cost alone" in line]


def test_every_number_in_the_verdict_is_a_scores_json_value():
    scores = synthetic_scores()
    allowed = {"95", "1,000", "0.001"}  # "95% CI", "per 1,000 queries", "p < 0.001"
    number = r"-?\d[\d,]*(?:\.\d+)?"

    def collect(value):
        if isinstance(value, str):  # quoted text, e.g. the break-even assumptions
            allowed.update(re.findall(number, value))
        elif isinstance(value, dict):
            for v in value.values():
                collect(v)
        elif isinstance(value, list):
            for v in value:
                collect(v)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            allowed.update({f"{100 * value:.1f}", f"{-100 * value:.1f}", f"{value:.3f}", f"{value:,.0f}", usd(value)})

    collect(scores)
    numbers = re.findall(number, " ".join(verdict(scores)))
    assert numbers and [n for n in numbers if n not in allowed] == []


def test_the_verdict_reads_its_comparisons_after_holms_correction():
    scores = synthetic_scores()
    scores["comparisons"][1] = comparison("ft", "rag", "all", -0.30, -0.42, -0.18, 0.03, p_holm=0.09)
    line = line_about(verdict(scores), "between RAG and fine-tuning on EM:")
    assert line.startswith("No significant difference after Holm adjustment between RAG and fine-tuning on EM: 30.0 points")
    assert "McNemar (mid-p) p = 0.030, Holm-adjusted = 0.090" in line


def test_without_paired_tests_the_verdict_reads_interval_overlap_and_says_so():
    lines = verdict(synthetic_scores(paired=False))
    rag, ft = EM["rag"][0], EM["ft"][0]
    assert f"RAG scores {100 * (rag - ft):.1f} points higher than fine-tuning on EM" in line_about(lines, "do not overlap", "than fine-tuning on EM (")
    assert line_about(lines, "seen items").startswith("No clear difference between RAG and fine-tuning on EM among seen items")


def test_the_verdict_names_label_choice_arms_that_give_one_label_to_nearly_every_item():
    scores = synthetic_scores() | {"majority": {"label": "yes", "accuracy": 0.54, "items": 100}}
    scores["arms"]["rag"]["items"] = scores["arms"]["ft"]["items"] = scores["arms"]["base"]["items"] = 100
    scores["arms"]["rag"]["modal_answer"] = {"label": "yes", "count": 98, "gold_count": 54}
    scores["arms"]["ft"]["modal_answer"] = {"label": "no", "count": 90, "gold_count": 37}
    scores["arms"]["base"]["modal_answer"] = {"label": "yes", "count": 89, "gold_count": 54}  # under 90%: not named
    found = line_about(verdict(scores), "answers `")
    assert found.startswith("RAG answers `yes` for 98 of 100 items (the gold label of 54); fine-tuning answers `no` "
                            "for 90 of 100 items (the gold label of 37): an arm that gives one label to 90%")
    # where the gold labels are no more varied (the items' most frequent label covers 98% too), nothing is said
    scores["majority"]["accuracy"], scores["arms"]["ft"]["modal_answer"]["count"] = 0.98, 50
    assert not [line for line in verdict(scores) if "answers `" in line]


def test_the_fit_line_asks_for_more_epochs_only_where_the_held_out_loss_had_not_turned():
    scores = synthetic_scores()
    scores["arms"]["ft"]["fit"], scores["arms"]["ft_rag"]["fit"] = interval(0.5), interval(0.6)
    fit = line_about(verdict(scores), "Fit on its training questions")
    assert "Below 80% (fine-tuning, fine-tuning + RAG), the adapter has not learned its training data: train" in fit
    # ft_rag stopped early: its held-out loss was lowest after epoch 2 (qmsum's ft, 2026-12-07)
    scores["arms"]["ft_rag"]["cost"]["train"] |= {"epochs_planned": 8, "epochs_run": 4, "best_epoch": 2,
                                                  "validation_pairs": 15, "validation_losses": [3.39, 3.29, 3.31, 3.47]}
    fit = line_about(verdict(scores), "Fit on its training questions")
    assert "Below 80% (fine-tuning), the adapter has not learned its training data: train longer" in fit
    assert ("Below 80% with its held-out loss lowest before its last epoch (fine-tuning + RAG at epoch 2 of the 4 it "
            "ran): more epochs would fit its training questions better and held-out ones worse") in fit


def test_the_hallucination_leader_is_set_beside_its_accuracy_when_it_is_plainly_less_accurate():
    scores = synthetic_scores()
    scores["arms"]["ft"]["hallucination"]["abstain_on_unanswerable"] = interval(0.5)  # EM 30.0% [20, 40]
    assert line_about(verdict(scores), "declines unanswerable") == (
        "On declines unanswerable (higher is better), fine-tuning does best: 50.0% (95% CI 40.0 to 60.0), but it "
        "scores 30.0% [20.0, 40.0] on EM against 70.0% [60.0, 80.0] for fine-tuning + RAG: a hallucination measure "
        "rewards saying less, so read it beside accuracy.")
    scores["arms"]["ft"]["accuracy"]["em"] = interval(0.55)  # [45, 65]: overlaps ft_rag's [60, 80]
    assert "but it scores" not in line_about(verdict(scores), "declines unanswerable")
    scores["arms"]["ft_rag"]["hallucination"]["abstain_on_unanswerable"] = interval(0.6)  # the best arm leads both
    assert "but it scores" not in line_about(verdict(scores), "declines unanswerable")


def test_the_break_even_prices_the_fine_tuned_arm_the_verdict_compares():
    """synth_qa's default run (2026-12-07): ft_plain outscored ft, the verdict compared ft_plain with RAG, and the
    break-even after it spoke of ft."""
    scores = synthetic_scores(paired=False)
    assert verdict_break_even(ScoresFile.model_validate(scores)).arms == ["ft", "rag"]
    scores["arms"]["ft_plain"] = arm_scores("ft")
    scores["arms"]["ft_plain"]["accuracy"]["em"] = interval(0.45)  # above ft's 30.0%
    scores["arms"]["ft_plain"]["cost"]["one_off_usd"] = 0.002
    be = verdict_break_even(ScoresFile.model_validate(scores))
    assert be.arms == ["ft_plain", "rag"] and "(ft_plain)" in be.assumptions
    # (0.002 - 1.2 / 36,000 USD) / ((0.018 - 0.0044) / 1,000 USD per query)
    assert be.queries == pytest.approx((0.002 - 1.2 / 36000) / 1.36e-5)
    scores["break_even"] = be.model_dump()
    assert line_about(verdict(scores), "is cheaper per query").startswith("Fine-tuning without paraphrases is cheaper")
    assert line_about(verdict(scores), "breaks even").startswith(
        "Fine-tuning without paraphrases costs 0.00197 USD more up front and saves 0.0000136 USD per query, so it "
        "breaks even with RAG after about 145 queries.")


def test_the_verdict_says_when_fine_tuning_never_read_the_corpus():
    scores = synthetic_scores()  # synth_qa's settings: ft reads the corpus for 2 epochs
    assert not [line for line in verdict(scores) if "corpus_epochs" in line]
    scores["config"]["finetune"]["corpus_epochs"] = 0
    assert line_about(verdict(scores), "corpus_epochs").startswith(
        "Fine-tuning trained on the training examples alone (`finetune.corpus_epochs: 0`): it never read the 6 corpus "
        "documents RAG retrieves from")
    scores["task"]["corpus_documents"] = 0  # no corpus (banking77): there was nothing to read
    assert not [line for line in verdict(scores) if "corpus_epochs" in line]


def test_the_retrieval_claim_is_measured_only_against_an_ft_arm_that_read_the_corpus():
    def ovadia(scores: dict) -> Claim:
        (found,) = [c for c in claims(ScoresFile.model_validate(scores), {}) if c.source == OVADIA[0]]
        return found

    scores = synthetic_scores()
    assert ovadia(scores).finding == "agrees"  # rag - ft among corpus_only items: +55 points, p = 0.0001
    scores["config"]["finetune"]["corpus_epochs"] = 0
    assert ovadia(scores).finding == "not measured"
    assert "finetune.corpus_epochs" in ovadia(scores).figures


def test_a_sentence_continued_after_a_colon_keeps_acronyms():
    assert mid_sentence("Fine-tuning scores 5.9 points higher") == "fine-tuning scores 5.9 points higher"
    assert mid_sentence("RAG scores 5.9 points higher") == "RAG scores 5.9 points higher"


def test_update_sentences_list_only_the_arms_that_still_give_old_values():
    from bench.records.scores import Interval, Update, UpdateVariant
    from bench.report.experiments import update_sentences

    def variant(name, how, current, stale):
        return UpdateVariant(name=name, arm=name.split()[0], how=how, current=Interval(mean=current, low=0, high=1, n=25),
                             stale=Interval(mean=stale, low=0, high=1, n=25), unchanged=None, update_seconds=1.0, update_usd=0.0)

    update = Update(changed_items=25, unchanged_items=40, seconds=1.0,
                    variants=[variant("ft (stale)", "stale", 0.12, 0.36), variant("ft_rag (stale)", "stale", 0.72, 0.0)])
    text = " ".join(update_sentences(update))
    assert "keep giving the old value: `ft (stale)` 36.0%" in text and "`ft_rag (stale)` 0.0%" not in text
    assert "`ft_rag (stale)` gave the old value for none" in text
