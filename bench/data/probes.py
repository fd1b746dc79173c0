"""General-knowledge probes for the forgetting experiment: MMLU, TruthfulQA MC1 and ARC-Challenge, read from the
data directory (FTRAG_DATA_DIR, each dataset in its own folder with a README on layout and license).

They are only ever answered, never trained on: nothing here is reachable from the training pairs (bench/training).
Each probe is a seeded sample, so the base model and every adapter answer the very same items.

>>> [probe.name for probe in PROBES.values()]
['mmlu', 'truthfulqa_mc1', 'arc_challenge']
"""
from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bench.data.readers import data_dir
from bench.records.errors import UserError

LETTERS = "ABCDEFGHIJKLMNOP"


@dataclass(frozen=True)
class ChoiceItem:
    """A multiple-choice question as the model reads it: the user text, the choices scored after it, the right one."""
    id: str
    probe: str
    group: str  # MMLU subject; "" elsewhere
    text: str
    choices: tuple[str, ...]
    answer: int  # index of the right choice

    @property
    def gold(self) -> str:
        return self.choices[self.answer]


@dataclass(frozen=True)
class Probe:
    name: str
    title: str
    folder: str  # under the data directory
    license: str
    scoring: str  # how it is prompted and scored, for the report
    read: Callable[[Path, int, int], list[ChoiceItem]]  # (folder, items, seed) -> the sample


def read_mmlu(folder: Path, items: int, seed: int) -> list[ChoiceItem]:
    """A subject-stratified sample of the test split: the same number of questions from each of the 57 subjects."""
    files = sorted((folder / "test").glob("*_test.csv"))
    per_subject = max(1, round(items / max(1, len(files))))
    chosen = []
    for path in files:
        subject = path.name.removesuffix("_test.csv")
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [[field.strip() for field in row] for row in csv.reader(handle) if len(row) == 6]
        for number in sorted(random.Random(f"{seed}/mmlu/{subject}").sample(range(len(rows)), min(per_subject, len(rows)))):
            question, *options, answer = rows[number]
            lettered = "\n".join(f"{letter}. {option}" for letter, option in zip(LETTERS, options))
            text = f"The following is a multiple choice question about {subject.replace('_', ' ')}.\n\n{question}\n{lettered}"
            chosen.append(ChoiceItem(f"mmlu/{subject}/{number}", "mmlu", subject, text, tuple(LETTERS[:4]), LETTERS.index(answer)))
    return chosen


def read_truthfulqa(folder: Path, items: int, seed: int) -> list[ChoiceItem]:
    """MC1 of the original (v0) benchmark, as lm-evaluation-harness scores it: the log-likelihood of each option."""
    rows = json.loads((folder / "v0" / "mc_task.json").read_text(encoding="utf-8"))
    picked = sorted(random.Random(f"{seed}/truthfulqa").sample(range(len(rows)), min(items, len(rows))))
    chosen = []
    for number in picked:
        options = list(rows[number]["mc1_targets"].items())
        chosen.append(ChoiceItem(f"truthfulqa/{number}", "truthfulqa_mc1", "", f"Question: {rows[number]['question'].strip()}",
                                 tuple(text for text, _ in options), [right for _, right in options].index(1)))
    return chosen


def read_arc(folder: Path, items: int, seed: int) -> list[ChoiceItem]:
    """ARC-Challenge test questions, scored by each option text's log-likelihood (lm-evaluation-harness `acc`)."""
    lines = (folder / "ARC-Challenge-Test.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    picked = sorted(random.Random(f"{seed}/arc").sample(range(len(rows)), min(items, len(rows))))
    chosen = []
    for number in picked:
        row = rows[number]
        options = row["question"]["choices"]
        answer = [option["label"] for option in options].index(row["answerKey"])  # labels are A-E or 1-4
        chosen.append(ChoiceItem(f"arc/{row['id']}", "arc_challenge", "", f"Question: {row['question']['stem'].strip()}",
                                 tuple(option["text"] for option in options), answer))
    return chosen


PROBES: dict[str, Probe] = {probe.name: probe for probe in (
    Probe("mmlu", "MMLU", "mmlu", "MIT", "0-shot, lettered options, the letter's log-likelihood; a seeded sample stratified by subject", read_mmlu),
    Probe("truthfulqa_mc1", "TruthfulQA MC1", "truthfulqa", "Apache-2.0", "the log-likelihood of each option text (v0 questions)", read_truthfulqa),
    Probe("arc_challenge", "ARC-Challenge", "arc", "CC BY-SA 4.0", "the log-likelihood of each option text", read_arc),
)}


def load_probes(names: list[str], items: int, seed: int) -> dict[str, list[ChoiceItem]]:
    """Each named probe's seeded sample of about `items` questions; one message when the data is not there."""
    root = data_dir()
    unknown = [name for name in names if name not in PROBES]
    if unknown:
        raise UserError(f"forgetting: unknown probe '{unknown[0]}'. Use any of: {', '.join(PROBES)}.")
    if root is None:
        raise UserError("forgetting: the general-knowledge probes are read from the data directory, and none was found. "
                        "Set FTRAG_DATA_DIR to the folder holding mmlu/, truthfulqa/ and arc/.")
    probes = {}
    for name in names:
        folder = root / PROBES[name].folder
        try:
            probes[name] = PROBES[name].read(folder, items, seed)
        except (OSError, KeyError, ValueError, json.JSONDecodeError) as err:
            raise UserError(f"forgetting: cannot read the {PROBES[name].title} probe under {folder} ({type(err).__name__}: {err}). "
                            f"Point FTRAG_DATA_DIR at the folder holding {PROBES[name].folder}/ laid out as its README says.") from None
        if not probes[name]:
            raise UserError(f"forgetting: {folder} holds no {PROBES[name].title} questions. Check FTRAG_DATA_DIR.")
    return probes
