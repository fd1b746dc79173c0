"""Run settings checked before any work: the task's `overrides:` (named as task.yaml fields), key=value settings
from the command line, and what the chosen settings need from the task (labels, training examples)."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Sequence

import yaml
from pydantic import ValidationError

from bench.data.spec import TaskSpec
from bench.records.arms import ARMS, default_arms
from bench.records.config import RunConfig, parse_override
from bench.records.errors import UserError, pydantic_problems


def override_problems(task_file: Path, name: str, overrides: dict[str, Any]) -> list[str]:
    """The task's own overrides, on top of the defaults: `task.yaml: overrides.retrieval.k: must be 1 or more...`."""
    try:
        RunConfig.model_validate({"task": name, **overrides})
    except ValidationError as err:
        return pydantic_problems(str(task_file), err, prefix="overrides.")
    return []


def command_line_problems(name: str, overrides: dict[str, Any], cli: Sequence[str]) -> list[str]:
    """key=value settings on top of the task's overrides (assumed valid), as `resolve_config` merges them."""
    tree, problems = copy.deepcopy({"task": name, **overrides}), []
    for text in cli:
        try:
            path, value = parse_override(text)
        except UserError as err:
            problems += err.problems
            continue
        except yaml.YAMLError as err:
            problems.append(f"command line: {text}: the value is not valid YAML ({getattr(err, 'problem', err)}). "
                            f"Quote it, or fix its brackets.")
            continue
        node = tree
        for depth, key in enumerate(path[:-1]):
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                problems.append(f"command line: {text}: {'.'.join(path[:depth + 1])} is a single setting, not a group. "
                                f"Write {'.'.join(path[:depth + 1])}=<value>.")
                break
        else:
            node[path[-1]] = value
    if problems:
        return problems
    try:
        RunConfig.model_validate(tree)
    except ValidationError as err:
        return pydantic_problems("command line", err)
    return []


def needs_problems(spec: TaskSpec, task_file: Path, cfg: RunConfig, has_train: bool) -> list[str]:
    """What these settings need from the task, which a run would otherwise find out only once it starts."""
    problems = []
    if cfg.answer_mode == "loglik" and not spec.labels:
        problems.append(f"{task_file}: answer_mode=loglik needs a fixed answer set, and the task lists no labels. "
                        f"Add labels to task.yaml, or use answer_mode=generate.")
    tuned = [arm for arm in cfg.arms or default_arms(False) if ARMS[arm].fine_tuned]
    if tuned and not has_train:
        problems.append(f"{task_file}: data.train: the fine-tuned arms ({', '.join(tuned)}) need training examples, and "
                        f"the task has none. Add data.train, or choose other arms (e.g. --arms base,rag).")
    return problems
