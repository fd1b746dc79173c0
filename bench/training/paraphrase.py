"""Paraphrases of the corpus for knowledge fine-tuning (Ovadia et al., 2024: the more phrasings of a fact the model
trains on, the better it answers about it). A task may ship them (`data.paraphrases`); otherwise, with
`finetune.paraphrase_source=model`, the generator writes them, and a paraphrase is kept only when it states every
value of its document (numbers with units, names): a small model's rewrite that drops or alters a fact would teach
a wrong one.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict

import torch

from bench.data.values import value_keys
from bench.models.device import resolve_precision
from bench.models.generate import generate
from bench.models.loading import format_prompt, load_generator
from bench.records.cache import cached_dir, stage_key
from bench.records.io import atomic_write_text, read_jsonl
from bench.records.items import Doc
from bench.retrieval.chunks import chunk_docs

log = logging.getLogger(__name__)
REWRITE = ("Rewrite the following text in different words. Keep every number, price, date and name exactly as it is.\n\n"
           "Text: {text}\n\nRewritten text:")
WINDOW_WORDS = 120  # long documents are rewritten in windows a small model can keep whole


def keeps_every_value(original: str, rewritten: str) -> bool:
    """The rewrite states every value of the original (it may add none that matter: those are checked at scoring)."""
    return bool(rewritten.strip()) and value_keys([original]) <= value_keys([rewritten])


def model_paraphrases(docs: list[Doc], per_doc: int, model_path: str, device: str, chat_template: str,
                      precision: str = "auto") -> list[Doc]:
    """`per_doc` rewrites of each document window by the generator (sampled, seeded), those that keep every value."""
    windows = chunk_docs(docs, WINDOW_WORDS, 0)

    def build(tmp) -> None:
        torch.manual_seed(0)  # the generator samples: seeded, for the same rewrites on every build
        model, tokenizer = load_generator(model_path, device, chat_template=chat_template, precision=precision)
        prompts = [format_prompt(tokenizer, REWRITE.format(text=w.text)) for w in windows for _ in range(per_doc)]
        outputs = generate(model, tokenizer, prompts, max_new_tokens=int(WINDOW_WORDS * 2), batch_size=16,
                           stop_at_newline=False, desc="paraphrase", sample=True)
        rows = [{"id": w.doc_id, "title": w.title, "text": out.text}
                for w, out in zip((w for w in windows for _ in range(per_doc)), outputs) if keeps_every_value(w.text, out.text)]
        atomic_write_text(tmp / "paraphrases.jsonl", "".join(json.dumps(r) + "\n" for r in rows))

    key = stage_key("paraphrases", model_path, [asdict(w) for w in windows], per_doc, REWRITE, resolve_precision(precision, device))
    folder, _ = cached_dir("paraphrases", key, build)
    kept = [Doc(r["id"], r["title"], r["text"]) for r in read_jsonl(folder / "paraphrases.jsonl")]
    log.info("paraphrases: kept %d of %d model rewrites that state every value", len(kept), len(windows) * per_doc)
    return kept


def paraphrases_for(task_paraphrases: list[Doc], per_doc: int) -> list[Doc]:
    """At most `per_doc` of the task's paraphrases of each document, in file order."""
    taken: dict[str, int] = {}
    chosen = []
    for doc in task_paraphrases:
        if taken.get(doc.id, 0) < per_doc:
            chosen.append(doc)
            taken[doc.id] = taken.get(doc.id, 0) + 1
    return chosen
