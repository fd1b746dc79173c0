"""The prompt skeleton every arm shares. Arms differ only in the context block they fill in.

>>> build_user_text("What is the price of the Velkor Aero 3?", QA_INSTRUCTION, context="")
'Question: What is the price of the Velkor Aero 3?\\nAnswer with a short phrase only. If you do not know the answer, reply "I don\\'t know".'
"""
from __future__ import annotations

from bench.tasks import Example

ABSTAIN_ANSWER = "I don't know"
QA_INSTRUCTION = (
    "Question: {input}\n"
    f'Answer with a short phrase only. If you do not know the answer, reply "{ABSTAIN_ANSWER}".'
)
DEFAULT_INSTRUCTIONS = {"qa": QA_INSTRUCTION}


def build_user_text(item_input: str, instruction: str, context: str) -> str:
    """Context (retrieved chunks or examples) first, then the task instruction with the item's input."""
    body = instruction.replace("{input}", item_input)
    return f"{context}\n\n{body}" if context else body


def chunks_block(chunks: list[tuple[str, str]]) -> str:
    """[(title, text), ...] -> a numbered block of documents."""
    lines = ["Documents:"]
    for number, (title, text) in enumerate(chunks, 1):
        lines.append(f"[{number}] {title}: {text}" if title else f"[{number}] {text}")
    return "\n".join(lines)


def examples_block(examples: list[Example]) -> str:
    lines = ["Examples:"]
    for ex in examples:
        lines.append(f"Question: {ex.input}\nAnswer: {ex.targets[0] if ex.targets else ABSTAIN_ANSWER}")
    return "\n".join(lines)
