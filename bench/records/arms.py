"""The arms: each one a composition of model weights and a context source, defined once.

The run settings take their allowed arm names from here, the pipeline its weights and context, the report its
titles. Adding an arm is one line here (and its test).

>>> [arm.name for arm in ARMS.values() if arm.context == "retrieval"]
['rag', 'ft_rag']
>>> default_arms(uses_paraphrases=True)
['base', 'fewshot', 'rag', 'ft', 'ft_plain', 'ft_rag']
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Weights = Literal["base", "ft", "ft_plain", "ft_rag"]  # base model, or the adapter trained for that arm
Context = Literal["none", "fewshot", "retrieval"]


@dataclass(frozen=True)
class Arm:
    name: str
    weights: Weights
    context: Context
    title: str  # how the report names the arm mid-sentence

    @property
    def fine_tuned(self) -> bool:
        return self.weights != "base"

    @property
    def retrieves(self) -> bool:
        return self.context == "retrieval"


ARMS: dict[str, Arm] = {arm.name: arm for arm in (
    Arm("base", "base", "none", "the base model"),
    Arm("fewshot", "base", "fewshot", "few-shot prompting"),
    Arm("rag", "base", "retrieval", "RAG"),
    Arm("ft", "ft", "none", "fine-tuning"),
    # ft without the corpus paraphrases: what augmentation bought (run when the task has paraphrases to use)
    Arm("ft_plain", "ft_plain", "none", "fine-tuning without paraphrases"),
    Arm("ft_rag", "ft_rag", "retrieval", "fine-tuning + RAG"),
)}
STANDARD_ARMS = ["base", "fewshot", "rag", "ft", "ft_rag"]


def default_arms(uses_paraphrases: bool) -> list[str]:
    """The arms a run answers unless told otherwise."""
    return STANDARD_ARMS[:4] + ["ft_plain"] * uses_paraphrases + STANDARD_ARMS[4:]
