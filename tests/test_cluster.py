"""Sweeps on Ray: each cell an ordinary run in a Ray worker, the same run folders as a local sweep.

The Ray test needs the optional extra (make setup-ray) and skips without it; the drill with a killed worker is
benchmarks/ray_sweep_drill.py.
"""
import json
import sys

import pytest

from bench.cli import main
from tests.conftest import wider_model
from tests.test_cli_e2e import FAST


def outputs(results):
    """Every run's answers, by run folder name and item."""
    return {(run.name, path.name, row["id"]): row["output"]
            for run in (results / "synth_qa").iterdir() for path in sorted((run / "predictions").glob("*.jsonl"))
            for row in map(json.loads, path.read_text().splitlines())}


def test_without_ray_a_ray_sweep_says_how_to_install_it(tiny_model_dir, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails, as where it is not installed
    assert main(["sweep", "synth_qa", "--models", f"{tiny_model_dir},{tiny_model_dir}", "--backend", "ray"]) == 2
    assert 'pip install -e ".[ray]"' in capsys.readouterr().err


def test_a_ray_sweep_runs_every_cell_as_a_ray_task_with_the_results_of_a_local_sweep(tiny_model_dir, tmp_path, monkeypatch):
    pytest.importorskip("ray")
    models = f"{tiny_model_dir},{wider_model(tiny_model_dir, tmp_path / 'tiny-wider')}"
    args = ["sweep", "synth_qa", "--models", models, *FAST, "finetune.paraphrases=0", "--arms", "base,ft"]
    assert main([*args, "--backend", "ray", "--cpus-per-cell", "1"]) == 0
    on_ray = outputs(tmp_path / "results")
    assert len({run for run, _, _ in on_ray}) == 2
    assert any((tmp_path / "results").glob("sweep-synth_qa-*/report.md"))
    monkeypatch.setenv("FTRAG_CACHE_DIR", str(tmp_path / "local-cache"))
    monkeypatch.setenv("FTRAG_RESULTS_DIR", str(tmp_path / "local-results"))
    assert main(args) == 0
    assert outputs(tmp_path / "local-results") == on_ray
