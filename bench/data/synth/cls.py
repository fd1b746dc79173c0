"""The synth_cls task: route customer messages to the team of the product they name."""
from __future__ import annotations

import random
import re
from pathlib import Path

from bench.data.synth.catalogue import CATEGORIES
from bench.data.synth.corpus import Document, build_corpus
from bench.data.synth.kb import KnowledgeBase, Product, generate_kb
from bench.data.synth.shared import (
    PARAPHRASES_YAML, _product_page_ids, _split_products, _write_jsonl, _write_shared_files,
)

CLS_LABELS = tuple(CATEGORIES)  # one product team per category, named by the category id
CLS_TRAIN_PER_PRODUCT = 5
CLS_TEST_PER_PRODUCT = 3

# Words that would tell a message's category without the catalogue. A message is checked word by word with
# its product name taken out, since a few names hold such a word themselves (the "Lutur Boil 2").
CATEGORY_WORDS = frozenset({
    "drone", "drones", "fly", "flies", "flying", "flew", "flight", "airborne", "propeller", "propellers", "camera",
    "aerial", "kettle", "kettles", "boil", "boils", "boiling", "water", "tea", "jug", "limescale", "heat", "heats",
    "hot", "headphone", "headphones", "earphones", "ear", "ears", "listen", "listening", "music", "song", "songs",
    "audio", "playback", "router", "routers", "wifi", "wi", "fi", "internet", "network", "signal", "mesh",
    "broadband", "lamp", "lamps", "light", "lights", "bulb", "bright", "brightness", "lumens", "desk", "bike",
    "bikes", "ebike", "bicycle", "ride", "riding", "pedal", "pedals", "cycle", "cycling", "saddle", "tyre", "tyres",
    "tire", "tires", "wheel", "wheels", "motor",
    # Batteries and charging narrow the choice to drones, headphones and e-bikes.
    "battery", "batteries", "charge", "charging", "charger",
})

# Problems and requests that fit every category, so only the catalogue tells which team owns the product.
CLS_TEMPLATES = (
    "My {name} won't turn on any more. What should I try first?",
    "The {name} I ordered arrived with a scratch on the side. Can I get it swapped?",
    "I want to buy a spare part for my {name}. Where can I order one?",
    "The app doesn't find my {name} any more, even after I restarted my phone.",
    "How do I reset my {name} to its factory settings?",
    "Is there a newer version of the {name} coming out soon?",
    "My {name} has started making a rattling noise. Is that normal?",
    "I lost the manual for my {name}. Could you email me a copy?",
    "I'd like to return the {name} I bought last month, because it isn't what I expected.",
    "Does the {name} come in any other colours?",
    "The box for my {name} arrived with one of the parts missing.",
    "My {name} stopped working two weeks after I bought it. Is it still under warranty?",
    "Can my {name} be repaired, or do I need to buy a new one?",
    "An update for my {name} failed halfway through, and now the app shows an error.",
    "A button on my {name} feels loose. Can someone take a look at it?",
    "I'd like to order a second {name} for my sister. Is it in stock?",
    "My new {name} gives off a strange smell. Should I stop using it?",
    "My {name} keeps switching itself off after a few minutes.",
    "Where do I register my {name} for the extended warranty?",
    "The finish on my {name} is starting to peel. Is that covered?",
)


def write_cls_task(out_dir: Path, seed: int = 0) -> None:
    """Write the synth_cls task: route customer messages to the team of the product they name."""
    kb = generate_kb(seed)
    corpus = build_corpus(kb, seed)
    page_ids = _product_page_ids(kb, corpus)
    _check_pages_state_category(kb, corpus, page_ids)
    rng = random.Random(f"{seed}/cls")
    seen, corpus_only = _split_products(kb, rng)
    train_items, test_items = _cls_items(seen, corpus_only, rng)
    train = [_cls_row(f"train-{n:03d}", product, template, None, page_ids) for n, (product, template, _) in enumerate(train_items)]
    test = [_cls_row(f"test-{n:03d}", product, template, stratum, page_ids) for n, (product, template, stratum) in enumerate(test_items)]
    _check_cls_rows(train + test)

    out_dir.mkdir(parents=True, exist_ok=True)
    _write_shared_files(out_dir, kb, corpus, seed)
    _write_jsonl(out_dir / "train.jsonl", train)
    _write_jsonl(out_dir / "test.jsonl", test)
    (out_dir / "task.yaml").write_text(_cls_task_yaml(kb, seed), encoding="utf-8")


