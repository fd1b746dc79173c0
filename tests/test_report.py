"""Reports from stored results: scores.csv, the self-contained HTML, compare, the cost section, task text as data,
and the page as a browser renders it. Built on the hand-written run of tests/report_scores.py (no model runs)."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main
from bench.eval.cost import break_even
from bench.records.scores import ScoresFile
from bench.report import write_report
from tests.report_scores import ARMS, EM, interval, line_about, stored_run, synthetic_scores, verdict

@pytest.fixture(scope="module")
def reported(tmp_path_factory) -> Path:
    """One run with paired comparisons, its report written once for the tests that only read it."""
    run = stored_run(tmp_path_factory.mktemp("results") / "synth_qa" / "tiny-run", synthetic_scores())
    write_report(run, ScoresFile.model_validate(synthetic_scores()))
    return run


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
