"""The reproducibility block: the command that reproduces a run, and what it ran on."""
from __future__ import annotations

import json
import shlex
from pathlib import Path

import yaml

from bench.data.tasks import read_spec, tasks_dir
from bench.records.config import resolve_config
from bench.report.formats import code, literal
from bench.report.runs import Run


def flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def override_value(value) -> str:
    """A value as the command line's YAML parser reads it back unchanged."""
    if isinstance(value, str) and value and yaml.safe_load(value) == value:
        return value
    return json.dumps(value)


def run_command(run: Run) -> tuple[str, list[str]]:
    """`ftrag run` with every setting that differs from what the task resolves to on its own, plus notes on
    anything that keeps it from reproducing the stored config hash with the current code."""
    task, stored_hash = run.scores.task.name, run.scores.config_hash
    stored = {k: v for k, v in flat(run.scores.config).items() if k != "task"}
    task_file = tasks_dir() / task / "task.yaml"
    task_overrides = read_spec(task_file).overrides if task_file.is_file() else {}
    baseline = flat(resolve_config(task, task_overrides).model_dump())
    overrides = [f"{k}={override_value(v)}" for k, v in stored.items() if k in baseline and baseline[k] != v]
    words = ["ftrag", "run", task, *overrides]
    if run.path.name != f"{Path(str(stored.get('model.generator', ''))).name}-{stored_hash}":
        words += ["--run-id", run.path.name]
    notes = [] if task_file.is_file() else [f"task {code(task)} is not in {code(tasks_dir())}: its own overrides could not be read"]
    retired = [code(f"{k}={v}") for k, v in stored.items() if k not in baseline]
    notes += [f"settings this code no longer has: {', '.join(retired)}"] if retired else []
    digest = resolve_config(task, task_overrides, overrides).digest()
    if digest != stored_hash:
        notes.append(f"with the current code this command resolves to config hash {code(digest)}, not the run's {code(stored_hash)} "
                     "(settings or their defaults changed since the run)")
    return " ".join(shlex.quote(w) for w in words), notes


def reproducibility_blocks(run: Run) -> list[tuple]:
    s, config = run.scores, run.scores.config
    task, env, model = s.task, s.environment, config.get("model") or {}
    seeds = config.get("seeds") or sorted({seed for spread in (s.seeds or {}).values() for seed in spread.seeds})
    memory = s.stage_memory_mb
    timings = ", ".join(f"{k} {v:.1f} s" + (f" ({memory[k]:,.0f} MB)" if k in memory else "") for k, v in s.timings.items())
    prompts = "the model's chat template" if s.prompt_format == "chat template" else "plain (no chat template)"
    command, notes = run_command(run)
    caveat = [("p", "Note: " + "; ".join(notes) + ".")] if notes else []  # notes quote settings with code()
    return [("code", command)] + caveat + [("list", [
        f"run folder {code(run.path)}; config hash {code(s.config_hash)}",
        f"generator {code(model.get('generator', '–'))} (loaded from {code(s.generator_path)}); embedder {code(model.get('embedder', '–'))}",
        f"prompts: {prompts} (model.chat_template={model.get('chat_template', 'auto')}); "
        f"retrieval: {config.get('retrieval', {}).get('method', 'dense')}; answering in {s.answering_precision} "
        f"(generation.precision={(config.get('generation') or {}).get('precision', 'auto')}; training's is in the fit table)",
        f"data: {literal(task.source)} License: {literal(task.license)}. Data hash {code(task.data_hash)}; "
        f"{task.train_examples} training examples, {task.corpus_documents} corpus documents",
        "test items: " + ", ".join(f"{n} {literal(stratum)}" for stratum, n in s.items.items()),
        f"seed {config.get('seed', '–')}" + (f"; fine-tuning repeated over seeds {', '.join(map(str, seeds))}" if seeds else ""),
        f"Python {literal(env.python)} on {literal(env.machine)}; GPU: {literal(env.cuda or 'none')}; "
        f"memory allocator: {literal(env.allocator)} (FTRAG_ALLOCATOR)",
        "packages: " + ", ".join(f"{literal(k)} {literal(v)}" for k, v in env.packages.items()),
        f"stage timings (and each stage's peak memory): {timings or '–'}",
    ])]
