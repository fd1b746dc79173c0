"""The real CLI on the real synthetic task, with a tiny model: every arm, resume after a kill, reuse, determinism."""
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import bench.arms.answer
from bench.cli import main
from bench.eval.answers import rouge_l
from bench.eval.metrics import METRICS

FAST = ["--limit", "2", "finetune.epochs=1", "finetune.corpus_epochs=1", "finetune.raft_epochs=1", "generation.max_new_tokens=4"]
ARMS = ["base", "fewshot", "rag", "ft", "ft_plain", "ft_rag"]  # ft_plain: the synthetic tasks ship paraphrases
FINE_TUNED = ["ft", "ft_plain", "ft_rag"]


def run_dir(tmp_path: Path) -> Path:
    (found,) = (tmp_path / "results" / "synth_qa").iterdir()
    return found


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def finished_run(tiny_model_dir, tmp_path):
    assert main(["run", "synth_qa", "--model", str(tiny_model_dir), *FAST]) == 0
    return run_dir(tmp_path)


def test_run_answers_every_item_with_every_arm_and_writes_the_report(finished_run):
    scores = json.loads((finished_run / "scores.json").read_text())
    assert list(scores["arms"]) == ARMS and scores["items"] == {"seen": 2, "corpus_only": 2, "unanswerable": 2}
    for arm in ARMS:
        records = lines(finished_run / "predictions" / f"{arm}.jsonl")
        assert len(records) == 6 and len({r["id"] for r in records}) == 6
        assert set(records[0]) == {"id", "input", "prompt_hash", "retrieved", "examples", "output", "choice_logprobs",
                                   "prompt_tokens", "output_tokens", "seconds", "retrieval_seconds", "peak_memory_mb",
                                   "cpu_share"}  # no scores
        assert bool(records[0]["retrieved"]) == (arm in ("rag", "ft_rag"))
        # retrieval (query embedding and search) is timed with the query it serves
        assert (min(r["retrieval_seconds"] for r in records) > 0) == (arm in ("rag", "ft_rag"))
        assert all(r["seconds"] >= r["retrieval_seconds"] for r in records)
    assert scores["arms"]["ft"]["cost"]["train"]["tokens"] > 0 and scores["arms"]["base"]["cost"]["train"] is None
    # a query's model FLOPs, from the generator's rates the run stored: less than 2 x every parameter x every token
    rates, base = json.loads((finished_run / "run.json").read_text())["query_rates"], scores["arms"]["base"]["cost"]
    assert rates["per_token"] > 0 and rates["per_pair"] > 0
    assert 0 < base["query_flops"] < 2 * scores["n_params"] * (base["prompt_tokens_mean"] + base["output_tokens_mean"])
    assert scores["arms"]["rag"]["retrieval"]["k"] == 2  # the task's override
    assert scores["break_even"]["arms"] == ["ft", "rag"]
    report = (finished_run / "report.md").read_text()
    assert all(f"| {arm} |" in report for arm in ARMS) and "2 seen, 2 corpus_only, 2 unanswerable" in report


