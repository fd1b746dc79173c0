"""The experiments on a finished run, through the real CLI with a tiny model: forgetting and knowledge update."""
import csv
import json
import re
from pathlib import Path

import pytest

from bench.cli import main
from bench.data.probes import load_probes
from bench.experiments.curve import default_arms
from bench.data.readers import data_dir
from tests.conftest import wider_model
from tests.test_cli_e2e import FAST, lines, run_dir


def write_probe_data(root: Path) -> None:
    """MMLU, TruthfulQA and ARC in the layouts their READMEs in the data directory describe, a few questions each."""
    (root / "mmlu" / "test").mkdir(parents=True)
    for subject in ("astronomy", "world_religions"):
        with (root / "mmlu" / "test" / f"{subject}_test.csv").open("w", newline="") as handle:
            csv.writer(handle).writerows([[f"{subject} question {n}?", "0", "True, False", "None", str(n), "ABCD"[n % 4]] for n in range(5)])
    (root / "truthfulqa" / "v0").mkdir(parents=True)
    (root / "truthfulqa" / "v0" / "mc_task.json").write_text(json.dumps(
        [{"question": f"Myth {n}? ", "mc1_targets": {"True answer.": 1, "False answer.": 0, "Other.": 0}, "mc2_targets": {}} for n in range(5)]))
    (root / "arc").mkdir()
    (root / "arc" / "ARC-Challenge-Test.jsonl").write_text("".join(json.dumps(
        {"id": f"Q{n}", "question": {"stem": f"Science {n}?", "choices": [{"text": t, "label": str(i + 1)} for i, t in enumerate(["rock", "water", "air"])]},
         "answerKey": "2"}) + "\n" for n in range(5)))


