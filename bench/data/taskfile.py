"""Finding a task and reading its task.yaml into a TaskSpec, with one message per problem.

Labels keep what the user wrote: YAML reads `labels: [yes, no, maybe]` as [True, False, 'maybe'] and `[1, 2]` as
numbers, so they are taken back from the YAML text as the strings the user meant.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bench.data.spec import TaskSpec
from bench.data.textfile import Lines, read_bytes
from bench.records.errors import UserError, describe, did_you_mean, pydantic_problems
from bench.records.layout import REPO_ROOT

NULL_TAG = "tag:yaml.org,2002:null"
YAML_HINTS = {"'\\t'": "Indent with spaces, not tabs.",
              "mapping values are not allowed": "A value that holds ': ' needs quotes (\"...\").",
              "found undefined alias": "A value that starts with '*' needs quotes.",
              "expected ',' or ']'": "Close the list with ']' (and quote values that hold commas).",
              "expected ',' or '}'": "Close the mapping with '}' (and quote values that hold commas)."}


def tasks_dir() -> Path:
    return Path(os.environ.get("FTRAG_TASKS_DIR", REPO_ROOT / "tasks"))


def available_tasks() -> list[str]:
    return sorted(p.parent.name for p in tasks_dir().glob("*/task.yaml") if not p.parent.name.startswith("_"))


def find_task_file(name: str) -> Path:
    """A task name under tasks/, a task folder, or a task.yaml path."""
    candidate = Path(name).expanduser()
    if candidate.is_file():
        if candidate.suffix in (".yaml", ".yml"):
            return candidate
        raise UserError(f"{candidate}: is a file, not a task folder. Give the folder that holds task.yaml (or the task.yaml itself).")
    if candidate.is_dir() and (candidate / "task.yaml").exists():
        return candidate / "task.yaml"
    named = tasks_dir() / name / "task.yaml"
    if named.exists():
        return named
    if candidate.is_dir():
        raise UserError(f"{candidate}: this folder has no task.yaml. Write one (see README, \"Add your own domain task\"), "
                        f"or start from a template with `ftrag new-task <name>`.")
    if os.sep in name or name.startswith("."):
        raise UserError(f"{candidate}: no such folder. Fix the path, or give a task name from {tasks_dir()}.")
    raise UserError(did_you_mean(name, available_tasks(), "task") + f"\n(looked in {tasks_dir()}; a path to a task folder also works)")


def read_spec(task_file: Path) -> TaskSpec:
    raw = read_yaml(task_file)
    try:
        return TaskSpec.model_validate(raw)
    except ValidationError as err:
        raise UserError(*pydantic_problems(str(task_file), err)) from None


def read_yaml(task_file: Path) -> dict:
    """task.yaml as a mapping, its labels as written; duplicate keys, which YAML silently drops, are errors."""
    lines = Lines(task_file, read_bytes(task_file))
    if lines.problems:
        raise UserError(*lines.problems)
    try:
        node = yaml.compose(lines.text(), Loader=yaml.SafeLoader)
        raw = yaml.safe_load(lines.text())
    except yaml.YAMLError as err:
        raise UserError(yaml_message(task_file, err)) from None
    if raw is None:
        raise UserError(f"{task_file}: is empty. Write name, kind and data (see README, \"Add your own domain task\").")
    if not isinstance(raw, dict):
        raise UserError(f"{task_file}: holds {describe(raw)}, not a mapping of keys. Write it as name: ..., kind: ..., data: ...")
    problems = duplicate_keys(task_file, node)
    if problems:
        raise UserError(*problems)
    if "labels" in raw:
        raw["labels"] = labels_as_written(node, raw["labels"])
    return raw


def yaml_message(task_file: Path, err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None)
    where = f"{task_file}: line {mark.line + 1}, column {mark.column + 1}:" if mark else f"{task_file}:"
    problem = getattr(err, "problem", None) or str(err)
    hint = next((fix for key, fix in YAML_HINTS.items() if key in problem), "Fix the syntax there.")
    return f"{where} not valid YAML ({problem}). {hint}"


def duplicate_keys(task_file: Path, node: yaml.Node) -> list[str]:
    problems = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                line = key.start_mark.line + 1
                if key.value in seen:
                    problems.append(f"{task_file}:{line}: key '{key.value}' appears again (first on line {seen[key.value]}); "
                                    f"YAML would keep only the last. Keep one.")
                seen.setdefault(key.value, line)
            problems += duplicate_keys(task_file, value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            problems += duplicate_keys(task_file, item)
    return problems


def labels_as_written(node: yaml.Node, labels: Any) -> Any:
    """The labels list with every scalar as the text the user wrote (yes, 1.0, off), nulls kept as null."""
    value = next((v for k, v in node.value if getattr(k, "value", None) == "labels"), None)
    if not isinstance(value, yaml.SequenceNode) or not all(isinstance(n, yaml.ScalarNode) for n in value.value):
        return labels
    return [None if n.tag == NULL_TAG else n.value for n in value.value]
