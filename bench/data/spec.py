"""The schema of task.yaml: what a task file may say, typed and validated by pydantic."""
from __future__ import annotations

from typing import Any, Literal

from bench.records.config import Strict


class FieldMap(Strict):
    id: str | None = None
    input: str = "input"
    target: str | None = "target"
    stratum: str | None = None
    gold_docs: str | None = None
    facts: str | None = None  # drafting: the required facts (a list column); derived from the reference when absent
    # the true values an answer may state about what the item asks (a list column), e.g. every known fact of the
    # product asked about: a stated value is "supported" when it is one of them (else the gold documents decide)
    evidence: str | None = None
    stale: str | None = None  # update probe: the answers that were right before the revision (a list column)
    text: str = "text"
    title: str | None = None


class DataPart(Strict):
    path: str | None = None  # relative to the task folder; "{data_dir}/..." reads from the data directory
    hf: str | None = None  # a Hugging Face dataset id, for online users
    split: str | None = None
    format: Literal["auto", "jsonl", "json", "csv", "parquet"] = "auto"
    loader: str | None = None  # a converter in bench/loaders.py for a dataset's own layout (built-in tasks)
    options: dict[str, Any] = {}  # arguments for the loader, e.g. {part: test}
    fields: FieldMap = FieldMap()
    corpus: str | None = None  # update probe only: the revised corpus file (data.corpus's fields)
    train: str | None = None  # update probe only: the revised training pairs (data.train's fields), if the team has them


class DataSpec(Strict):
    corpus: DataPart | None = None
    # other phrasings of corpus documents (id = the document rephrased): knowledge fine-tuning reads them too
    paraphrases: DataPart | None = None
    train: DataPart | None = None
    # held-out labeled examples for fine-tuning's stopping rule; without them a slice of train is held out
    validation: DataPart | None = None
    test: DataPart


class PromptSpec(Strict):
    instruction: str | None = None  # the task's instruction; {input} is replaced by the item's input


class TaskSpec(Strict):
    name: str
    kind: Literal["classification", "qa", "drafting"]
    description: str = ""
    source: str = ""
    license: str = ""
    data: DataSpec
    probes: dict[str, DataPart] = {}
    labels: list[str] | None = None
    labels_file: str | None = None  # a JSON list of labels, instead of listing them under labels
    prompts: PromptSpec = PromptSpec()
    overrides: dict[str, Any] = {}