@pytest.fixture
def probe_data(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "data"
    write_probe_data(root)
    monkeypatch.setenv("FTRAG_DATA_DIR", str(root))
    return root


def test_probes_are_seeded_samples_read_as_their_readmes_say(probe_data):
    probes = load_probes(["mmlu", "truthfulqa_mc1", "arc_challenge"], 4, seed=0)
    mmlu = probes["mmlu"]
    assert [it.group for it in mmlu] == ["astronomy"] * 2 + ["world_religions"] * 2  # stratified: the same number per subject
    assert all(it.choices == ("A", "B", "C", "D") and "\nC. None" in it.text for it in mmlu)  # "None" stays a string
    assert probes["arc_challenge"][0].gold == "water"  # numeric answer keys map by position
    assert probes["truthfulqa_mc1"][0].gold == "True answer." and len(probes["truthfulqa_mc1"]) == 4
    assert load_probes(["mmlu"], 4, seed=0) == {"mmlu": mmlu}  # the same items every time
    assert load_probes(["mmlu"], 4, seed=1) != {"mmlu": mmlu}


@pytest.mark.skipif(data_dir() is None or not (data_dir() / "mmlu").exists(), reason="the shared data directory is not here")
def test_the_real_probes_load_from_the_data_directory():
    probes = load_probes(["mmlu", "truthfulqa_mc1", "arc_challenge"], 100, seed=0)
    assert len(probes["mmlu"]) == 114 and len({it.group for it in probes["mmlu"]}) == 57
    assert len(probes["truthfulqa_mc1"]) == 100 and len(probes["arc_challenge"]) == 100
    assert all(0 <= it.answer < len(it.choices) for items in probes.values() for it in items)


def test_missing_probe_data_gets_one_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FTRAG_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(Exception) as err:
        load_probes(["arc_challenge"], 3, 0)
    assert "FTRAG_DATA_DIR" in str(err.value) and "arc" in str(err.value)


def test_forgetting_measures_every_adapter_and_the_other_method_on_the_same_items(tiny_model_dir, tmp_path, probe_data, caplog):
    # without the corpus paraphrases (and so without ft_plain), the full fine-tune trains on 30 sequences, not 300
    assert main(["run", "synth_qa", "--model", str(tiny_model_dir), *FAST, "finetune.paraphrases=0"]) == 0
    folder = run_dir(tmp_path)
    with caplog.at_level("INFO"):
        assert main(["forgetting", "synth_qa", "--items", "4"]) == 0
    assert not any("fine-tune (lora)" in r.message for r in caplog.records)  # the run's adapters are reused as they are
    forgetting = json.loads((folder / "scores.json").read_text())["forgetting"]
    assert [v["name"] for v in forgetting["variants"]] == ["ft", "ft_rag", "ft (full)"]
    assert [v["method"] for v in forgetting["variants"]] == ["lora"] * 2 + ["full"]
    assert {p: info["items"] for p, info in forgetting["probes"].items()} == {"mmlu": 4, "truthfulqa_mc1": 4, "arc_challenge": 4}
    for variant in forgetting["variants"]:
        assert variant["general_change"]["n"] == 12 and variant["domain_gain"]["n"] > 0
        for probe in forgetting["probes"]:
            base, mine = forgetting["base"][probe]["accuracy"]["mean"], variant["probes"][probe]["accuracy"]["mean"]
            assert variant["probes"][probe]["change"]["mean"] == pytest.approx(mine - base)
    answers = folder / "experiments" / "forgetting" / "predictions"
    assert len((answers / "mmlu" / "base.jsonl").read_text().splitlines()) == 4
    assert (answers / "domain" / "ft_full.jsonl").exists()  # the full fine-tune answered the task's test items too
    report = (folder / "report.md").read_text()
    assert "## Forgetting" in report and "plots/forgetting.png" in report and (folder / "plots" / "forgetting.png").exists()
    assert "forgetting" in (folder / "scores.csv").read_text()
    before = (answers / "arc_challenge" / "ft.jsonl").read_text()
    caplog.clear()
    with caplog.at_level("INFO"):
        assert main(["forgetting", "synth_qa", "--items", "4"]) == 0  # a second time: every answer is reused
    assert sum("answers cached" in r.message for r in caplog.records) == 4 * 3
    assert (answers / "arc_challenge" / "ft.jsonl").read_text() == before


def test_the_revision_names_exactly_the_test_items_whose_fact_changed():
    from bench.data.revision import load_revision
    from bench.data.tasks import load_task, tasks_dir

    task, revision = load_task("synth_qa"), load_revision(load_task("synth_qa"))
    changed_facts = {json.loads(line)["fact_id"] for line in (tasks_dir() / "synth_qa" / "update.jsonl").read_text().splitlines()}
    truth = {row["id"] for line in (tasks_dir() / "synth_qa" / "test.jsonl").read_text().splitlines()
             if (row := json.loads(line))["fact_id"] in changed_facts}
    assert {it.id for it in task.test if it.answerable and revision.touches(it)} == truth and len(truth) == 25
    assert len(revision.changed) == 25 and all(revision.stale[it.id] for it in revision.changed)
    assert sum(a != b for a, b in zip(task.train, revision.train)) == 11  # the pairs about changed facts, with new answers
    assert sum(a != b for a, b in zip(task.corpus, revision.corpus)) == 21


def test_a_task_without_a_usable_revision_gets_one_message(tmp_path):
    from bench.data.revision import load_revision
    from bench.data.tasks import load_task, tasks_dir
    from bench.records.errors import UserError

    task = load_task("synth_cls")
    with pytest.raises(UserError, match="declares no revision"):
        load_revision(task)
    qa = load_task("synth_qa")
    broken = qa.spec.model_copy(deep=True)
    broken.probes["update"].fields.stale = "no_such_column"
    with pytest.raises(UserError, match=r"stale \('no_such_column'\)"):
        load_revision(type(qa)(broken, tasks_dir() / "synth_qa", qa.corpus, qa.train, qa.test))


def test_update_brings_each_arm_up_to_date_and_scores_fresh_and_stale_answers(tiny_model_dir, tmp_path):
    from bench.data.tasks import tasks_dir

    assert main(["run", "synth_qa", "--model", str(tiny_model_dir), *FAST, "finetune.paraphrases=0", "--arms", "base,rag,ft,ft_rag"]) == 0
    folder = run_dir(tmp_path)
    assert main(["update", "synth_qa", "--unchanged", "4"]) == 0
    update = json.loads((folder / "scores.json").read_text())["update"]
    names = [v["name"] for v in update["variants"]]
    assert names == ["rag (stale index)", "rag (re-indexed)", "ft (stale)", "ft (continued)", "ft (retrained)",
                     "ft_rag (stale)", "ft_rag (continued)", "ft_rag (retrained)"]
    assert (update["changed_items"], update["unchanged_items"]) == (25, 4)
    cost = {v["name"]: v["update_seconds"] for v in update["variants"]}
    assert cost["rag (stale index)"] == cost["ft (stale)"] == 0
    assert cost["rag (re-indexed)"] > 0 and cost["ft (continued)"] > 0 and cost["ft (retrained)"] > 0
    assert cost["ft_rag (stale)"] == cost["rag (re-indexed)"]  # it retrieves from the re-indexed corpus
    answers = folder / "experiments" / "update" / "predictions"
    fresh, stale = answers / "changed" / "rag_re-indexed.jsonl", answers / "changed" / "rag_stale_index.jsonl"
    assert len(lines(fresh)) == 25 and all(r["retrieved"] for r in lines(fresh))
    # the scores come from the stored answers alone: give the re-indexed RAG every new value, the stale one every old value
    items = {row["id"]: row for row in map(json.loads, (tasks_dir() / "synth_qa" / "update.jsonl").read_text().splitlines())}
    for path, key in ((fresh, "answers"), (stale, "old_answers")):
        path.write_text("".join(json.dumps({**r, "output": f"It is {items[r['id']][key][0]}."}) + "\n" for r in lines(path)))
    assert main(["score", str(folder)]) == 0
    scored = {v["name"]: v for v in json.loads((folder / "scores.json").read_text())["update"]["variants"]}
    assert scored["rag (re-indexed)"]["current"]["mean"] == 1.0 and scored["rag (re-indexed)"]["stale"]["mean"] == 0.0
    assert scored["rag (stale index)"]["current"]["mean"] == 0.0 and scored["rag (stale index)"]["stale"]["mean"] == 1.0
    report = (folder / "report.md").read_text()
    assert "## Knowledge update" in report and (folder / "plots" / "update.png").exists()


def test_learning_curve_trains_on_balanced_parts_and_compares_each_with_rag(tiny_model_dir, tmp_path):
    assert main(["run", "synth_qa", "--model", str(tiny_model_dir), *FAST, "finetune.paraphrases=0", "--arms", "base,rag,ft,ft_rag"]) == 0
    folder = run_dir(tmp_path)
    assert main(["curve", "synth_qa", "--fractions", "0.1,0.5"]) == 0
    scores = json.loads((folder / "scores.json").read_text())
    curve = scores["curve"]
    whole = curve["training_examples"]
    # ft (closed book, open questions) trains on every pair; ft_rag holds a tenth out for its stopping rule
    assert whole == {"ft": 139, "ft_rag": 139 - 13}
    assert [(p["arm"], p["examples"]) for p in curve["points"]] == [
        ("ft", 14), ("ft", 70), ("ft", 139), ("ft_rag", 13), ("ft_rag", 63), ("ft_rag", 126)]
    manifest = json.loads((folder / "experiments" / "curve" / "run.json").read_text())
    raft = {v["train_examples"]: v["train"]["sequences"] for v in manifest["variants"] if v["arm"] == "ft_rag"}
    assert raft[13] == 13 and raft[63] == 63  # one RAFT epoch over exactly the examples drawn
    at_whole = next(p for p in curve["points"] if p["arm"] == "ft" and p["examples"] == whole["ft"])
    assert at_whole["score"] == scores["arms"]["ft"]["accuracy"]["correct"]  # the run itself is the last point
    assert curve["rag"] == scores["arms"]["rag"]["accuracy"]["correct"]
    for arm, examples in curve["matches_rag"].items():  # the fewest examples from which no larger size is below RAG
        below = [p["p"] < 0.05 and p["vs_rag"]["mean"] < 0 for p in curve["points"] if p["arm"] == arm]
        sizes = [p["examples"] for p in curve["points"] if p["arm"] == arm]
        expected = next((sizes[i] for i in range(len(sizes)) if not any(below[i:])), None)
        assert examples == expected
    assert "## Learning curve" in (folder / "report.md").read_text() and (folder / "plots" / "learning_curve.png").exists()
    assert main(["curve", "synth_qa", "--fractions", "2"]) == 2
    assert main(["curve", "synth_qa", "--arms", "ft_plain"]) == 2  # not an arm of this run: one message, nothing trained
    # made from another state of the run (here: other task data), the experiment is left out of the scores, not mixed in
    manifest_path = folder / "experiments" / "curve" / "run.json"
    manifest_path.write_text(json.dumps({**manifest, "data_hash": "0" * 16}))
    assert main(["score", str(folder)]) == 0
    assert json.loads((folder / "scores.json").read_text())["curve"] is None


def test_the_curve_draws_the_arm_trained_on_labeled_examples_alone():
    # ft adds corpus paraphrases (documents, not labels) where the run has ft_plain beside it
    assert default_arms(["base", "rag", "ft", "ft_plain", "ft_rag"]) == ["ft_plain", "ft_rag"]
    assert default_arms(["base", "rag", "ft", "ft_rag"]) == ["ft", "ft_rag"]
    assert default_arms(["base", "ft"]) == ["ft"] and default_arms(["base", "rag"]) == []


def test_sweep_runs_the_task_per_model_and_reports_every_arm_against_model_size(tiny_model_dir, tmp_path, caplog):
    models = f"{tiny_model_dir},{wider_model(tiny_model_dir, tmp_path / 'tiny-wider')}"
    args = ["sweep", "synth_qa", "--models", models, *FAST, "finetune.paraphrases=0", "--arms", "base,rag,ft"]
    assert main(args) == 0
    (sweep,) = (tmp_path / "results").glob("sweep-synth_qa-*")
    report = (sweep / "report.md").read_text()
    assert "## Model size" in report and (sweep / "plots" / "model_size-0.png").exists()
    runs = sorted((tmp_path / "results" / "synth_qa").iterdir())
    sizes = sorted(json.loads((r / "scores.json").read_text())["n_params"] for r in runs)
    assert len(runs) == 2 and 0 < sizes[0] < sizes[1]
    rows = [line for line in report.splitlines() if re.match(r"\| .+ \| [\d,]+M \| (base|rag|ft) \|", line)]
    assert len(rows) == 2 * 3  # every arm of every model
    caplog.clear()
    with caplog.at_level("INFO"):
        assert main(args) == 0  # a second time: both runs are finished and unchanged, so reused whole
    assert sum("nothing changed since this run finished" in r.message for r in caplog.records) == 2
    assert not any("stage:" in r.message for r in caplog.records)
    assert main(["sweep", "synth_qa", "--models", str(tiny_model_dir)]) == 2  # one model is no sweep


def test_a_claim_agrees_or_disagrees_only_when_its_paired_test_is_significant():
    from bench.eval.claims import RAFT, judged
    from bench.records.scores import Interval

    gain, loss, unclear = Interval(mean=0.2, low=0.1, high=0.3, n=40), Interval(mean=-0.2, low=-0.3, high=-0.1, n=40), Interval(mean=0.1, low=-0.05, high=0.25, n=40)
    assert judged(RAFT, gain, 0.01, "x", "McNemar (mid-p)").finding == "agrees"
    assert judged(RAFT, loss, 0.01, "x", "McNemar (mid-p)").finding == "disagrees"
    assert judged(RAFT, unclear, 0.2, "x", "McNemar (mid-p)").finding == "no clear difference"
    assert judged(RAFT, None, None, "needs the ft_rag and rag arms", "").finding == "not measured"
    assert "+20.0 points" in judged(RAFT, gain, 0.01, "ft_rag minus rag", "McNemar (mid-p)").figures


def test_lora_forgets_less_only_where_a_method_forgot():
    from types import SimpleNamespace

    from bench.eval.claims import lora_forgets_less
    from bench.records.scores import Forgetting, ForgettingVariant, Interval

    def run(lora_change: float, full_change: float, p: float) -> str:
        def ft(method: str, change: float) -> ForgettingVariant:
            return ForgettingVariant(name=method, arm="ft", method=method, domain=None, domain_gain=Interval(mean=0.3, low=0.2, high=0.4, n=40),
                                     probes={}, general_change=Interval(mean=change, low=change - 0.05, high=change + 0.05, n=300), general_p=p)
        gap = Interval(mean=lora_change - full_change, low=lora_change - full_change - 0.03, high=lora_change - full_change + 0.03, n=300)
        forgetting = Forgetting(probes={}, base={}, variants=[ft("lora", lora_change), ft("full", full_change)], seconds=1.0,
                                lora_vs_full=gap, lora_vs_full_p=0.01)
        return lora_forgets_less(SimpleNamespace(forgetting=forgetting)).finding

    assert run(-0.02, -0.10, 0.001) == "agrees"  # full fine-tuning lost 10 points, LoRA 2
    assert run(-0.02, -0.10, 0.0) == "agrees"  # a p-value that underflowed to 0 is the most significant, not missing
    assert run(-0.10, -0.02, 0.001) == "disagrees"
    assert run(0.08, 0.03, 0.001) == "no clear difference"  # both gained: a gap between gains is not less forgetting
    assert run(0.08, 0.03, 0.5) == "no clear difference"


def test_no_probe_item_can_reach_a_training_set():
    """The probes' reader is imported by the forgetting experiment and its scoring alone: nothing that builds training
    pairs or loads a task's data (training/, the task loader) can reach it, directly or through another module."""
    from tests.test_layout import GRAPH

    def reach(module: str, seen: set[str]) -> set[str]:
        for name in GRAPH.get(module, []):
            if name not in seen:
                seen.add(name)
                reach(name, seen)
        return seen

    builders = [m for m in GRAPH if m.startswith("bench.training") or m in ("bench.data.tasks", "bench.data.loaders")]
    assert builders and not [m for m in builders if "bench.data.probes" in reach(m, set())]
    assert {m for m in GRAPH if "bench.data.probes" in GRAPH[m]} == {"bench.arms.probes", "bench.eval.forgetting", "bench.experiments.forgetting"}


def test_lora_and_full_fine_tuning_are_compared_on_the_arm_trained_on_labeled_examples():
    from types import SimpleNamespace

    from bench.eval.claims import lora_forgets_less
    from bench.experiments.common import labeled_closed_book_arm
    from bench.records.scores import Forgetting, ForgettingVariant, Interval

    # ft adds corpus paraphrases, which make its training ~1.7x as long: ft_plain is the same comparison, cheaper
    assert labeled_closed_book_arm(["base", "rag", "ft", "ft_plain", "ft_rag"]) == "ft_plain"
    assert labeled_closed_book_arm(["base", "ft", "ft_rag"]) == "ft" and labeled_closed_book_arm(["base", "rag", "ft_rag"]) is None

    def variant(arm: str, method: str, change: float) -> ForgettingVariant:
        return ForgettingVariant(name=f"{arm} ({method})", arm=arm, method=method, domain=None,
                                 domain_gain=Interval(mean=0.3, low=0.2, high=0.4, n=40), probes={},
                                 general_change=Interval(mean=change, low=change - 0.05, high=change + 0.05, n=300), general_p=0.001)
    gap = Interval(mean=0.08, low=0.05, high=0.11, n=300)
    # ft (LoRA) lost 10 points but is not the arm trained both ways: the claim reads ft_plain's pair alone
    forgetting = Forgetting(probes={}, base={}, seconds=1.0, methods_arm="ft_plain", lora_vs_full=gap, lora_vs_full_p=0.001,
                            variants=[variant("ft", "lora", -0.10), variant("ft_plain", "lora", 0.02), variant("ft_plain", "full", -0.06)])
    claim = lora_forgets_less(SimpleNamespace(forgetting=forgetting))
    assert claim.finding == "agrees" and "ft_plain by LoRA minus ft_plain by full" in claim.figures
    assert "-10.0" not in claim.figures and "full -6.0 points" in claim.figures
