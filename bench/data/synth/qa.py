"""The synth_qa task: questions about the knowledge base, unanswerable probes and update probes."""
from __future__ import annotations

import random
from pathlib import Path

from bench.data.synth.attributes import _ask
from bench.data.synth.corpus import Document, build_corpus, fact_doc_ids
from bench.data.synth.kb import Fact, KnowledgeBase, facts_by_key, generate_kb, revise_kb
from bench.data.synth.shared import (
    PARAPHRASES_YAML, _corpus_row, _evidence, _kb_record, _write_json, _write_jsonl, _write_shared_files,
)
from bench.data.synth.unanswerable import Unanswerable, unanswerable_questions
from bench.records.items import ABSTAIN_ANSWER


def write_qa_task(out_dir: Path, seed: int = 0) -> None:
    """Write the synth_qa task (corpus, train, test, probes, knowledge bases, task.yaml) into out_dir."""
    kb = generate_kb(seed)
    kb_v2, changed = revise_kb(kb, seed)
    corpus, corpus_v2 = build_corpus(kb, seed), build_corpus(kb_v2, seed)
    doc_ids = fact_doc_ids(corpus)
    if fact_doc_ids(corpus_v2) != doc_ids:
        raise AssertionError("the revised corpus states facts in different documents than the original")
    rng = random.Random(f"{seed}/split")
    train_ids = _train_fact_ids(kb, rng)
    unanswerable_train, unanswerable_probe = unanswerable_questions(kb, seed)
    train = _train_rows(kb, train_ids, doc_ids, unanswerable_train, rng)
    test = _test_rows(kb, train_ids, doc_ids, rng)
    update = _update_rows(kb, kb_v2, changed, doc_ids)
    _check_answers_in_gold_docs([(r["id"], r["answer"], r["doc_ids"]) for r in train if r["fact_id"]], corpus)
    _check_answers_in_gold_docs([(r["id"], r["answers"][0], r["doc_ids"]) for r in test], corpus)
    _check_answers_in_gold_docs([(r["id"], r["answers"][0], r["doc_ids"]) for r in update], corpus_v2)
    _check_unanswerable(kb, unanswerable_train, unanswerable_probe)

    out_dir.mkdir(parents=True, exist_ok=True)
    _write_shared_files(out_dir, kb, corpus, seed)
    _write_jsonl(out_dir / "corpus_v2.jsonl", [_corpus_row(document) for document in corpus_v2])
    _write_jsonl(out_dir / "train.jsonl", train)
    _write_jsonl(out_dir / "train_v2.jsonl", _revised_train_rows(train, kb_v2, changed))
    _write_jsonl(out_dir / "test.jsonl", test)
    _write_jsonl(out_dir / "unanswerable.jsonl", _unanswerable_rows(kb, unanswerable_probe))
    _write_jsonl(out_dir / "update.jsonl", update)
    _write_json(out_dir / "kb_v2.json", {**_kb_record(kb_v2, doc_ids, seed, revision=2), "changed_fact_ids": changed})
    (out_dir / "task.yaml").write_text(_task_yaml(kb, seed), encoding="utf-8")


