"""Task definitions: `tasks/<name>/task.yaml` plus data files, validated and loaded into typed records.

Validation collects every problem before reporting, so a user fixes a task file in one pass.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bench.data.loaders import run_loader
from bench.data.readers import read_hf_rows, read_rows, resolve_path
from bench.data.spec import DataPart, TaskSpec
from bench.records.cache import digest, file_digest
from bench.records.errors import UserError, did_you_mean, format_pydantic_errors
from bench.records.items import ABSTAIN_ANSWER, Doc, Example
from bench.records.layout import REPO_ROOT

# Probes that are scored together with the test items (the update probe needs its own corpus and runs apart).
SCORED_PROBES = ("unanswerable", "general")


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


def select_items(test: list[Example], limit: int | None) -> list[Example]:
    """The first `limit` items of each stratum, in file order (the files are shuffled once, by their author)."""
    taken: dict[str, int] = {}
    chosen = []
    for item in test:
        if limit is None or taken.get(item.stratum, 0) < limit:
            chosen.append(item)
            taken[item.stratum] = taken.get(item.stratum, 0) + 1
    return chosen


def tasks_dir() -> Path:
    return Path(os.environ.get("FTRAG_TASKS_DIR", REPO_ROOT / "tasks"))


def available_tasks() -> list[str]:
    return sorted(p.parent.name for p in tasks_dir().glob("*/task.yaml") if not p.parent.name.startswith("_"))


def find_task_file(name: str) -> Path:
    """A task name under tasks/, a task folder, or a task.yaml path."""
    candidate = Path(name)
    if candidate.is_file():
        return candidate
    if (candidate / "task.yaml").is_file():
        return candidate / "task.yaml"
    named = tasks_dir() / name / "task.yaml"
    if named.is_file():
        return named
    raise UserError(did_you_mean(name, available_tasks(), "task") + f"\n(looked in {tasks_dir()}; a path to a task folder also works)")


def read_spec(task_file: Path) -> TaskSpec:
    try:
        raw = yaml.safe_load(task_file.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise UserError(f"{task_file}:{where}: not valid YAML ({getattr(err, 'problem', err)}). Fix the syntax there.") from None
    if not isinstance(raw, dict):
        raise UserError(f"{task_file}: expected a mapping of keys (name, kind, data, ...), found {type(raw).__name__}")
    try:
        return TaskSpec.model_validate(raw)
    except ValidationError as err:
        raise UserError(format_pydantic_errors(str(task_file), err)) from None


def _as_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(v) for v in value) if isinstance(value, (list, tuple)) else (str(value),)


def _as_targets(value: Any) -> tuple[str, ...]:
    """Accepted answers. The declining answer as a target marks an unanswerable example (no accepted answer)."""
    values = _as_list(value)
    return () if [v.strip().lower() for v in values] == [ABSTAIN_ANSWER.lower()] else values


def _missing_fields(rows: list[dict], wanted: dict[str, str | None], where: str, path: Path) -> list[str]:
    present = set().union(*(row.keys() for row in rows[:50])) if rows else set()
    problems = []
    for role, column in wanted.items():
        if column and column not in present:
            problems.append(
                f"{where}.fields.{role}: column '{column}' is not in {path.name} "
                f"(columns: {', '.join(sorted(present))}). Set fields.{role} to the column that holds the {role}."
            )
    return problems


def to_docs(rows: list[dict], part: DataPart, where: str, path: Path) -> tuple[list[Doc], list[str]]:
    f = part.fields
    problems = _missing_fields(rows, {"id": f.id, "text": f.text, "title": f.title}, where, path)
    if problems:
        return [], problems
    docs = [Doc(str(row[f.id]) if f.id else f"doc-{i}", str(row.get(f.title, "") or "") if f.title else "", str(row[f.text])) for i, row in enumerate(rows)]
    return [d for d in docs if d.text.strip()], []


def to_examples(rows: list[dict], part: DataPart, where: str, path: Path, default_stratum: str) -> tuple[list[Example], list[str]]:
    f = part.fields
    wanted = {"id": f.id, "input": f.input, "target": f.target, "stratum": f.stratum, "gold_docs": f.gold_docs, "facts": f.facts,
              "evidence": f.evidence}
    problems = _missing_fields(rows, wanted, where, path)
    if problems:
        return [], problems
    prefix = where.split(".")[-1]
    examples = [
        Example(
            id=str(row[f.id]) if f.id else f"{prefix}-{i}",
            input=str(row[f.input]),
            targets=_as_targets(row.get(f.target)) if f.target else (),
            stratum=str(row[f.stratum]) if f.stratum else default_stratum,
            gold_docs=_as_list(row.get(f.gold_docs)) if f.gold_docs else (),
            facts=_as_list(row.get(f.facts)) if f.facts else (),
            evidence=_as_list(row.get(f.evidence)) if f.evidence else (),
        )
        for i, row in enumerate(rows)
    ]
    return examples, []


def _load_part(spec_part: DataPart, folder: Path, where: str) -> tuple[list[dict], Path, str]:
    """Rows, their path (for messages) and a content hash (for cache keys)."""
    if spec_part.hf:
        rows = read_hf_rows(spec_part, where)
        return rows, Path(spec_part.hf), digest(spec_part.hf, spec_part.split, len(rows))
    if not spec_part.path:
        raise UserError(f"{where}: give either path (a file in the task folder) or hf (a Hugging Face dataset id)")
    path = resolve_path(folder, spec_part.path, where)
    if spec_part.loader:
        rows = run_loader(spec_part.loader, path, spec_part.options, where)
        return rows, path, digest(spec_part.loader, spec_part.options, [file_digest(p) for p in sorted(_files(path))])
    rows = read_rows(path, spec_part.format, where)
    return rows, path, file_digest(path)


def _files(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]


def load_task(name: str) -> Task:
    """Validate and load a task; raise one UserError listing every problem found."""
    task_file = find_task_file(name)
    spec, folder = read_spec(task_file), task_file.parent
    problems: list[str] = []
    if spec.labels_file:
        try:
            spec.labels = read_labels_file(resolve_path(folder, spec.labels_file, f"{task_file}: labels_file"), f"{task_file}: labels_file")
        except UserError as err:
            problems.append(str(err))
    parts: dict[str, Any] = {}
    hashes = []
    named_parts = {"corpus": spec.data.corpus, "paraphrases": spec.data.paraphrases, "train": spec.data.train,
                   "validation": spec.data.validation, "test": spec.data.test}
    named_parts.update({f"probes.{k}": v for k, v in spec.probes.items() if k in SCORED_PROBES})
    for part_name, part in named_parts.items():
        if part is None:
            continue
        where = f"{task_file}: data.{part_name}" if "." not in part_name else f"{task_file}: {part_name}"
        try:
            rows, path, content_hash = _load_part(part, folder, where)
        except UserError as err:
            problems.append(str(err))
            continue
        hashes.append(content_hash)
        if not rows:
            problems.append(f"{where}: {path.name} holds no records. Add data or remove this part.")
            continue
        if part_name in ("corpus", "paraphrases"):
            parts[part_name], found = to_docs(rows, part, where, path)
            if not found and not parts[part_name]:
                found = [f"{where}: every document in {path.name} has empty text."]
        else:
            # a probe's items are its own stratum; test items without a stratum column are "all"
            stratum = part_name.split(".")[-1] if part_name.startswith("probes.") else "all"
            parts[part_name], found = to_examples(rows, part, where, path, stratum)
        problems.extend(found)
    problems.extend(check_consistency(spec, parts, str(task_file)))
    if problems:
        raise UserError(f"{len(problems)} problem(s) in task '{spec.name}':\n- " + "\n- ".join(problems))
    probes = {k.split(".", 1)[1]: v for k, v in parts.items() if k.startswith("probes.")}
    test = parts["test"] + [ex for k in SCORED_PROBES for ex in probes.get(k, [])]
    return Task(spec, folder, parts.get("corpus", []), parts.get("train", []), test, probes, digest(spec.model_dump(), hashes),
                parts.get("paraphrases", []), parts.get("validation", []))


def read_labels_file(path: Path, where: str) -> list[str]:
    if not path.is_file():
        raise UserError(f"{where}: file not found: {path}. Point labels_file at a JSON list of label strings.")
    try:
        labels = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise UserError(f"{where}: {path.name} line {err.lineno}: malformed JSON ({err.msg}).") from None
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise UserError(f"{where}: {path.name} must hold a JSON list of label strings.")
    return labels


def check_consistency(spec: TaskSpec, parts: dict[str, Any], where: str) -> list[str]:
    problems = []
    for part_name, examples in parts.items():
        if part_name in ("corpus", "paraphrases"):
            continue  # documents: a paraphrase shares the id of the document it rephrases
        ids = [ex.id for ex in examples]
        if len(ids) != len(set(ids)):
            problems.append(f"{where}: {part_name}: item ids repeat; each item needs a unique id (or drop fields.id to number them).")
    test = parts.get("test", [])
    if spec.kind == "qa" and test and not any(ex.answerable for ex in test):
        problems.append(f"{where}: data.test: no item has a target answer; set data.test.fields.target to the answer column.")
    if spec.kind == "classification" and not spec.labels and not spec.labels_file:
        problems.append(f"{where}: labels: a classification task must list its labels (or name a labels_file).")
    if spec.labels:
        for part_name in ("train", "test"):
            unknown = sorted({t for ex in parts.get(part_name, []) for t in ex.targets} - set(spec.labels))
            if unknown:
                problems.append(f"{where}: data.{part_name}: targets not in labels: {', '.join(unknown[:10])}. Add them to labels or fix the data.")
        used = {t for name in ("train", "test") for ex in parts.get(name, []) for t in ex.targets}
        unused = [label for label in spec.labels if label not in used]
        if used and unused:
            problems.append(f"{where}: labels: {', '.join(unused[:10])} appear in no train or test item. Check the spelling or remove them.")
    return problems
