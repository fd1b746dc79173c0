"""What the synth task writers share: the JSON writers, corpus.jsonl and kb.json, and the split of products."""
from __future__ import annotations

import json
import random
from pathlib import Path

from bench.data.synth.catalogue import CATEGORIES
from bench.data.synth.corpus import Document, fact_doc_ids
from bench.data.synth.kb import KnowledgeBase, Product


def _corpus_row(document: Document) -> dict:
    return {"id": document.doc_id, "title": document.title, "text": document.text}


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
    """corpus.jsonl and kb.json exactly as synth_qa writes them, so every synth task reads one catalogue."""
    _write_jsonl(out_dir / "corpus.jsonl", [_corpus_row(document) for document in corpus])
    _write_json(out_dir / "kb.json", _kb_record(kb, fact_doc_ids(corpus), seed, revision=1))
