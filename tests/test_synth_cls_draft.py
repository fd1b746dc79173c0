"""The synth_cls and synth_draft tasks: counts, strata, messages that do not give the label away, drafts that state their facts."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from bench.data import synth
from bench.data.synth import cls as cls_module
from bench.data.synth import draft as draft_module

from tests.synth_fixtures import SEED, TASK_FILES, IDK, CLS_FILES, DRAFT_FILES, read_jsonl, task_dir, kb, corpus_text, all_tasks, cls_rows, draft_rows  # noqa: F401 (fixtures and shared constants)


def test_write_all_tasks_returns_the_three_folders(all_tasks: dict[str, Path]) -> None:
    assert list(all_tasks) == ["synth_qa", "synth_cls", "synth_draft"]
    assert all((folder / "task.yaml").is_file() for folder in all_tasks.values())


def test_all_three_tasks_share_one_corpus(all_tasks: dict[str, Path]) -> None:
    for name in ("corpus.jsonl", "corpus_paraphrases.jsonl", "kb.json"):
        contents = {folder.name: (folder / name).read_bytes() for folder in all_tasks.values()}
        assert len(set(contents.values())) == 1, name


def test_committed_cls_and_draft_tasks_are_what_the_generator_writes(all_tasks: dict[str, Path]) -> None:
    tasks_root = Path(__file__).resolve().parents[1] / "tasks"
    for name, files in (("synth_cls", CLS_FILES), ("synth_draft", DRAFT_FILES)):
        for file_name in files:
            committed = (tasks_root / name / file_name).read_bytes()
            assert committed == (all_tasks[name] / file_name).read_bytes(), f"{name}/{file_name}: run `ftrag synth`"


@pytest.mark.parametrize("name", ["synth_qa", "synth_cls", "synth_draft"])
def test_tasks_load_through_the_project_loader(all_tasks: dict[str, Path], name: str) -> None:
    from bench.data.tasks import load_task

    task = load_task(str(all_tasks[name]))
    assert task.name == name and task.train and task.test and task.corpus
    assert len(task.paraphrases) == 5 * len(task.corpus)
    assert {doc.id for doc in task.paraphrases} == {doc.id for doc in task.corpus}
    if name != "synth_cls":  # the items whose answers state values carry the knowledge base's values as evidence
        assert all(ex.evidence for ex in task.test if ex.stratum in ("seen", "corpus_only", "update"))


def test_cls_counts_labels_and_strata(cls_rows: tuple[list[dict], list[dict]], all_tasks: dict[str, Path]) -> None:
    train, test = cls_rows
    assert len(train) == 20 * synth.CLS_TRAIN_PER_PRODUCT and len(test) == 40 * synth.CLS_TEST_PER_PRODUCT
    spec = yaml.safe_load((all_tasks["synth_cls"] / "task.yaml").read_text(encoding="utf-8"))
    assert spec["labels"] == ["drone", "kettle", "headphones", "router", "lamp", "e-bike"]
    assert {r["label"] for r in train} == {r["label"] for r in test} == set(spec["labels"])
    assert Counter(r["stratum"] for r in test) == {"seen": 60, "corpus_only": 60}
    first_forty = Counter(r["stratum"] for r in test[:40])
    assert first_forty["seen"] >= 12 and first_forty["corpus_only"] >= 12
    assert [r["id"] for r in train] == [f"train-{n:03d}" for n in range(len(train))]


def test_cls_messages_never_name_the_category(cls_rows: tuple[list[dict], list[dict]]) -> None:
    train, test = cls_rows
    for row in train + test:
        assert row["product"] in row["text"]
        assert synth.category_words_in(row["text"].replace(row["product"], "")) == [], row["text"]
        assert 1 <= row["text"].count(".") + row["text"].count("?") <= 2, row["text"]


def test_category_word_check_sees_through_case_and_hyphens() -> None:
    assert synth.category_words_in("My Wi-Fi keeps dropping; the Kettle is fine.") == ["fi", "kettle", "wi"]
    assert synth.category_words_in("How do I reset it?") == []


def test_a_category_word_stops_the_cls_writer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cls_module, "CLS_TEMPLATES", tuple(t.replace("won't turn on", "won't fly") for t in synth.CLS_TEMPLATES))
    with pytest.raises(AssertionError, match="gives its category away"):
        synth.write_cls_task(tmp_path, SEED)
    assert not (tmp_path / "test.jsonl").exists()


def test_cls_corpus_only_products_never_appear_in_train(cls_rows: tuple[list[dict], list[dict]], kb: synth.KnowledgeBase) -> None:
    train, test = cls_rows
    train_products = {r["product"] for r in train}
    seen = {r["product"] for r in test if r["stratum"] == "seen"}
    corpus_only = {r["product"] for r in test if r["stratum"] == "corpus_only"}
    assert seen == train_products and len(seen) == len(corpus_only) == 20
    assert seen | corpus_only == {p.name for p in kb.products}
    assert not any(name in row["text"] for row in train for name in corpus_only)


def test_cls_test_messages_use_other_templates_than_train(cls_rows: tuple[list[dict], list[dict]]) -> None:
    train, test = cls_rows
    train_texts = {r["text"] for r in train}
    assert not train_texts & {r["text"] for r in test}
    per_product = Counter(r["product"] for r in test)
    assert set(per_product.values()) == {synth.CLS_TEST_PER_PRODUCT}


def test_cls_every_product_page_states_its_category(
    cls_rows: tuple[list[dict], list[dict]], all_tasks: dict[str, Path], kb: synth.KnowledgeBase
) -> None:
    train, test = cls_rows
    docs = {d["id"]: d for d in read_jsonl(all_tasks["synth_cls"] / "corpus.jsonl")}
    for row in train + test:
        (page,) = row["doc_ids"]
        assert docs[page]["title"] == row["product"]
        assert synth.CATEGORIES[row["label"]].a_noun in docs[page]["text"]


def test_draft_counts_and_strata(draft_rows: tuple[list[dict], list[dict]]) -> None:
    train, test = draft_rows
    assert len(train) == 40 and len(test) == 60
    assert Counter(r["stratum"] for r in test) == {"seen": 30, "corpus_only": 30}
    assert {r["product"] for r in train} == {r["product"] for r in test if r["stratum"] == "seen"}
    assert not {r["product"] for r in train} & {r["product"] for r in test if r["stratum"] == "corpus_only"}
    with_policy = sum(len(r["facts"]) == 3 for r in train + test)
    assert 30 <= with_policy <= 70  # about half the emails add a policy question


def test_draft_reference_contains_every_fact(draft_rows: tuple[list[dict], list[dict]], kb: synth.KnowledgeBase) -> None:
    train, test = draft_rows
    known = {f.fact_id: f.value for f in kb.facts}
    for row in train + test:
        assert row["facts"] == [known[fact_id] for fact_id in row["fact_ids"]]
        assert all(fact in row["reply"] for fact in row["facts"]), row["id"]
        assert not any(fact in row["email"] for fact in row["facts"]), row["id"]


def test_draft_facts_are_stated_in_the_gold_documents(draft_rows: tuple[list[dict], list[dict]], all_tasks: dict[str, Path]) -> None:
    train, test = draft_rows
    kb_facts = json.loads((all_tasks["synth_draft"] / "kb.json").read_text(encoding="utf-8"))["facts"]
    stated_in = {f["fact_id"]: f["doc_ids"] for f in kb_facts}
    texts = {d["id"]: d["text"] for d in read_jsonl(all_tasks["synth_draft"] / "corpus.jsonl")}
    for row in train + test:
        assert row["doc_ids"] == sorted({d for fact_id in row["fact_ids"] for d in stated_in[fact_id]})
        for fact in row["facts"]:
            assert any(fact in texts[doc_id] for doc_id in row["doc_ids"]), (row["id"], fact)


def test_draft_emails_and_replies_read_like_emails(draft_rows: tuple[list[dict], list[dict]], kb: synth.KnowledgeBase) -> None:
    train, test = draft_rows
    for row in train + test:
        customer = row["email"].splitlines()[-1]
        assert customer in synth.CUSTOMER_NAMES and row["product"] in row["email"]
        assert row["reply"].startswith(f"Dear {customer},")
        assert row["reply"].endswith(f"\n{kb.company} Customer Care")
        assert 40 <= len(row["reply"].split()) <= 90, row["reply"]


def test_draft_test_emails_ask_other_pairs_than_train(draft_rows: tuple[list[dict], list[dict]]) -> None:
    train, test = draft_rows
    asked_in_train = {tuple(r["fact_ids"][:2]) for r in train}  # fact ids name the product, so pairs are per product
    assert not asked_in_train & {tuple(r["fact_ids"][:2]) for r in test}


def test_a_fact_missing_from_a_reply_stops_the_draft_writer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(draft_module, "_state", lambda rng, fact, company: "We will check and get back to you.")
    with pytest.raises(AssertionError, match="missing from the reference reply"):
        synth.write_draft_task(tmp_path, SEED)
    assert not (tmp_path / "test.jsonl").exists()


# ----------------------------------------------------------------------------- shortcuts, strata, evidence, paraphrases
