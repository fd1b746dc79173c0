"""Task definitions: `tasks/<name>/task.yaml` plus data files, validated and loaded into typed records.

Validation collects every problem before reporting, so a user fixes a task file in one pass: `validate_task`
checks the task, its overrides and the command line's settings, everything a run would reject, before any work.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from bench.data.checks import (SCORED_PROBES, Part, dangling_references, duplicate_ids, label_problems, probe_problems,
                               target_problems)
from bench.data.hub import read_hf_rows
from bench.data.loaders import run_loader
from bench.data.readers import Rows, read_rows, resolve_path
from bench.data.rows import to_docs, to_examples
from bench.data.settings import command_line_problems, needs_problems, override_problems
from bench.data.spec import DataPart, TaskSpec
from bench.data.taskfile import available_tasks, find_task_file, read_spec, tasks_dir  # noqa: F401 (the package's API)
from bench.data.textfile import Lines, read_bytes
from bench.records.cache import digest, file_digest
from bench.records.config import RunConfig, resolve_config
from bench.records.errors import UserError, describe
from bench.records.items import Doc, Example


@dataclass
class Task:
    spec: TaskSpec
    folder: Path
    corpus: list[Doc]
    train: list[Example]
    test: list[Example]  # test items plus the scored probes
    probes: dict[str, list[Example]] = field(default_factory=dict)
    data_hash: str = ""
    paraphrases: list[Doc] = field(default_factory=list)  # other phrasings of corpus documents (Doc.id: the one rephrased)
    validation: list[Example] = field(default_factory=list)  # held-out examples for fine-tuning's stopping rule

    @property
    def name(self) -> str:
        return self.spec.name


def uses_paraphrases(cfg: RunConfig, task: Task) -> bool:
    """Whether `ft` trains on other phrasings of the corpus (and so whether the run has the `ft_plain` ablation)."""
    tuning = cfg.finetune
    return bool(tuning.paraphrases and tuning.corpus_epochs and task.corpus and (tuning.paraphrase_source == "model" or task.paraphrases))


def select_items(test: list[Example], limit: int | None) -> list[Example]:
    """The first `limit` items of each stratum, in file order (the files are shuffled once, by their author)."""
    taken: dict[str, int] = {}
    chosen = []
    for item in test:
        if limit is None or taken.get(item.stratum, 0) < limit:
            chosen.append(item)
            taken[item.stratum] = taken.get(item.stratum, 0) + 1
    return chosen


def load_task(name: str) -> Task:
    """Validate and load a task (its overrides included); raise one UserError listing every problem found."""
    return check_task(name, None)[0]


def validate_task(name: str, cli_overrides: Sequence[str] = ()) -> tuple[Task, RunConfig]:
    """Everything `ftrag run` would reject, before any work: the task, its overrides and the command line's settings.
    Returns the task and the resolved settings (as `resolve_config` gives them); raises one UserError otherwise."""
    return check_task(name, list(cli_overrides))


def check_task(name: str, cli: list[str] | None) -> tuple[Task, RunConfig | None]:
    """The task, and with `cli` (the command line's settings) the resolved settings; one UserError for every problem."""
    task_file = find_task_file(name)
    try:
        spec = read_spec(task_file)
    except UserError as err:  # task.yaml itself is broken: its problems, and the command line's
        problems = err.problems + (command_line_problems(task_file.parent.name, {}, cli) if cli else [])
        if len(problems) == 1:
            raise
        raise UserError.listing(f"{len(problems)} problem(s) in {task_file}:", problems) from None
    task, problems = collect(task_file, spec)
    settings = override_problems(task_file, spec.name, spec.overrides)
    if cli is not None and not settings:
        settings = command_line_problems(spec.name, spec.overrides, cli)
    cfg = None
    if cli is not None and not settings:
        cfg = resolve_config(spec.name, spec.overrides, cli)
        problems += needs_problems(spec, task_file, cfg, bool(task.train) if task else spec.data.train is not None)
    problems += settings
    if problems:
        raise UserError.listing(f"{len(problems)} problem(s) in task '{spec.name}':", problems)
    return task, cfg


def data_parts(spec: TaskSpec) -> dict[str, DataPart]:
    parts = {"corpus": spec.data.corpus, "paraphrases": spec.data.paraphrases, "train": spec.data.train,
             "validation": spec.data.validation, "test": spec.data.test}
    parts.update({f"probes.{k}": v for k, v in spec.probes.items() if k in SCORED_PROBES})
    return {name: part for name, part in parts.items() if part is not None}


def collect(task_file: Path, spec: TaskSpec) -> tuple[Task | None, list[str]]:
    """The task, or None and every problem found in its labels and data."""
    where, problems, parts, hashes = str(task_file), [], {}, []
    if spec.labels_file:
        problems += labels_from_file(spec, task_file)
    problems += label_problems(spec, where) + probe_problems(spec, where)
    for name, part_spec in data_parts(spec).items():
        part, content_hash, found = load_part(name, part_spec, task_file, spec.kind)
        problems += found
        hashes += [content_hash] if content_hash else []
        if part is not None:
            parts[name] = part
    problems += duplicate_ids(list(parts.values())) + dangling_references(parts, spec) + target_problems(spec, parts, where)
    if problems:
        return None, problems
    hashes += revision_hashes(spec, task_file.parent)
    items = {name: part.items for name, part in parts.items()}
    probes = {k.split(".", 1)[1]: v for k, v in items.items() if k.startswith("probes.")}
    test = items["test"] + [ex for k in SCORED_PROBES for ex in probes.get(k, [])]
    return Task(spec, task_file.parent, items.get("corpus", []), items.get("train", []), test, probes,
                digest(spec.model_dump(), hashes), items.get("paraphrases", []), items.get("validation", [])), []


def revision_hashes(spec: TaskSpec, folder: Path) -> list[str]:
    """The revision's files (probes.update: its items, revised corpus and training pairs) are read only by `ftrag
    update`, but they are the task's data too: a change to them is a change to the task."""
    update = spec.probes.get("update")
    names = [update.path, update.corpus, update.train] if update else []
    return [file_digest(path) for name in names if name and (path := folder / name).is_file()]


def load_part(name: str, spec_part: DataPart, task_file: Path, kind: str) -> tuple[Part | None, str | None, list[str]]:
    """(the part, a content hash for cache keys, its problems)."""
    where = f"{task_file}: {name}" if name.startswith("probes.") else f"{task_file}: data.{name}"
    try:
        rows, source, content_hash = read_part(spec_part, task_file.parent, where)
    except UserError as err:
        return None, None, err.problems
    if not rows.records:
        return None, content_hash, rows.problems or [f"{where}: {Path(source).name} holds no records. Add data or remove this part."]
    if name in ("corpus", "paraphrases"):
        pairs, found = to_docs(rows, spec_part, where, source)
    else:  # a probe's items are its own stratum; test items without a stratum column are "all"
        pairs, found = to_examples(rows, spec_part, where, source, kind, name.split(".")[-1] if name.startswith("probes.") else "all")
    part = Part(name, where, spec_part, [item for item, _ in pairs], [origin for _, origin in pairs], source)
    return part, content_hash, rows.problems + found


def read_part(spec_part: DataPart, folder: Path, where: str) -> tuple[Rows, str, str]:
    """Records, where they were read from (for messages) and a content hash (for cache keys)."""
    if spec_part.hf and spec_part.path:
        raise UserError(f"{where}: gives both path and hf. Keep one: path for a file, hf for a Hugging Face dataset id.")
    if spec_part.hf:
        records = read_hf_rows(spec_part, where)
        origin = f"{spec_part.hf} (split {spec_part.split or 'train'})"
        return as_rows(records, f"{origin} row"), origin, digest(spec_part.hf, spec_part.split, len(records))
    if not spec_part.path:
        raise UserError(f"{where}: give either path (a file in the task folder) or hf (a Hugging Face dataset id).")
    path = resolve_path(folder, spec_part.path, where)
    if spec_part.loader:
        records = run_loader(spec_part.loader, path, spec_part.options, where)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        return (as_rows(records, f"{path} (loader {spec_part.loader}) record"), str(path),
                digest(spec_part.loader, spec_part.options, [file_digest(p) for p in files]))
    rows = read_rows(path, spec_part.format, where)
    return rows, str(path), file_digest(path)


def as_rows(records: list[Any], label: str) -> Rows:
    rows = Rows()
    for number, record in enumerate(records, 1):
        rows.add(dict(record), f"{label} {number}")
    return rows


def labels_from_file(spec: TaskSpec, task_file: Path) -> list[str]:
    """Set spec.labels from labels_file (a JSON list of strings); the problems found instead."""
    where = f"{task_file}: labels_file"
    if spec.labels is not None:
        return [f"{where}: given beside labels. Keep one of them."]
    try:
        path = resolve_path(task_file.parent, spec.labels_file, where)
        lines = Lines(path, read_bytes(path, where))
        labels = json.loads(lines.text()) if not lines.problems else None
    except UserError as err:
        return err.problems
    except json.JSONDecodeError as err:
        return [f"{path}:{err.lineno}: malformed JSON ({err.msg}). Write a JSON list of label strings, e.g. [\"billing\", \"delivery\"]."]
    if lines.problems:
        return lines.problems
    items = labels if isinstance(labels, list) else [labels]  # a number is taken as its text; anything else is wrong
    wrong = [x for x in items if isinstance(x, bool) or not isinstance(x, (str, int, float))] or ([] if isinstance(labels, list) else [labels])
    if wrong:
        return [f"{path}: must hold a JSON list of label strings, found {describe(wrong[0])}. "
                f"Write it as [\"billing\", \"delivery\"] (quote every label)."]
    spec.labels = [str(x) for x in labels]
    return []
