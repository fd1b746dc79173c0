"""Answering multiple-choice probe items (general knowledge, for the forgetting experiment) by log-likelihood choice.

Each item has its own choices. Items that share a choice set (MMLU's letters) are scored together, the rest one by
one; records are appended batch by batch under a key, as the arms' are, so a killed experiment resumes.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

from bench.arms.answer import read_done
from bench.data.probes import ChoiceItem
from bench.models.choice import choose
from bench.models.device import peak_memory_mb
from bench.models.loading import format_prompt
from bench.models.progress import progress
from bench.records.io import append_lines, atomic_write_text
from bench.records.predictions import Prediction, prompt_hash

log = logging.getLogger(__name__)
BATCH = 32  # items per write


def answer_choice_items(path: Path, key: str, items: list[ChoiceItem], load_model: Callable[[], tuple], device: str) -> None:
    """Choose an answer for every item not yet answered under `key`; `load_model()` gives (model, tokenizer)."""
    done = read_done(path, key)
    todo = [item for item in items if item.id not in done]
    if not todo:
        log.info("%s/%s: all %d answers cached", path.parent.name, path.stem, len(items))
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "".join(done[item.id] + "\n" for item in items if item.id in done))
    atomic_write_text(path.with_suffix(".key"), key + "\n")
    began = time.perf_counter()
    model, tokenizer = load_model()
    with progress(total=len(items), initial=len(items) - len(todo), desc=f"{path.parent.name} {path.stem}", unit="item") as bar:
        for start in range(0, len(todo), BATCH):
            part = todo[start : start + BATCH]
            records = []
            for choices in dict.fromkeys(item.choices for item in part):  # one label set at a time
                same = [item for item in part if item.choices == choices]
                prompts = [format_prompt(tokenizer, item.text) for item in same]
                for item, prompt, out in zip(same, prompts, choose(model, tokenizer, prompts, list(choices), bar=bar)):
                    records.append(Prediction(id=item.id, input=item.text, prompt_hash=prompt_hash(prompt), output=out.label,
                                              choice_logprobs=list(out.logprobs), prompt_tokens=out.prompt_tokens,
                                              output_tokens=out.choice_tokens, seconds=round(out.seconds, 4),
                                              peak_memory_mb=peak_memory_mb(device)))
            order = {item.id: n for n, item in enumerate(part)}
            append_lines(path, (r.model_dump_json() for r in sorted(records, key=lambda r: order[r.id])))
    del model
    log.info("%s/%s: answered %d items in %.0f s", path.parent.name, path.stem, len(todo), time.perf_counter() - began)
