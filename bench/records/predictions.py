"""A prediction record: what one arm produced for one test item, and what it cost. Never a score: the score
stage computes scores from these records, so a metric change never needs an arm to answer again.

One JSON line per item in `predictions/<arm>.jsonl`, appended batch by batch.
"""
from __future__ import annotations

import hashlib
import math
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from bench.records.errors import UserError
from bench.records.io import read_jsonl


class Prediction(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, ser_json_inf_nan="constants")

    id: str  # the test item's id
    input: str  # the item's input, so a predictions file reads on its own
    prompt_hash: str  # sha256 of the exact prompt, to compare runs item by item
    retrieved: list[str] = []  # ids of the corpus chunks in the prompt, best first ("<doc id>#<n>")
    examples: list[str] = []  # ids of the training examples in the prompt (few-shot or kNN)
    output: str  # the generated text, or the chosen label
    choice_logprobs: list[float] | None = None  # label choice: summed log-probability of each label, in label order
    prompt_tokens: int
    output_tokens: int  # generated tokens; for a label choice, the tokens its choice pass ran
    seconds: float  # this item's share of its batch's wall time: retrieval (embedding, search) and the model
    retrieval_seconds: float = 0.0  # the retrieval part of it
    peak_memory_mb: float | None = None  # measured while its batch was answered
    cpu_share: float | None = None  # of the threads' time while its batches ran (models.device.cpu_share); None: GPU

    @property
    def retrieved_docs(self) -> list[str]:
        """The documents of the retrieved chunks (a chunk id is its document id, '#', its number)."""
        return [chunk.rsplit("#", 1)[0] for chunk in self.retrieved]

    def choice_probs(self) -> list[float] | None:
        """Softmax over the labels' log-probabilities: the model's probability for each label."""
        if self.choice_logprobs is None:
            return None
        top = max(self.choice_logprobs)
        weights = [math.exp(lp - top) for lp in self.choice_logprobs]
        return [w / sum(weights) for w in weights]


def prompt_hash(prompt: str) -> str:
    return hashlib.sha256(prompt.encode()).hexdigest()[:16]


def judge_key(prediction: Prediction) -> str:
    """The judge scores an output once: items answered alike by several arms share the verdict."""
    return f"{prediction.id}:{hashlib.sha256(prediction.output.encode()).hexdigest()[:12]}"


def read_predictions(path: Path) -> list[Prediction]:
    """A predictions file; a line of another layout (an older ftrag) is reported, never half-read."""
    rows = read_jsonl(path, "Delete the file to answer those items again.")
    try:
        return [Prediction.model_validate(row) for row in rows]
    except ValidationError as err:
        raise UserError(f"{path}: not a predictions file of this ftrag version ({err.error_count()} problem(s), first: "
                        f"{err.errors()[0]['msg']}). Delete it and run again to answer those items.") from None
