"""Tests for bench/data/synth: the fictional knowledge base and the synth_qa task files written from it."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from bench.data import synth
from bench.data.synth import qa as qa_module

from tests.synth_fixtures import SEED, TASK_FILES, IDK, CLS_FILES, DRAFT_FILES, read_jsonl, task_dir, kb, corpus_text, all_tasks, cls_rows, draft_rows  # noqa: F401 (fixtures and shared constants)


def test_same_seed_gives_identical_files(task_dir: Path, tmp_path: Path) -> None:
    synth.write_qa_task(tmp_path, SEED)
    for name in TASK_FILES:
        assert (tmp_path / name).read_bytes() == (task_dir / name).read_bytes(), name


def test_committed_task_is_what_the_generator_writes(task_dir: Path) -> None:
    committed = Path(__file__).resolve().parents[1] / "tasks" / "synth_qa"
    for name in TASK_FILES:
        assert (committed / name).read_bytes() == (task_dir / name).read_bytes(), f"{name}: run `ftrag synth`"


def test_another_seed_gives_another_company_and_products(kb: synth.KnowledgeBase) -> None:
    other = synth.generate_kb(SEED + 1)
    assert other.company != kb.company
    assert {p.name for p in other.products} != {p.name for p in kb.products}


def test_kb_has_forty_products_in_six_categories_and_a_few_hundred_facts(kb: synth.KnowledgeBase) -> None:
    assert len(kb.products) == 40
    assert len({p.name for p in kb.products}) == 40
    assert Counter(p.category for p in kb.products) == {"drone": 7, "kettle": 7, "headphones": 7, "router": 7, "lamp": 6, "e-bike": 6}
    assert len(kb.facts) == 40 * 6 + 12
    assert len({f.fact_id for f in kb.facts}) == len(kb.facts)


def test_odd_product_count_is_refused() -> None:
    with pytest.raises(ValueError, match="even"):
        synth.generate_kb(SEED, n_products=7)


def test_values_have_expected_shapes_and_aliases(kb: synth.KnowledgeBase) -> None:
    by_attribute = {f.attribute: f for f in kb.facts}  # the last fact of each attribute
    price = by_attribute["price"]
    assert price.value.startswith("$") and price.value[1:].replace(",", "") in price.aliases
    warranty = by_attribute["warranty"]
    assert warranty.value.endswith(" months") and warranty.value.split()[0] in warranty.aliases
    assert 2015 <= int(by_attribute["release_year"].value) <= 2024
    assert by_attribute["weight"].value.endswith(" kg")
    for fact in kb.facts:
        assert fact.value not in fact.aliases


def test_compatibility_pairs_are_mutual(kb: synth.KnowledgeBase) -> None:
    partner = {f.entity: f.value for f in kb.facts if f.attribute == "compatible_with"}
    assert len(partner) == 40
    for product, other in partner.items():
        assert other != product and partner[other] == product


def test_every_gold_answer_appears_in_a_gold_document(task_dir: Path, corpus_text: dict[str, str]) -> None:
    train = [row for row in read_jsonl(task_dir / "train.jsonl") if row["fact_id"]]
    test = read_jsonl(task_dir / "test.jsonl")
    for answer, doc_ids in [(r["answer"], r["doc_ids"]) for r in train] + [(r["answers"][0], r["doc_ids"]) for r in test]:
        assert doc_ids and all(answer in corpus_text[doc_id] for doc_id in doc_ids), answer


def test_a_missing_gold_answer_stops_the_writer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real_build = synth.build_corpus
    monkeypatch.setattr(qa_module, "build_corpus", lambda kb, seed: [
        synth.Document(d.doc_id, d.title, "Nothing to see here.", d.fact_ids) for d in real_build(kb, seed)
    ])
    with pytest.raises(AssertionError, match="not stated in gold documents"):
        synth.write_qa_task(tmp_path, SEED)
    assert not (tmp_path / "test.jsonl").exists()


def test_every_fact_is_stated_in_one_or_two_documents(task_dir: Path) -> None:
    facts = json.loads((task_dir / "kb.json").read_text(encoding="utf-8"))["facts"]
    assert all(1 <= len(fact["doc_ids"]) <= 2 for fact in facts)


def test_corpus_has_product_pages_release_notes_and_policy_pages(task_dir: Path, kb: synth.KnowledgeBase) -> None:
    docs = read_jsonl(task_dir / "corpus.jsonl")
    assert [d["id"] for d in docs] == [f"doc-{n:03d}" for n in range(len(docs))]
    product_pages = docs[:40]
    assert [d["title"] for d in product_pages] == [p.name for p in kb.products]
    assert all(60 <= len(d["text"].split()) <= 120 for d in product_pages)
    release_years = {f.value for f in kb.facts if f.attribute == "release_year"}
    assert sum("release notes" in d["title"] for d in docs) == len(release_years)
    assert 2 <= sum(d["title"] in {"About " + kb.company, "Returns and shipping", "Customer support"} for d in docs) <= 4


def test_test_set_covers_every_fact_once(task_dir: Path, kb: synth.KnowledgeBase) -> None:
    test = read_jsonl(task_dir / "test.jsonl")
    assert sorted(r["fact_id"] for r in test) == sorted(f.fact_id for f in kb.facts)
    assert [r["id"] for r in test] == [f"test-{n:04d}" for n in range(len(test))]


def test_seen_facts_are_in_train_and_corpus_only_facts_are_not(task_dir: Path) -> None:
    train_facts = {r["fact_id"] for r in read_jsonl(task_dir / "train.jsonl") if r["fact_id"]}
    test = read_jsonl(task_dir / "test.jsonl")
    seen = {r["fact_id"] for r in test if r["stratum"] == "seen"}
    corpus_only = {r["fact_id"] for r in test if r["stratum"] == "corpus_only"}
    assert seen == train_facts
    assert not corpus_only & train_facts
    assert abs(len(seen) - len(corpus_only)) <= 10  # about half each


def test_strata_are_mixed_through_the_test_file(task_dir: Path) -> None:
    first_fifty = Counter(r["stratum"] for r in read_jsonl(task_dir / "test.jsonl")[:50])
    assert first_fifty["seen"] >= 15 and first_fifty["corpus_only"] >= 15


def test_test_questions_paraphrase_rather_than_copy_train_questions(task_dir: Path) -> None:
    train = {r["fact_id"]: r["question"] for r in read_jsonl(task_dir / "train.jsonl") if r["fact_id"]}
    for row in read_jsonl(task_dir / "test.jsonl"):
        if row["stratum"] == "seen":
            assert row["question"] != train[row["fact_id"]]


def test_train_has_unanswerable_pairs_answered_i_dont_know(task_dir: Path) -> None:
    unanswerable = [r for r in read_jsonl(task_dir / "train.jsonl") if r["fact_id"] is None]
    assert len(unanswerable) == 15
    assert all(r["answer"] == "I don't know" and r["doc_ids"] == [] for r in unanswerable)


def test_unanswerable_questions_name_no_known_fact(task_dir: Path, kb: synth.KnowledgeBase) -> None:
    train, probe = synth.unanswerable_questions(kb, SEED)
    known = synth.facts_by_key(kb)
    product_names = {p.name for p in kb.products}
    for item in train + probe:
        assert (item.entity, item.attribute) not in known, item.question
        if item.entity not in product_names and item.entity != kb.company:  # an invented product
            assert not any(name in item.question for name in product_names), item.question
    rows = read_jsonl(task_dir / "unanswerable.jsonl")
    assert [r["question"] for r in rows] == [item.question for item in probe]
    assert len(rows) == 40 and all(r["answers"] == [] and r["stratum"] == "unanswerable" for r in rows)


def test_unanswerable_probes_share_nothing_with_train(task_dir: Path) -> None:
    train_questions = {r["question"] for r in read_jsonl(task_dir / "train.jsonl")}
    test_questions = {r["question"] for r in read_jsonl(task_dir / "test.jsonl")}
    probe_questions = [r["question"] for r in read_jsonl(task_dir / "unanswerable.jsonl")]
    assert len(set(probe_questions)) == len(probe_questions)
    assert not set(probe_questions) & (train_questions | test_questions)


def test_revision_changes_about_a_tenth_of_facts_and_update_answers_match_v2(task_dir: Path, kb: synth.KnowledgeBase) -> None:
    kb_v2, changed = synth.revise_kb(kb, SEED)
    assert abs(len(changed) - len(kb.facts) / 10) <= 2
    old, new = {f.fact_id: f for f in kb.facts}, {f.fact_id: f for f in kb_v2.facts}
    assert {fid for fid in old if old[fid] != new[fid]} == set(changed)
    update = read_jsonl(task_dir / "update.jsonl")
    assert [r["fact_id"] for r in update] == changed
    for row in update:
        fact = new[row["fact_id"]]
        assert row["answers"] == [fact.value, *fact.aliases]
        assert row["old_answers"][0] == old[row["fact_id"]].value
        assert not set(row["answers"]) & set(row["old_answers"])
    recorded = json.loads((task_dir / "kb_v2.json").read_text(encoding="utf-8"))
    assert recorded["changed_fact_ids"] == changed
    assert {f["fact_id"]: f["value"] for f in recorded["facts"]} == {fid: f.value for fid, f in new.items()}


def test_corpus_v2_keeps_doc_ids_and_states_the_new_values(task_dir: Path) -> None:
    v1 = read_jsonl(task_dir / "corpus.jsonl")
    v2 = read_jsonl(task_dir / "corpus_v2.jsonl")
    assert [d["id"] for d in v2] == [d["id"] for d in v1]
    v2_text = {d["id"]: d["text"] for d in v2}
    changed_docs = set()
    for row in read_jsonl(task_dir / "update.jsonl"):
        assert all(row["answers"][0] in v2_text[doc_id] for doc_id in row["doc_ids"])
        changed_docs.update(row["doc_ids"])
    assert {d["id"] for d, e in zip(v1, v2) if d["text"] != e["text"]} == changed_docs


def test_task_yaml_names_the_files_and_counts(task_dir: Path, kb: synth.KnowledgeBase) -> None:
    text = (task_dir / "task.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Run with: make bench TASK=synth_qa")
    spec = yaml.safe_load(text)
    assert spec["name"] == "synth_qa" and spec["kind"] == "qa"
    assert f"about {kb.company}," in spec["description"] and "40 products, 252 facts" in spec["description"]
    assert spec["data"]["test"]["fields"]["gold_docs"] == "doc_ids"
    assert spec["probes"]["update"]["corpus"] == "corpus_v2.jsonl"
    for part in (*spec["data"].values(), *spec["probes"].values()):
        assert (task_dir / part["path"]).is_file()
