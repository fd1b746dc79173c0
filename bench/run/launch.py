"""`ftrag run`'s entry: the checked settings, the run folder, and whether anything has changed since that folder's
run finished.

A finished run leaves `finished.json`, a digest of everything its results follow from: the settings, the task's
data, the models named (a local path's files by size and time), ftrag's own code and the installed packages. A
re-run that finds the same digest has nothing to do and does nothing, without importing torch (seconds of start-up);
any difference runs the pipeline, whose stages reuse every cached artifact the change left valid.
"""
from __future__ import annotations

import importlib.metadata
import logging
from pathlib import Path

from bench.data.tasks import Task, uses_paraphrases, validate_task
from bench.records.arms import default_arms
from bench.records.cache import cache_root, digest, file_digest
from bench.records.config import RunConfig
from bench.records.errors import UserError
from bench.records.io import atomic_write_json, ensure_writable, read_json
from bench.records.layout import RunFolder, results_dir
from bench.records.locks import exclusive

log = logging.getLogger(__name__)
PACKAGE = Path(__file__).resolve().parents[1]  # bench/


def launcher_settings(launcher: str, processes: int | None) -> list[str]:
    """`ftrag run --launcher accelerate [--processes N]` as the setting it stands for, finetune.processes=N (one
    process per GPU, or 2 CPU processes, when N is not given); a key=value on the command line still overrides it."""
    if launcher == "accelerate":
        from bench.models.device import training_processes  # torch

        return [f"finetune.processes={processes or training_processes()}"]
    if processes:
        raise UserError("run --processes: it sets how many processes --launcher accelerate starts; add --launcher accelerate "
                        "(or set finetune.processes=N).")
    return []


def run(task_name: str, overrides: list[str] = (), run_id: str | None = None) -> Path:
    task, cfg = validate_task(task_name, overrides)  # every problem with the task or the settings, before any work
    if cfg.headline is not None:  # the metrics load scipy, which an unchanged re-run otherwise does without
        from bench.eval.metrics import check_headline
        check_headline(task, cfg)
    if cfg.arms is None:
        cfg = cfg.model_copy(update={"arms": default_arms(uses_paraphrases(cfg, task))})
    folder = RunFolder(results_dir() / task.name / (run_id or f"{Path(cfg.model.generator).name}-{cfg.digest()}"))
    ensure_writable(folder.path, "FTRAG_RESULTS_DIR")
    ensure_writable(cache_root(), "FTRAG_CACHE_DIR")
    with exclusive(folder.path / ".lock", f"writing {folder.path}"):
        inputs = run_inputs(cfg, task)
        if finished_with(folder, inputs):
            log.info("nothing changed since this run finished (settings, data, models, code, packages): %s", folder.report)
            return folder.path
        from bench.run.pipeline import run_in  # torch and transformers: seconds that an unchanged re-run does without

        folder.finished.unlink(missing_ok=True)  # a run killed from here on is not finished, whatever it leaves
        run_in(folder, cfg, task)
        atomic_write_json(folder.finished, {"inputs": inputs})
        return folder.path


def finished_with(folder: RunFolder, inputs: str) -> bool:
    """Whether the folder holds a finished run of exactly these inputs, its report in place."""
    if not (folder.finished.exists() and folder.report.exists() and folder.report.with_suffix(".html").exists()):
        return False
    try:
        return read_json(folder.finished).get("inputs") == inputs
    except (ValueError, AttributeError):  # torn or edited by hand: run again
        return False


def run_inputs(cfg: RunConfig, task: Task) -> str:
    """A digest of everything a run's results follow from."""
    models = [cfg.model.generator, cfg.model.embedder, cfg.judge.model]
    return digest(cfg.model_dump(), task.data_hash, [model_files(name) for name in models], code_digest(), packages())


def model_files(name: str) -> list:
    """A local model by its files' names, sizes and times; a preset or hub id by name (a preset's weights come with
    its package, whose version is in `packages`)."""
    path = Path(name).expanduser()
    if not path.exists():
        return [name]
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return [name] + [(str(p.relative_to(path.parent)), p.stat().st_size, p.stat().st_mtime_ns) for p in files]


def code_digest() -> str:
    """ftrag's own source: a changed metric, prompt or stage is a changed run."""
    return digest([file_digest(source) for source in sorted(PACKAGE.rglob("*.py"))])


def packages() -> list[str]:
    """Every installed distribution and its version (torch, transformers, the packages that ship model weights...)."""
    return sorted(f"{dist.metadata['Name']}=={dist.version}" for dist in importlib.metadata.distributions())
