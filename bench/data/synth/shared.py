"""What the synth task writers share: the JSON writers, the corpus files and kb.json, evidence, and the split of products."""
from __future__ import annotations

import json
import random
from pathlib import Path

from bench.data.synth.catalogue import CATEGORIES
from bench.data.synth.corpus import Document, fact_doc_ids
from bench.data.synth.kb import KnowledgeBase, Product
from bench.data.synth.paraphrase import Paraphrase, build_paraphrases

# How every synth task.yaml maps corpus_paraphrases.jsonl: a paraphrase's id is the document it rephrases.
PARAPHRASES_YAML = "paraphrases: {path: corpus_paraphrases.jsonl, fields: {id: doc_id, text: text, title: title}}"


def _corpus_row(document: Document) -> dict:
    return {"id": document.doc_id, "title": document.title, "text": document.text}


def _paraphrase_row(paraphrase: Paraphrase) -> dict:
    return {
        "id": f"{paraphrase.doc_id}#p{paraphrase.number}",
        "doc_id": paraphrase.doc_id,
        "title": paraphrase.title,
        "text": paraphrase.text,
    }


def _evidence(kb: KnowledgeBase, *entities: str) -> list[str]:
    """Every surface form (value and aliases) of every fact the knowledge base holds about the entities, once each.

    The scorer counts a number an answer states as supported when it is one of these, and as contradicting the
    knowledge base when it has the kind of one of them (a price, a number of months) but matches none.
    """
    forms = [form for fact in kb.facts if fact.entity in entities for form in (fact.value, *fact.aliases)]
    return list(dict.fromkeys(forms))


def _kb_record(kb: KnowledgeBase, doc_ids: dict[str, list[str]], seed: int, revision: int) -> dict:
    return {
        "company": kb.company,
        "seed": seed,
        "revision": revision,
        "products": [{"name": product.name, "category": product.category} for product in kb.products],
        "facts": [
            {
                "fact_id": fact.fact_id,
                "entity": fact.entity,
                "attribute": fact.attribute,
                "value": fact.value,
                "aliases": list(fact.aliases),
                "doc_ids": doc_ids[fact.fact_id],
            }
            for fact in kb.facts
        ],
    }


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def _write_json(path: Path, record: dict) -> None:
    path.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _split_products(kb: KnowledgeBase, rng: random.Random) -> tuple[list[Product], list[Product]]:
    """(seen, corpus_only): exactly half of all products, and half of each category give or take one."""
    order = list(kb.products)
    rng.shuffle(order)
    # A stable sort keeps the shuffled order within each category; alternating then splits every category evenly.
    order.sort(key=lambda product: list(CATEGORIES).index(product.category))
    return order[0::2], order[1::2]


def _product_page_ids(kb: KnowledgeBase, corpus: list[Document]) -> dict[str, str]:
    # A product page is titled with the product name; release notes and policy pages never are.
    doc_id_by_title = {document.title: document.doc_id for document in corpus}
    return {product.name: doc_id_by_title[product.name] for product in kb.products}


def _write_shared_files(out_dir: Path, kb: KnowledgeBase, corpus: list[Document], seed: int) -> None:
    """corpus.jsonl, its paraphrases and kb.json, written alike by every synth task, so all read one catalogue."""
    paraphrases = build_paraphrases(kb, corpus, seed)  # first: its bug check stops the writer before any file
    _write_jsonl(out_dir / "corpus.jsonl", [_corpus_row(document) for document in corpus])
    _write_jsonl(out_dir / "corpus_paraphrases.jsonl", [_paraphrase_row(paraphrase) for paraphrase in paraphrases])
    _write_json(out_dir / "kb.json", _kb_record(kb, fact_doc_ids(corpus), seed, revision=1))
