"""Optional model-based hallucination judge (off by default: `judge.enabled=true`).

A local instruction model reads the corpus chunks retrieved for the question and says whether the answer is
supported; its probability of "yes" (constrained choice over yes/no) is the support score. A 135M judge is a
weak judge: the report labels the figure as model-judged, next to the exact-match measures.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from bench.cache import atomic_write_json
from bench.choice import choose
from bench.models import format_prompt, load_generator, resolve_generator
from bench.prompts import chunks_block
from bench.retrieval import Retriever

JUDGE_QUESTION = "Request: {input}\nAnswer: {output}\n\nIs this answer supported by the documents above? Reply yes or no."


def judge_key(record: dict) -> str:
    return f"{record['id']}:{hashlib.sha256(record['output'].encode()).hexdigest()[:12]}"


def judge_support(records_by_arm: dict[str, list[dict]], retriever: Retriever, model_name: str, device: str,
                  k: int, cache_file: Path) -> dict[str, dict[str, float]]:
    """{arm: {item id: P(supported)}} for every answer that is not empty; judged once per distinct output."""
    cache = json.loads(cache_file.read_text()) if cache_file.exists() else {}
    todo = {judge_key(r): r for records in records_by_arm.values() for r in records if r["output"].strip()}
    missing = [r for key, r in todo.items() if key not in cache]
    if missing:
        model, tokenizer = load_generator(resolve_generator(model_name), device)
        chunks = retriever.search([r["input"] for r in missing], k)
        prompts = [format_prompt(tokenizer, chunks_block([(c.title, c.text) for c in found]) + "\n\n"
                                 + JUDGE_QUESTION.format(input=r["input"], output=r["output"]))
                   for r, found in zip(missing, chunks)]
        for r, result in zip(missing, choose(model, tokenizer, prompts, ["yes", "no"], desc="judge")):
            cache[judge_key(r)] = result.probs[0]
        atomic_write_json(cache_file, cache)
    return {arm: {r["id"]: cache[judge_key(r)] for r in records if judge_key(r) in cache}
            for arm, records in records_by_arm.items()}