def _train_fact_ids(kb: KnowledgeBase, rng: random.Random) -> set[str]:
    """Half of each attribute's facts (policies count as one group), so both test strata mix attributes alike.

    "A works with B" and "B works with A" state one pairing: the two are drawn as one unit, else training on
    one would answer the other, and a corpus_only question would not be corpus-only.
    """
    units: dict[str, dict[object, list[Fact]]] = {}  # group -> unit key -> the unit's facts, in kb order
    for fact in kb.facts:
        group = "policy" if fact.entity == kb.company else fact.attribute
        key = frozenset((fact.entity, fact.value)) if fact.attribute == "compatible_with" else fact.fact_id
        units.setdefault(group, {}).setdefault(key, []).append(fact)
    return {
        fact.fact_id
        for by_key in units.values()
        for unit in rng.sample(list(by_key.values()), len(by_key) // 2)
        for fact in unit
    }


def _train_rows(
    kb: KnowledgeBase,
    train_ids: set[str],
    doc_ids: dict[str, list[str]],
    unanswerable: list[Unanswerable],
    rng: random.Random,
) -> list[dict]:
    pairs: list[tuple[str, str, str | None, list[str]]] = [
        (_ask(fact.attribute, fact.entity, kb.company, paraphrase=False), fact.value, fact.fact_id, doc_ids[fact.fact_id])
        for fact in kb.facts
        if fact.fact_id in train_ids
    ]
    pairs += [(item.question, ABSTAIN_ANSWER, None, []) for item in unanswerable]  # in the training wording too
    rng.shuffle(pairs)
    return [
        {"id": f"train-{number:04d}", "question": question, "answer": answer, "fact_id": fact_id, "doc_ids": docs}
        for number, (question, answer, fact_id, docs) in enumerate(pairs)
    ]


def _test_rows(kb: KnowledgeBase, train_ids: set[str], doc_ids: dict[str, list[str]], rng: random.Random) -> list[dict]:
    facts = list(kb.facts)
    rng.shuffle(facts)  # the first N items of either stratum are then a random sample of it
    return [
        {
            "id": f"test-{number:04d}",
            "question": _ask(fact.attribute, fact.entity, kb.company, paraphrase=True),
            "answers": [fact.value, *fact.aliases],
            "stratum": "seen" if fact.fact_id in train_ids else "corpus_only",
            "fact_id": fact.fact_id,
            "doc_ids": doc_ids[fact.fact_id],
            "evidence": _evidence(kb, fact.entity),
        }
        for number, fact in enumerate(facts)
    ]


def _update_rows(kb: KnowledgeBase, kb_v2: KnowledgeBase, changed: list[str], doc_ids: dict[str, list[str]]) -> list[dict]:
    old = {fact.fact_id: fact for fact in kb.facts}
    new = {fact.fact_id: fact for fact in kb_v2.facts}
    return [
        {
            "id": f"update-{number:03d}",
            "question": _ask(new[fact_id].attribute, new[fact_id].entity, kb.company, paraphrase=True),
            "answers": [new[fact_id].value, *new[fact_id].aliases],
            "old_answers": [old[fact_id].value, *old[fact_id].aliases],
            "stratum": "update",
            "fact_id": fact_id,
            "doc_ids": doc_ids[fact_id],
            "evidence": _evidence(kb_v2, new[fact_id].entity),  # the revised values: the update probe scores against v2
        }
        for number, fact_id in enumerate(changed)
    ]


def _revised_train_rows(train: list[dict], kb_v2: KnowledgeBase, changed: list[str]) -> list[dict]:
    """The training pairs as a team would fix them for the revision: a changed fact's pair gets its new answer."""
    new = {fact.fact_id: fact.value for fact in kb_v2.facts}
    return [{**row, "answer": new[row["fact_id"]]} if row["fact_id"] in changed else row for row in train]


def _unanswerable_rows(kb: KnowledgeBase, items: list[Unanswerable]) -> list[dict]:
    # Evidence: the known facts of the product named, the company's policies for an unstated policy, and none for a
    # product that does not exist, so a number a decline makes up can still be told apart from a true one.
    return [
        {
            "id": f"unans-{number:03d}",
            "question": item.question,
            "answers": [],
            "stratum": "unanswerable",
            "evidence": _evidence(kb, item.entity),
        }
        for number, item in enumerate(items)
    ]


def _check_answers_in_gold_docs(claims: list[tuple[str, str, list[str]]], corpus: list[Document]) -> None:
    """Bug check: every gold document must state the canonical answer word for word."""
    texts = {document.doc_id: document.text for document in corpus}
    for item_id, answer, gold in claims:
        missing = [doc_id for doc_id in gold if answer not in texts[doc_id]]
        if not gold or missing:
            raise AssertionError(f"{item_id}: answer {answer!r} is not stated in gold documents {missing or gold}")


def _check_unanswerable(kb: KnowledgeBase, train: list[Unanswerable], probe: list[Unanswerable]) -> None:
    """Bug check: no unanswerable question may hit a real fact or repeat between train and probes."""
    known = facts_by_key(kb)
    answerable = {
        _ask(fact.attribute, fact.entity, kb.company, paraphrase) for fact in kb.facts for paraphrase in (False, True)
    }
    for item in train + probe:
        if (item.entity, item.attribute) in known or item.question in answerable:
            raise AssertionError(f"unanswerable question has an answer in the knowledge base: {item.question!r}")
    if {(i.entity, i.attribute) for i in train} & {(i.entity, i.attribute) for i in probe}:
        raise AssertionError("unanswerable training and probe questions overlap")


def _task_yaml(kb: KnowledgeBase, seed: int) -> str:
    return f"""\
# Run with: make bench TASK=synth_qa   (regenerate the data with: ftrag synth)
name: synth_qa
kind: qa
description: >-
  Question answering about {kb.company}, a fictional company generated by ftrag (seed {seed}):
  {len(kb.products)} products, {len(kb.facts)} facts. No pretrained model can know these facts, so any correct
  answer comes from fine-tuning or retrieval.
source: Generated by bench/synth.py with seed {seed} (deterministic).
license: CC0-1.0 (synthetic data)
data:
  corpus: {{path: corpus.jsonl, fields: {{id: id, text: text, title: title}}}}
  {PARAPHRASES_YAML}
  train: {{path: train.jsonl, fields: {{id: id, input: question, target: answer, gold_docs: doc_ids}}}}
  test: {{path: test.jsonl, fields: {{id: id, input: question, target: answers, stratum: stratum, gold_docs: doc_ids, evidence: evidence}}}}
probes:
  unanswerable: {{path: unanswerable.jsonl, fields: {{id: id, input: question, target: answers, stratum: stratum, evidence: evidence}}}}
  # the revision (ftrag update): 25 changed facts, the revised corpus, and the training pairs with their new answers
  update: {{path: update.jsonl, corpus: corpus_v2.jsonl, train: train_v2.jsonl, fields: {{id: id, input: question, target: answers, stale: old_answers, stratum: stratum, gold_docs: doc_ids, evidence: evidence}}}}
overrides:
  # product pages are one 80-word chunk each: top-2 chunks hold the answer for 99% of test questions
  # (measured with all-MiniLM-L6-v2), and a third chunk would only lengthen every RAG prompt
  retrieval: {{k: 2}}
"""