def test_an_unchanged_rerun_does_nothing_and_loads_no_torch(finished_run, tiny_model_dir):
    results = lambda: {p: p.read_bytes() for p in finished_run.rglob("*") if p.is_file() and not p.name.startswith(".lock")}  # noqa: E731
    before = results()
    script = ("import sys; from bench.cli import main; status = main(sys.argv[1:]); "
              "print('exit', status, 'torch loaded:', 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script, "run", "synth_qa", "--model", str(tiny_model_dir), *FAST],
                          capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert "exit 0 torch loaded: False" in done.stdout, done.stderr
    assert f"nothing changed since this run finished (settings, data, models, code, packages): {finished_run / 'report.md'}" in done.stderr
    assert results() == before  # not one byte written


def test_a_changed_input_reruns_the_stages_from_cache(finished_run, tiny_model_dir, caplog):
    """With anything changed (here: the finished mark removed, as an upgrade of ftrag changes its code digest), every
    stage runs again, and every one whose own inputs are the same reuses its cached artifact."""
    before = {p.name: p.read_text() for p in (finished_run / "predictions").glob("*.jsonl")}
    (finished_run / "finished.json").unlink()
    with caplog.at_level("INFO"):
        assert main(["run", "synth_qa", "--model", str(tiny_model_dir), *FAST]) == 0
    assert (finished_run / "finished.json").exists()
    assert {p.name: p.read_text() for p in (finished_run / "predictions").glob("*.jsonl")} == before
    assert sum("predictions cached" in r.message for r in caplog.records) == len(ARMS) + len(FINE_TUNED)  # and the fit checks
    scores = json.loads((finished_run / "scores.json").read_text())
    assert scores["arms"]["ft"]["cost"]["train"]["cached"] is True
    # the memory answering needed is stored with the predictions, not re-measured by the cached run
    stored = [json.loads(line)["peak_memory_mb"] for line in before["rag.jsonl"].splitlines()]
    assert scores["arms"]["rag"]["cost"]["peak_memory_mb"] == max(stored) > 0
    # and so is the share of the cores it had, which the cached run reports as measured, not as 0 or its own
    shares = [json.loads(line)["cpu_share"] for line in before["rag.jsonl"].splitlines()]
    assert min(shares) > 0 and min(shares) <= scores["arms"]["rag"]["cost"]["cpu_share"] <= max(shares)


def test_a_killed_run_continues_where_it_stopped(finished_run, tiny_model_dir):
    path = finished_run / "predictions" / "rag.jsonl"
    complete = path.read_text().splitlines()
    path.write_text("\n".join(complete[:3]) + "\n" + complete[3][:20])  # a kill mid-write tears the last line
    (finished_run / "finished.json").unlink()  # and leaves the run unfinished
    assert main(["run", "synth_qa", "--model", str(tiny_model_dir), *FAST]) == 0
    resumed = path.read_text().splitlines()
    assert resumed[:3] == complete[:3] and len(resumed) == 6
    strip = lambda rows: sorted((r["id"], r["output"], r["prompt_hash"]) for r in map(json.loads, rows))
    assert strip(resumed) == strip(complete)  # same predictions as the uninterrupted run: greedy and seeded


def test_a_metric_change_is_rescored_from_stored_predictions_without_answering_again(finished_run, monkeypatch):
    before = {p.name: p.read_bytes() for p in (finished_run / "predictions").glob("*.jsonl")}
    changed = replace(METRICS["f1"], value=lambda s: 1.0 if s.item.answerable else None, definition="Changed for the test.")
    monkeypatch.setitem(METRICS, "f1", changed)
    monkeypatch.setattr(bench.arms.answer, "answer_arm", lambda *args: pytest.fail("scoring answered again"))
    assert main(["score", "synth_qa"]) == 0
    scores = json.loads((finished_run / "scores.json").read_text())
    assert all(scores["arms"][arm]["accuracy"]["f1"]["mean"] == 1.0 for arm in ARMS)
    assert scores["definitions"]["f1"]["definition"] == "Changed for the test."
    assert "Changed for the test." in (finished_run / "report.md").read_text()
    assert {p.name: p.read_bytes() for p in (finished_run / "predictions").glob("*.jsonl")} == before


def test_scoring_a_folder_that_is_not_a_run_says_so(tmp_path, capsys):
    assert main(["score", str(tmp_path)]) == 2
    assert "no finished run" in capsys.readouterr().err


def test_report_command_rewrites_the_report_from_stored_scores(finished_run):
    (finished_run / "report.md").unlink()
    assert main(["report", "synth_qa"]) == 0
    assert (finished_run / "report.md").read_text().startswith("# ftrag report: synth_qa")


def test_bad_input_gets_one_message_and_no_traceback(tmp_path):
    (tmp_path / "task.yaml").write_text("name: broken\nkind: poem\n")
    result = subprocess.run([sys.executable, "-m", "bench.cli", "run", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "kind" in result.stderr and "data: required key is missing" in result.stderr


@pytest.mark.parametrize("task, metric", [("synth_cls", "accuracy"), ("synth_draft", "fact_recall")])
def test_classification_and_drafting_tasks_run_every_arm(task, metric, tiny_model_dir, tmp_path):
    args = ["run", task, "--model", str(tiny_model_dir), "--limit", "1", "finetune.max_examples=8", *FAST[2:]]
    assert main(args) == 0
    (folder,) = (tmp_path / "results" / task).iterdir()
    scores = json.loads((folder / "scores.json").read_text())
    assert list(scores["arms"]) == ARMS and scores["metrics"][0] == metric
    rag = lines(folder / "predictions" / "rag.jsonl")
    assert len(rag) == 2 and rag[0]["retrieved"]
    if task == "synth_cls":  # constrained choice: every answer is a label, with a probability per label
        assert all(r["output"] in ["drone", "kettle", "headphones", "router", "lamp", "e-bike"] and len(r["choice_logprobs"]) == 6 for r in rag)
        assert len(rag[0]["examples"]) == 4  # kNN training examples beside the corpus chunks


def test_a_task_may_rank_its_arms_and_measure_fit_by_another_metric(tiny_model_dir, tmp_path):
    args = ["--arms", "base,ft", "--limit", "1", "finetune.max_examples=8", "headline=rouge_l", *FAST[2:]]
    assert main(["run", "synth_draft", "--model", str(tiny_model_dir), *args]) == 0
    (folder,) = (tmp_path / "results" / "synth_draft").iterdir()
    scores = json.loads((folder / "scores.json").read_text())
    assert scores["metrics"] == ["rouge_l", "fact_recall"]
    train_file = Path(__file__).parents[1] / "tasks" / "synth_draft" / "train.jsonl"
    train = {row["id"]: row["reply"] for row in lines(train_file)}
    fit = [rouge_l(row["output"], train[row["id"]]) for row in lines(folder / "predictions" / "fit" / "ft.jsonl")]
    assert scores["arms"]["ft"]["fit"]["mean"] == pytest.approx(sum(fit) / len(fit))


def test_classification_can_generate_and_parse_labels_instead(tiny_model_dir, tmp_path):
    assert main(["run", "synth_cls", "--model", str(tiny_model_dir), "--arms", "base", "--limit", "1", "answer_mode=generate", *FAST[2:]]) == 0
    (folder,) = (tmp_path / "results" / "synth_cls").iterdir()
    (record, _) = lines(folder / "predictions" / "base.jsonl")
    (scored, _) = lines(folder / "item_scores" / "base.jsonl")
    assert record["choice_logprobs"] is None and "accuracy" in scored["scores"]


def test_extra_fine_tuning_seeds_are_answered_and_their_spread_reported(tiny_model_dir, tmp_path):
    assert main(["run", "synth_qa", "--model", str(tiny_model_dir), "--arms", "base,ft", "seeds=[0,1]", *FAST]) == 0
    folder = run_dir(tmp_path)
    assert sorted(p.name for p in (folder / "predictions").glob("*.jsonl")) == ["base.jsonl", "ft.jsonl", "ft@seed1.jsonl"]
    spread = json.loads((folder / "scores.json").read_text())["seeds"]["ft"]
    assert spread["seeds"] == [0, 1] and len(spread["metrics"]["em"]["values"]) == 2


def test_token_prices_replace_hardware_time_when_set(tiny_model_dir, tmp_path):
    args = ["--arms", "base", "prices.usd_per_1k_prompt_tokens=1.0", "prices.usd_per_1k_output_tokens=2.0"]
    assert main(["run", "synth_qa", "--model", str(tiny_model_dir), *args, *FAST]) == 0
    cost = json.loads((run_dir(tmp_path) / "scores.json").read_text())["arms"]["base"]["cost"]
    assert cost["usd_per_1k_queries"] == pytest.approx(cost["prompt_tokens_mean"] * 1.0 + cost["output_tokens_mean"] * 2.0)
