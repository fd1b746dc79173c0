"""Reports from stored results: the verdict's logic and numbers, scores.csv, the self-contained HTML, compare,
and the page as a browser renders it. Built on a small hand-written scores.json + predictions (no model runs)."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main
from bench.data.tasks import find_task_file, read_spec
from bench.eval.claims import OVADIA, claims
from bench.eval.cost import break_even
from bench.eval.scoring import definitions, verdict_break_even
from bench.records.config import resolve_config
from bench.records.scores import Claim, ScoresFile
from bench.report import write_report
from bench.report.formats import mid_sentence, usd
from bench.report.verdict import verdict as verdict_of_file

ARMS = ["base", "rag", "ft", "ft_rag"]
# headline EM per arm: overall, seen, corpus_only. Fine-tuning knows the trained facts, RAG the corpus-only ones.
EM = {"base": (0.05, 0.05, 0.05), "rag": (0.60, 0.55, 0.65), "ft": (0.30, 0.50, 0.10), "ft_rag": (0.70, 0.65, 0.75)}
ENVIRONMENT = {"python": "3.11", "machine": "x86_64, 2 CPUs", "cuda": None, "packages": {"torch": "2.13"}}


def interval(mean: float, width: float = 0.1, n: int = 40) -> dict:
    return {"mean": mean, "low": max(0.0, mean - width), "high": min(1.0, mean + width), "n": n}


def comparison(a: str, b: str, stratum: str, mean: float, low: float, high: float, p: float, p_holm: float | None = None) -> dict:
    return {"a": a, "b": b, "metric": "em", "stratum": stratum, "diff": {"mean": mean, "low": low, "high": high, "n": 40},
            "p": p, "test": "McNemar (mid-p)", "p_holm": p_holm}


def train_stats() -> dict:
    return {"method": "lora", "sequences": 700, "steps": 88, "tokens": 60000, "seconds": 300.0, "flops": 3.5e13,
            "trainable_params": 4_800_000, "first_loss": 3.1, "last_loss": 0.4, "peak_rss_mb": 2100.0, "device": "cpu"}


def arm_scores(arm: str) -> dict:
    overall, seen, corpus = EM[arm]
    retrieval, trained = arm in ("rag", "ft_rag"), arm in ("ft", "ft_rag")
    return {
        "items": 5,
        "accuracy": {"em": interval(overall), "f1": interval(overall + 0.1), "contains": interval(overall + 0.05)},
        "by_stratum": {s: {"em": interval(v), "f1": interval(v), "contains": interval(v)} for s, v in (("seen", seen), ("corpus_only", corpus))},
        "hallucination": {"abstain_on_unanswerable": interval(0.4 if trained else 0.1), "wrongly_declined": interval(0.05)},
        "retrieval": {"recall_at_k": interval(0.9), "k": 2} if retrieval else None,
        "cost": {"train": train_stats() if trained else None,
                 "index": {"build_seconds": 1.2, "size_bytes": 133146, "chunks": 68, "cached": False} if retrieval else None,
                 "one_off_seconds": 300.0 * trained + 1.2 * retrieval, "one_off_usd": (300.0 * trained + 1.2 * retrieval) / 36000,
                 "query_seconds_p50": 0.6 if retrieval else 0.15, "query_seconds_p95": 0.8 if retrieval else 0.2,
                 "query_seconds_mean": 0.65 if retrieval else 0.16, "prompt_tokens_mean": 314.0 if retrieval else 69.0,
                 "output_tokens_mean": 5.0, "query_flops": 8.9e10, "usd_per_1k_queries": 0.018 if retrieval else 0.0044,
                 "hour_rate_usd": 0.1, "priced_by_tokens": False, "device": "cpu", "peak_memory_mb": 1800.0},
    }


def synthetic_scores(paired: bool = True) -> dict:
    config = resolve_config("synth_qa", read_spec(find_task_file("synth_qa")).overrides, ["limit=10"])
    scores = {
        "schema_version": 2,
        "task": {"name": "synth_qa", "kind": "qa", "description": "A toy QA task.", "source": "hand-written for the test",
                 "license": "CC0-1.0", "data_hash": "0123456789abcdef", "train_examples": 12, "corpus_documents": 6},
        "items": {"seen": 2, "corpus_only": 2, "unanswerable": 1}, "family": "qa", "metrics": ["em", "f1", "contains"],
        "config": config.model_dump(), "config_hash": config.digest(), "generator_path": "/models/tiny",
        "arms": {arm: arm_scores(arm) for arm in ARMS},
        "break_even": {"arms": ["ft", "rag"], "extra_one_off_usd": 0.00830, "saving_per_query_usd": 1.36e-05, "queries": 610.3,
                       "assumptions": "CPU at 0.10 USD per hour."},
        "definitions": {"abstain_on_unanswerable": {"label": "declines unanswerable", "definition": "Declined / unanswerable.", "better": "higher"}},
        "timings": {"index": 2.0}, "environment": ENVIRONMENT,
    }
    if paired:
        scores["comparisons"] = [comparison("ft_rag", "rag", "all", 0.10, -0.02, 0.22, 0.104),
                                 comparison("ft", "rag", "all", -0.30, -0.42, -0.18, 0.0002),
                                 comparison("rag", "ft", "seen", 0.05, -0.10, 0.20, 0.61),
                                 comparison("rag", "ft", "corpus_only", 0.55, 0.40, 0.70, 0.0001)]
    return scores


def verdict(scores: dict) -> list[str]:
    typed = ScoresFile.model_validate(scores)
    return verdict_of_file(typed, definitions() | typed.definitions)


ITEMS = [("s1", "seen", "What does the A1 cost?", ["$10"]), ("c1", "corpus_only", "When did the B2 launch?", ["2016"]),
         ("u1", "unanswerable", "How loud is the C3?", [])]
OUTPUTS = {"base": ["$99", "2019", "80 dB"], "rag": ["$12", "2016", "I don't know"], "ft": ["$10", "2020", "75 dB"],
           "ft_rag": ["$10", "2016", "I don't know"]}


def write_item_scores(run_dir: Path) -> None:
    (run_dir / "item_scores").mkdir(parents=True)
    for arm, outputs in OUTPUTS.items():
        rows = []
        for (item_id, stratum, question, gold), output in zip(ITEMS, outputs):
            declined = float(output == "I don't know")
            right = float(output in gold)
            scores = {"em": right, "f1": right, "contains": right} if gold else {"abstain_on_unanswerable": declined}
            rows.append({"id": item_id, "stratum": stratum, "input": question, "output": output, "gold": gold,
                         "retrieved": ["doc-1#0", "doc-2#0"] if arm in ("rag", "ft_rag") else [], "scores": scores})
        (run_dir / "item_scores" / f"{arm}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def stored_run(folder: Path, scores: dict) -> Path:
    folder.mkdir(parents=True)
    (folder / "scores.json").write_text(json.dumps(scores))
    write_item_scores(folder)
    return folder


@pytest.fixture(scope="module")
def reported(tmp_path_factory) -> Path:
    """One run with paired comparisons, its report written once for the tests that only read it."""
    run = stored_run(tmp_path_factory.mktemp("results") / "synth_qa" / "tiny-run", synthetic_scores())
    write_report(run, ScoresFile.model_validate(synthetic_scores()))
    return run


def line_about(lines: list[str], *words: str) -> str:
    (found,) = [line for line in lines if all(w in line for w in words)]
    return found


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


def test_csv_has_one_row_per_arm_metric_and_stratum_plus_costs(reported):
    table = pd.read_csv(reported / "scores.csv")
    assert list(table.columns) == ["run", "arm", "versus", "section", "metric", "stratum", "mean", "low", "high", "n", "test", "p", "p_holm"]
    accuracy = table[table.section == "accuracy"]
    assert len(accuracy) == len(ARMS) * 3 * 3  # em, f1, contains x all, seen, corpus_only
    rag_corpus = accuracy[(accuracy.arm == "rag") & (accuracy.metric == "em") & (accuracy.stratum == "corpus_only")]
    assert rag_corpus["mean"].tolist() == [EM["rag"][2]] and rag_corpus["n"].tolist() == [40]
    costs = table[(table.section == "cost") & (table.metric == "usd_per_1k_queries")]
    assert sorted(costs.arm) == sorted(ARMS) and set(table[table.section == "retrieval"].arm) == {"rag", "ft_rag"}
    tests = table[table.section == "comparison"]
    corpus = tests[(tests.arm == "rag") & (tests.versus == "ft") & (tests.stratum == "corpus_only")]
    assert len(tests) == 4 and corpus[["mean", "low", "high", "p"]].values.tolist() == [[0.55, 0.40, 0.70, 0.0001]]


def test_html_is_self_contained_and_embeds_every_plot(reported):
    page = (reported / "report.html").read_text()
    plots = sorted(p.name for p in (reported / "plots").glob("*.png"))
    assert plots == ["accuracy_by_stratum.png", "accuracy_vs_cost.png", "cumulative_cost.png", "hallucination.png"]
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert page.count('<img src="data:image/png;base64,') == len(plots)
    markdown = (reported / "report.md").read_text()
    assert all(f"](plots/{name})" in markdown for name in plots)
    assert "declines unanswerable" in page  # the label scores.json defines wins over the built-in one


def test_report_shows_disagreements_and_how_to_reproduce(reported):
    markdown = (reported / "report.md").read_text()
    assert "### `c1` (corpus_only)" in markdown and "| rag | 2016 | 1.00 | doc-1#0, doc-2#0 |" in markdown
    assert "ftrag run synth_qa limit=10 --run-id tiny-run" in markdown and "Note:" not in markdown
    assert "| rag − ft | EM | corpus_only | 55.0 [40.0, 70.0] | McNemar (mid-p) | ≤ 0.001 | – | yes |" in markdown


def test_report_command_rebuilds_everything_from_stored_results(tmp_path):
    run = stored_run(tmp_path / "results" / "synth_qa" / "tiny-run", synthetic_scores())
    before = (run / "scores.json").read_text()
    assert main(["report", "synth_qa"]) == 0
    assert {p.name for p in run.iterdir()} >= {"report.md", "report.html", "scores.csv", "plots"}
    assert (run / "scores.json").read_text() == before


def test_scores_written_before_the_score_stage_still_render(tmp_path):
    """Version 1: no schema_version, strata inside the accuracy block, missing blocks as null, flat seed spreads."""
    scores = synthetic_scores(paired=False)
    del scores["schema_version"]
    scores["seeds"] = {"ft": {"seeds": [0, 1], "em": {"values": [0.3, 0.4], "mean": 0.35, "std": 0.07}}}
    for arm in scores["arms"].values():
        arm["accuracy"]["by_stratum"] = arm.pop("by_stratum")
        arm.update(hallucination=None, retrieval=None)
        arm["cost"]["peak_rss_mb"] = arm["cost"].pop("peak_memory_mb")
    run = stored_run(tmp_path / "results" / "synth_qa" / "old-run", scores)
    assert main(["report", str(run)]) == 0
    markdown = (run / "report.md").read_text()
    assert "No hallucination or retrieval measures" in markdown and "## Verdict" in markdown
    assert "| seen | 2 seen" not in markdown and "| ft | 0, 1 | 35.0 ± 7.0 (30.0, 40.0) |" in markdown


def test_a_scores_file_ftrag_cannot_read_gets_one_message(tmp_path, capsys):
    run = stored_run(tmp_path / "results" / "synth_qa" / "broken", {"task": {"name": "synth_qa"}, "arms": {}})
    assert main(["report", str(run)]) == 2
    assert "not a scores.json ftrag can read" in capsys.readouterr().err


def test_compare_writes_one_report_across_runs(tmp_path, capsys):
    first = stored_run(tmp_path / "results" / "synth_qa" / "model-a", synthetic_scores())
    second_scores = synthetic_scores()
    second_scores["arms"]["ft_rag"]["accuracy"]["em"] = interval(0.2)
    stored_run(tmp_path / "results" / "synth_qa" / "model-b", second_scores)
    assert main(["compare", str(first), "synth_qa"]) == 0  # a task name means its latest run: model-b
    report = Path(capsys.readouterr().out.splitlines()[0])
    assert report.parent.parent == tmp_path / "results" and report.parent.name.startswith("compare-")
    markdown = report.read_text()
    assert "| synth_qa/model-a:rag |" in markdown and "| synth_qa/model-b:ft_rag |" in markdown
    assert "Across the 2 synth_qa runs" in markdown
    assert set(pd.read_csv(report.parent / "scores.csv").run) == {"synth_qa/model-a", "synth_qa/model-b"}
    assert report.with_suffix(".html").read_text().count("data:image/png;base64,") == 4


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (Debian packages chromium, chromium-driver)")
def test_report_renders_in_a_browser_with_every_plot_loaded(reported, tmp_path):
    # a copy with a probe that records, once the page has loaded, whether each image decoded to a real size
    probe = ("<script>addEventListener('load', () => { document.body.dataset.images = "
             "[...document.images].map(i => i.naturalWidth > 0 ? 'ok' : 'broken').join(' '); });</script></body>")
    page = tmp_path / "report.html"
    page.write_text((reported / "report.html").read_text().replace("</body>", probe))
    shutil.copytree(reported / "plots", tmp_path / "plots")
    result = subprocess.run([str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
                             "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    match = re.search(r'<body data-images="([^"]*)"', result.stdout)
    assert match, result.stderr[-2000:]
    assert match.group(1).split() == ["ok"] * 4
    assert "Best arm on EM" in result.stdout


def test_choice_reports_state_the_majority_label_floor(tmp_path):
    scores = synthetic_scores() | {"majority": {"label": "yes", "accuracy": 0.54, "items": 100}}
    write_report(stored_run(tmp_path / "synth_qa" / "run", scores), ScoresFile.model_validate(scores))
    assert "Always answering the most frequent label, `yes`, would score 54.0% on these 100 items." in (tmp_path / "synth_qa" / "run" / "report.md").read_text()
    # the stored EM intervals (headline here) are mean +/- 10: only fine-tuning + RAG's (60 to 80) clears 54%
    floor = line_about(verdict(scores), "Always answering")
    assert floor == "Always answering `yes` scores 54.0%; arms whose 95% interval lies wholly above it: fine-tuning + RAG."


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


def test_the_report_names_the_stages_that_shared_the_cores_and_the_break_even_they_priced(tmp_path):
    """synth_cls's training, resumed from a checkpoint written while CI ran beside it (2026-12-07), had priced 706 s
    of contended time as training like any other: nothing in the report could tell."""
    scores = synthetic_scores()
    scores["arms"]["ft"]["cost"]["train"]["cpu_share"] = 0.97
    scores["arms"]["rag"]["cost"]["cpu_share"] = 0.93
    write_report(stored_run(tmp_path / "idle", scores), ScoresFile.model_validate(scores))
    idle = (tmp_path / "idle" / "report.md").read_text()
    assert "| 97 |" in idle and "| 93 |" in idle and "Other work most likely shared the cores" not in idle
    costs = {arm: ScoresFile.model_validate(scores).arms[arm].cost for arm in ("ft", "rag")}
    assert "Other work" not in break_even(costs).assumptions
    scores["arms"]["ft"]["cost"]["train"]["cpu_share"] = 0.48
    write_report(stored_run(tmp_path / "busy", scores), ScoresFile.model_validate(scores))
    assert ("Other work most likely shared the cores while some arms ran (ft's training 48% of their threads' time, "
            "where a stage alone has 75% or more)") in (tmp_path / "busy" / "report.md").read_text()
    costs["ft"] = ScoresFile.model_validate(scores).arms["ft"].cost
    assert break_even(costs).assumptions.endswith("Other work most likely shared the cores during ft's training "
                                                  "(48% of its threads' time): those seconds, and the costs priced "
                                                  "from them, run high.")


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


HOSTILE = "<script>document.title='pwned'</script> # not a heading **not bold** `tick` | pipe <img src=x onerror=alert(1)> a_b"


@pytest.fixture
def hostile_run(tmp_path) -> Path:
    """A run whose task text, inputs, answers and names carry markup: all of it must show as written."""
    scores = synthetic_scores()
    scores["task"]["description"] = HOSTILE
    run = stored_run(tmp_path / "results" / "synth_qa" / "run`<b>", scores)
    for path in (run / "item_scores").glob("*.jsonl"):
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        rows[0].update(input=HOSTILE, gold=[HOSTILE], output=HOSTILE if path.stem == "rag" else rows[0]["output"])
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    write_report(run, ScoresFile.model_validate(scores))
    return run


def test_task_text_is_data_in_report_md_and_report_html(hostile_run):
    markdown, page = (hostile_run / "report.md").read_text(), (hostile_run / "report.html").read_text()
    assert "<script>" not in markdown and "\\<script\\>" in markdown and "\\*\\*not bold\\*\\*" in markdown
    assert not [line for line in markdown.splitlines() if line.lstrip().startswith("#") and "not a heading" in line]
    assert "<script>document" not in page and "<img src=x" not in page and "onerror=alert(1)&gt;" in page
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in page or "&lt;script&gt;document.title='pwned'" in page
    assert "<strong>not bold</strong>" not in page and "<code>tick</code>" not in page
    input_line = next(line for line in markdown.splitlines() if line.startswith("**Input:**"))
    assert "\\`tick\\`" in input_line and " \\| pipe" not in input_line  # a paragraph needs no pipe escape
    table_rows = [line for line in markdown.splitlines() if line.startswith("| rag | ") and "pipe" in line]
    assert table_rows and all(line.count(" | ") == 3 for line in table_rows)  # the answer's pipe stays in its cell


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (Debian packages chromium, chromium-driver)")
def test_a_browser_shows_task_markup_as_text_and_runs_none_of_it(hostile_run, tmp_path):
    result = subprocess.run([str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=3000",
                             "--dump-dom", (hostile_run / "report.html").as_uri()], capture_output=True, text=True, timeout=120)
    dom = result.stdout
    assert "<title>ftrag report: synth_qa (qa)</title>" in dom  # the question's script did not run
    assert dom.count("<script") == 0 and "<img src=\"x\"" not in dom
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt; # not a heading **not bold** `tick` | pipe" in dom


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
