"""What a task is made of once loaded: corpus documents and examples (training pairs, test items, probes)."""
from __future__ import annotations

from dataclasses import dataclass

# The one answer that declines. Prompts ask for it, "I don't know" training targets teach it, and the synthetic
# tasks write it; the metrics recognise it among other ways of declining.
ABSTAIN_ANSWER = "I don't know"


@dataclass(frozen=True)
class Doc:
    id: str
    title: str
    text: str


@dataclass(frozen=True)
class Example:
    id: str
    input: str
    targets: tuple[str, ...]  # accepted answers; empty for an unanswerable item
    stratum: str = "all"
    gold_docs: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()  # true values an answer may state about what is asked (see FieldMap.evidence)

    @property
    def answerable(self) -> bool:
        return bool(self.targets)

    @property
    def answer(self) -> str:
        """The training target: the first accepted answer, or the declining answer."""
        return self.targets[0] if self.targets else ABSTAIN_ANSWER
