"""Answering: one arm's prompts through the model, batch by batch, into `predictions/<arm>.jsonl`.

Records are appended after each batch, so a killed run loses one batch at most; a re-run under the same key
answers only the items still missing.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bench.arms.sources import PromptedItem, Sources, build_prompts
from bench.models.choice import ChoiceResult, choose
from bench.models.device import cpu_share, peak_memory_mb
from bench.models.generate import Generation, generate
from bench.models.progress import progress
from bench.records.arms import Arm
from bench.records.io import append_lines, atomic_write_text
from bench.records.items import Example
from bench.records.predictions import Prediction, prompt_hash

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answering:
    """How items are answered: by choosing among labels, or by generating up to max_new_tokens."""
    choices: list[str] | None
    max_new_tokens: int
    batch_size: int
    stop_at_newline: bool  # short answers end at the first line break; drafts do not
    device: str


def read_done(path: Path, key: str) -> dict[str, str]:
    """Lines already written under this key, by item id. A line cut short by a kill is dropped and redone."""
    key_file = path.with_suffix(".key")
    if not path.exists() or not key_file.exists() or key_file.read_text().strip() != key:
        return {}
    done = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            done[json.loads(line)["id"]] = line
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return done


def answer_arm(path: Path, key: str, arm: Arm, items: list[Example], sources: Sources, how: Answering,
               load_model: Callable[[], tuple]) -> None:
    """Answer every item not yet answered under `key`; `load_model()` gives (model, tokenizer) only when needed."""
    done = read_done(path, key)
    todo = [it for it in items if it.id not in done]
    if not todo:
        log.info("%s: all %d predictions cached", path.stem, len(items))
        return
    # rewrite the clean records first: drops a torn last line and any records of items no longer selected
    atomic_write_text(path, "".join(done[it.id] + "\n" for it in items if it.id in done))
    atomic_write_text(path.with_suffix(".key"), key + "\n")
    began = time.perf_counter()
    model, tokenizer = load_model()
    flush_every = how.batch_size * 2
    with progress(total=len(items), initial=len(items) - len(todo), desc=path.stem, unit="item") as bar:
        for start in range(0, len(todo), flush_every):
            part = todo[start : start + flush_every]
            prompted = build_prompts(arm, part, sources)  # retrieval happens here: its time is part of each query's cost
            prompts = [p.prompt for p in prompted]
            wall, cpu = time.perf_counter(), time.process_time()
            if how.choices:
                outputs = choose(model, tokenizer, prompts, how.choices, bar=bar)
            else:
                outputs = generate(model, tokenizer, prompts, how.max_new_tokens, how.batch_size, how.stop_at_newline, bar=bar)
            # stored with the records, so a later cached re-run still reports the memory this arm needed and how much
            # of the cores it had (a busy machine stretches the seconds its cost is priced from)
            memory = peak_memory_mb(how.device)
            share = cpu_share(time.process_time() - cpu, time.perf_counter() - wall, how.device)
            records = (prediction(p, out, memory, share).model_dump_json() for p, out in zip(prompted, outputs))
            append_lines(path, records)
    del model
    log.info("%s: answered %d items in %.0f s", path.stem, len(todo), time.perf_counter() - began)


def prediction(prompted: PromptedItem, out: Generation | ChoiceResult, memory_mb: float,
               share: float | None) -> Prediction:
    choice = isinstance(out, ChoiceResult)
    return Prediction(
        id=prompted.item.id, input=prompted.item.input, prompt_hash=prompt_hash(prompted.prompt),
        retrieved=[c.id for c in prompted.retrieved], examples=list(prompted.neighbours),
        output=out.label if choice else out.text, choice_logprobs=list(out.logprobs) if choice else None,
        prompt_tokens=out.prompt_tokens, output_tokens=out.choice_tokens if choice else out.output_tokens,
        seconds=round(out.seconds + prompted.retrieval_seconds, 4), retrieval_seconds=round(prompted.retrieval_seconds, 4),
        peak_memory_mb=memory_mb, cpu_share=share,
    )
