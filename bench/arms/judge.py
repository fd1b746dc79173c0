"""Optional model-based hallucination judge (off by default: `judge.enabled=true`).

A local instruction model reads the corpus chunks retrieved for the question and says whether the answer is
supported; its probability of "yes" (constrained choice over yes/no) is the support score. A 135M judge is a
weak judge: the report labels the figure as model-judged, next to the exact-match measures. Verdicts are stored
in `predictions/judge.json` by judge key (item and output), and the score stage reads them from there.
"""
from __future__ import annotations

from pathlib import Path

from bench.arms.prompts import chunks_block
from bench.models.choice import choose
from bench.models.loading import format_prompt, load_generator
from bench.models.presets import resolve_generator
from bench.records.io import atomic_write_json, read_json
from bench.records.predictions import Prediction, judge_key
from bench.retrieval.index import Retriever

JUDGE_QUESTION = "Request: {input}\nAnswer: {output}\n\nIs this answer supported by the documents above? Reply yes or no."


def judge_support(predictions: list[Prediction], retriever: Retriever, model_name: str, device: str, k: int, cache_file: Path,
                  precision: str = "auto") -> None:
    """Judge every answer that is not empty and not judged yet (once per distinct output); store P(supported)."""
    cache = read_json(cache_file) if cache_file.exists() else {}
    todo = {judge_key(p): p for p in predictions if p.output.strip()}
    missing = [p for key, p in todo.items() if key not in cache]
    if not missing:
        return
    model, tokenizer = load_generator(resolve_generator(model_name), device, precision=precision)
    chunks = retriever.search([p.input for p in missing], k)
    prompts = [format_prompt(tokenizer, chunks_block([(c.title, c.text) for c in found]) + "\n\n"
                             + JUDGE_QUESTION.format(input=p.input, output=p.output))
               for p, found in zip(missing, chunks)]
    for p, result in zip(missing, choose(model, tokenizer, prompts, ["yes", "no"], desc="judge")):
        cache[judge_key(p)] = result.probs[0]
    atomic_write_json(cache_file, cache)
