"""What the synthetic-task tests share: the generated folders (module-scoped fixtures), the seed, the file lists."""
from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable

import pytest
import yaml

from bench.data import synth
from bench.data.synth import cls as cls_module
from bench.data.synth import draft as draft_module
from bench.data.synth import paraphrase as paraphrase_module
from bench.data.synth import qa as qa_module
from bench.data.synth.attributes import ATTRIBUTES
from bench.data.synth.catalogue import UNSTATED_POLICIES


SEED = 0
TASK_FILES = (
    "corpus.jsonl", "corpus_paraphrases.jsonl", "corpus_v2.jsonl", "train.jsonl", "test.jsonl", "unanswerable.jsonl",
    "update.jsonl", "train_v2.jsonl", "kb.json", "kb_v2.json", "task.yaml",
)
IDK = "I don't know"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def task_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synth_qa")
    synth.write_qa_task(folder, SEED)
    return folder


@pytest.fixture(scope="module")
def kb() -> synth.KnowledgeBase:
    return synth.generate_kb(SEED)


@pytest.fixture(scope="module")
def corpus_text(task_dir: Path) -> dict[str, str]:
    return {doc["id"]: doc["text"] for doc in read_jsonl(task_dir / "corpus.jsonl")}



CLS_FILES = ("corpus.jsonl", "corpus_paraphrases.jsonl", "kb.json", "train.jsonl", "test.jsonl", "task.yaml")
DRAFT_FILES = CLS_FILES


@pytest.fixture(scope="module")
def all_tasks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folders = synth.write_all_tasks(tmp_path_factory.mktemp("tasks"), SEED)
    return {folder.name: folder for folder in folders}


@pytest.fixture(scope="module")
def cls_rows(all_tasks: dict[str, Path]) -> tuple[list[dict], list[dict]]:
    folder = all_tasks["synth_cls"]
    return read_jsonl(folder / "train.jsonl"), read_jsonl(folder / "test.jsonl")


@pytest.fixture(scope="module")
def draft_rows(all_tasks: dict[str, Path]) -> tuple[list[dict], list[dict]]:
    folder = all_tasks["synth_draft"]
    return read_jsonl(folder / "train.jsonl"), read_jsonl(folder / "test.jsonl")

