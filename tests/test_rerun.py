"""What an unchanged re-run compares: a digest of everything a finished run's results follow from."""
import os
import shutil
from dataclasses import replace

import bench.run.launch as launch
from bench.data.tasks import validate_task
from bench.run.launch import run_inputs


def test_the_inputs_digest_follows_the_settings_the_data_a_local_models_files_and_the_code(tiny_model_dir, tmp_path, monkeypatch):
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    task, cfg = validate_task("synth_qa", [f"model.generator={model}"])
    inputs = run_inputs(cfg, task)
    again, same_cfg = validate_task("synth_qa", [f"model.generator={model}"])
    assert run_inputs(same_cfg, again) == inputs
    assert run_inputs(validate_task("synth_qa", [f"model.generator={model}", "retrieval.k=3"])[1], task) != inputs
    assert run_inputs(cfg, replace(task, data_hash="another")) != inputs
    weights = next(model.glob("*.safetensors"))
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))  # retrained in place
    assert run_inputs(cfg, task) != inputs
    touched = run_inputs(cfg, task)
    monkeypatch.setattr(launch, "code_digest", lambda: "another version of ftrag")
    assert run_inputs(cfg, task) != touched