def _cls_items(
    seen: list[Product], corpus_only: list[Product], rng: random.Random
) -> tuple[list[tuple[Product, str, str]], list[tuple[Product, str, str]]]:
    """(product, template, stratum) for train and test; a product's test templates are never its train templates."""
    train: list[tuple[Product, str, str]] = []
    test: list[tuple[Product, str, str]] = []
    for stratum, products in (("seen", seen), ("corpus_only", corpus_only)):
        n_train = CLS_TRAIN_PER_PRODUCT if stratum == "seen" else 0
        dealt = _deal_train_templates(products, n_train, rng)
        for product in products:
            others = [template for template in CLS_TEMPLATES if template not in dealt[product.name]]
            train += [(product, template, stratum) for template in dealt[product.name]]
            test += [(product, template, stratum) for template in rng.sample(others, CLS_TEST_PER_PRODUCT)]
    rng.shuffle(train)
    rng.shuffle(test)  # the first N items of either stratum are then a random sample of it
    return train, test


def _deal_train_templates(products: list[Product], per_product: int, rng: random.Random) -> dict[str, list[str]]:
    """Each product's training templates, none used twice within a category.

    A template then occurs at most once per label in train, so neither the template nor anything it fixes (length,
    first word, punctuation) lets a fine-tuned model guess the label: only the product name can tell it.
    """
    by_category: dict[str, list[Product]] = {}
    for product in products:
        by_category.setdefault(product.category, []).append(product)
    dealt: dict[str, list[str]] = {}
    for category, members in by_category.items():
        if len(members) * per_product > len(CLS_TEMPLATES):
            raise ValueError(f"{len(members)} {category} products need more than {len(CLS_TEMPLATES)} templates")
        templates = rng.sample(CLS_TEMPLATES, len(members) * per_product)
        for position, product in enumerate(members):
            dealt[product.name] = templates[position * per_product:(position + 1) * per_product]
    return dealt


def _cls_row(row_id: str, product: Product, template: str, stratum: str | None, page_ids: dict[str, str]) -> dict:
    row = {"id": row_id, "text": template.format(name=product.name), "label": product.category}
    if stratum is not None:  # test rows only
        row["stratum"] = stratum
    return {**row, "product": product.name, "doc_ids": [page_ids[product.name]]}


def category_words_in(text: str) -> list[str]:
    """The words of text that give a product category away (see CATEGORY_WORDS)."""
    return sorted(set(re.findall(r"[a-z]+", text.lower())) & CATEGORY_WORDS)


def _check_cls_rows(rows: list[dict]) -> None:
    """Bug check: every label is a team, and no message tells its category without the product name."""
    for row in rows:
        if row["label"] not in CLS_LABELS:
            raise AssertionError(f"{row['id']}: label {row['label']!r} is not one of {CLS_LABELS}")
        if revealing := category_words_in(row["text"].replace(row["product"], "")):
            raise AssertionError(f"{row['id']}: message gives its category away with {revealing}: {row['text']!r}")


def _check_pages_state_category(kb: KnowledgeBase, corpus: list[Document], page_ids: dict[str, str]) -> None:
    """Bug check: the label must be learnable from the product page, which names the kind of product."""
    texts = {document.doc_id: document.text for document in corpus}
    for product in kb.products:
        if CATEGORIES[product.category].a_noun not in texts[page_ids[product.name]]:
            raise AssertionError(f"the page of the {product.name} does not say it is {CATEGORIES[product.category].a_noun}")


def _cls_task_yaml(kb: KnowledgeBase, seed: int) -> str:
    return f"""\
# Run with: make bench TASK=synth_cls   (regenerate the data with: ftrag synth)
name: synth_cls
kind: classification
description: >-
  Route customer messages about {kb.company}'s fictional products to the right product team. Messages name a
  product but not its category, so the label comes only from knowing the catalogue (fine-tuning) or reading it (RAG).
source: Generated by bench/synth.py with seed {seed} (deterministic).
license: CC0-1.0 (synthetic data)
labels: [{", ".join(CLS_LABELS)}]
data:
  corpus: {{path: corpus.jsonl, fields: {{id: id, text: text, title: title}}}}
  {PARAPHRASES_YAML}
  train: {{path: train.jsonl, fields: {{id: id, input: text, target: label, gold_docs: doc_ids}}}}
  test: {{path: test.jsonl, fields: {{id: id, input: text, target: label, stratum: stratum, gold_docs: doc_ids}}}}
overrides:
  # the product page settles the label: 2 chunks beside the 4 nearest labeled messages keep prompts short
  retrieval: {{k: 2}}
"""
