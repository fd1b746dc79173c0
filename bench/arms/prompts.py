"""The prompt skeleton every arm shares. Arms differ only in the context block they fill in.

>>> build_user_text("What is the price of the Velkor Aero 3?", QA_INSTRUCTION, context="")
'Answer with a short phrase only. If you do not know the answer, reply "I don\\'t know".\\nQuestion: What is the price of the Velkor Aero 3?'
>>> default_instruction("drafting", None)
'Request: {input}\\n\\nWrite a concise, factual response of a few sentences.'
>>> default_instruction("classification", ["refund", "card_lost"])
'Message: {input}\\nWhich category does this message belong to? Categories: refund, card_lost.\\nAnswer with the category only.'
"""
from __future__ import annotations

from bench.records.items import ABSTAIN_ANSWER, Example

# The instruction before the question: every closed-book prompt then shares the chat template's system turn and the
# instruction (49 tokens with SmolLM2's template, against 26 with the question first), which training runs once per
# batch part (training.finetune.answer_loss): closed-book QA pairs run ~40% fewer positions, and synth_qa's closed-book
# LoRA steps ran 1.35x faster. With the question last, next to the answer, RAG and ft_rag also answered more
# (benchmarks/RESULTS.md)
QA_INSTRUCTION = (
    f'Answer with a short phrase only. If you do not know the answer, reply "{ABSTAIN_ANSWER}".\n'
    "Question: {input}"
)
# Listing the labels helps a zero-shot model; past this many the list costs more prompt than it helps.
MAX_LISTED_LABELS = 20
# How a labeled example reads inside a few-shot or kNN block, per task kind.
EXAMPLE_FORMATS = {
    "qa": "Question: {input}\nAnswer: {target}",
    "classification": "Message: {input}\nCategory: {target}",
    "drafting": "Request: {input}\nResponse: {target}",
}


def default_instruction(kind: str, labels: list[str] | None) -> str:
    listed = ", ".join(labels) if labels and len(labels) <= MAX_LISTED_LABELS else ""
    if kind == "classification":
        categories = f" Categories: {listed}." if listed else ""
        return f"Message: {{input}}\nWhich category does this message belong to?{categories}\nAnswer with the category only."
    if kind == "qa" and labels:
        return f"Question: {{input}}\nAnswer with one of: {listed or ', '.join(labels)}."
    if kind == "qa":
        return QA_INSTRUCTION
    # "Request:" sets the input apart from retrieved documents whose lines share its form: without it, qmsum's
    # "Meeting TS3011a: What did ...?" followed "[3] Meeting TS3011a (Product): <transcript>", and SmolLM2-135M with
    # RAG repeated the query as its whole answer for 23 of 40 items (ROUGE-L 12.9; with the label 16.8, none)
    return "Request: {input}\n\nWrite a concise, factual response of a few sentences."


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


def examples_block(examples: list[Example], kind: str) -> str:
    template = EXAMPLE_FORMATS[kind]
    lines = ["Examples:"]
    for ex in examples:
        lines.append(template.format(input=ex.input, target=ex.answer))
    return "\n".join(lines)
