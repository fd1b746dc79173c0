"""Runs that survive their surroundings: identical cold re-runs, two runs at once, full disks and unwritable folders."""
from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

import bench.arms.answer
from bench.cli import main
from benchmarks.same_results import differences, figures, predictions

FAST = ["--limit", "2", "finetune.epochs=1", "finetune.corpus_epochs=1", "finetune.raft_epochs=1", "finetune.paraphrases=1",
        "finetune.fit_items=4", "generation.max_new_tokens=4", "--arms", "base,rag,ft"]


def run_once(tiny_model_dir: Path, root: Path, monkeypatch) -> Path:
    monkeypatch.setenv("FTRAG_CACHE_DIR", str(root / "cache"))
    monkeypatch.setenv("FTRAG_RESULTS_DIR", str(root / "results"))
    assert main(["run", "synth_qa", "--model", str(tiny_model_dir), *FAST, "--run-id", "r"]) == 0
    return root / "results" / "synth_qa" / "r"


def test_two_cold_runs_give_identical_predictions_and_scores(tiny_model_dir, tmp_path, monkeypatch):
    first, second = (run_once(tiny_model_dir, tmp_path / name, monkeypatch) for name in ("first", "second"))
    assert differences(predictions(first), predictions(second), "prediction") == []
    assert differences(figures(first), figures(second), "figure") == []


def test_two_runs_started_together_neither_corrupt_nor_duplicate_each_other(tiny_model_dir, tmp_path):
    env = {**os.environ, "FTRAG_CACHE_DIR": str(tmp_path / "cache"), "FTRAG_RESULTS_DIR": str(tmp_path / "results")}
    command = [sys.executable, "-m", "bench", "run", "synth_qa", "--model", str(tiny_model_dir), *FAST, "--run-id", "r"]
    both = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [process.communicate(timeout=900) for process in both]
    assert [process.returncode for process in both] == [0, 0], outputs[0][1][-2000:] + outputs[1][1][-2000:]
    assert sum("another ftrag process" in err and "waiting for it to finish" in err for _, err in outputs) >= 1
    for path in (tmp_path / "results" / "synth_qa" / "r" / "predictions").glob("*.jsonl"):
        ids = [line.split('"id":"', 1)[1].split('"', 1)[0] for line in path.read_text().splitlines()]
        assert len(ids) == len(set(ids)), path  # no item answered twice
    adapters = [p for p in (tmp_path / "cache" / "adapter").iterdir() if not p.name.startswith(".")]  # not its lock files
    assert len(adapters) == 1  # built once: the second process waited and reused it


def test_a_full_disk_mid_run_is_one_message_and_the_next_run_finishes_the_same(tiny_model_dir, tmp_path, monkeypatch, capsys):
    reference = run_once(tiny_model_dir, tmp_path / "reference", monkeypatch)
    real_append, calls = bench.arms.answer.append_lines, []

    def disk_fills(path, lines):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real_append(path, lines)

    monkeypatch.setattr(bench.arms.answer, "append_lines", disk_fills)
    monkeypatch.setenv("FTRAG_CACHE_DIR", str(tmp_path / "full" / "cache"))
    monkeypatch.setenv("FTRAG_RESULTS_DIR", str(tmp_path / "full" / "results"))
    assert main(["run", "synth_qa", "--model", str(tiny_model_dir), *FAST, "--run-id", "r"]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "run the same command again" in err and "Traceback" not in err
    monkeypatch.setattr(bench.arms.answer, "append_lines", real_append)
    resumed = run_once(tiny_model_dir, tmp_path / "full", monkeypatch)
    assert differences(predictions(reference), predictions(resumed), "prediction") == []


@pytest.mark.parametrize("setting", ["FTRAG_RESULTS_DIR", "FTRAG_CACHE_DIR"])
def test_a_folder_that_cannot_be_written_is_named_before_any_work(tiny_model_dir, tmp_path, monkeypatch, capsys, setting):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(setting, str(blocker / "inside"))
    monkeypatch.setattr("bench.run.pipeline.prepare", lambda *args: pytest.fail("work started"))
    assert main(["run", "synth_qa", "--model", str(tiny_model_dir), *FAST]) == 2
    err = capsys.readouterr().err
    assert f"cannot write there" in err and setting in err and "Traceback" not in err
