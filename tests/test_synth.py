"""Tests for bench/data/synth: the fictional knowledge base and the synth_qa task files written from it."""
from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable

import pytest
import yaml

from bench.data import synth
from bench.data.synth import cls as cls_module
from bench.data.synth import draft as draft_module
from bench.data.synth import paraphrase as paraphrase_module
from bench.data.synth import qa as qa_module
from bench.data.synth.attributes import ATTRIBUTES
from bench.data.synth.catalogue import UNSTATED_POLICIES

SEED = 0
TASK_FILES = (
    "corpus.jsonl", "corpus_paraphrases.jsonl", "corpus_v2.jsonl", "train.jsonl", "test.jsonl", "unanswerable.jsonl",
    "update.jsonl", "kb.json", "kb_v2.json", "task.yaml",
)
IDK = "I don't know"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def task_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synth_qa")
    synth.write_qa_task(folder, SEED)
    return folder


@pytest.fixture(scope="module")
def kb() -> synth.KnowledgeBase:
    return synth.generate_kb(SEED)


@pytest.fixture(scope="module")
def corpus_text(task_dir: Path) -> dict[str, str]:
    return {doc["id"]: doc["text"] for doc in read_jsonl(task_dir / "corpus.jsonl")}


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


# ----------------------------------------------------------------------------- synth_cls and synth_draft

CLS_FILES = ("corpus.jsonl", "corpus_paraphrases.jsonl", "kb.json", "train.jsonl", "test.jsonl", "task.yaml")
DRAFT_FILES = CLS_FILES


@pytest.fixture(scope="module")
def all_tasks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folders = synth.write_all_tasks(tmp_path_factory.mktemp("tasks"), SEED)
    return {folder.name: folder for folder in folders}


@pytest.fixture(scope="module")
def cls_rows(all_tasks: dict[str, Path]) -> tuple[list[dict], list[dict]]:
    folder = all_tasks["synth_cls"]
    return read_jsonl(folder / "train.jsonl"), read_jsonl(folder / "test.jsonl")


@pytest.fixture(scope="module")
def draft_rows(all_tasks: dict[str, Path]) -> tuple[list[dict], list[dict]]:
    folder = all_tasks["synth_draft"]
    return read_jsonl(folder / "train.jsonl"), read_jsonl(folder / "test.jsonl")


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


def kb_facts(folder: Path, name: str = "kb.json") -> dict[str, dict]:
    return {fact["fact_id"]: fact for fact in json.loads((folder / name).read_text(encoding="utf-8"))["facts"]}


def reverse_pairing(facts: dict[str, dict], fact_id: str) -> str | None:
    """The fact id of "B works with A" for "A works with B"; None for any other fact."""
    fact = facts[fact_id]
    if fact["attribute"] != "compatible_with":
        return None
    return next(f["fact_id"] for f in facts.values() if f["entity"] == fact["value"] and f["attribute"] == "compatible_with")


def wording_family(question: str, company: str) -> str:
    """'a' (training wording) or 'b' (test wording), told from the question templates alone."""
    def pattern(template: str) -> re.Pattern:
        parts = re.split(r"(\{entity\}|\{company\})", template)
        return re.compile("".join(
            ".+" if part == "{entity}" else re.escape(company) if part == "{company}" else re.escape(part) for part in parts
        ) + r"\Z")

    families = {
        "a": [spec.question_a for spec in ATTRIBUTES.values()] + [a for a, _b in UNSTATED_POLICIES.values()],
        "b": [spec.question_b for spec in ATTRIBUTES.values()] + [b for _a, b in UNSTATED_POLICIES.values()],
    }
    matched = [family for family, templates in families.items() if any(pattern(t).match(question) for t in templates)]
    assert len(matched) == 1, (question, matched)
    return matched[0]


def majority_gain(rows: list[dict], feature: Callable[[dict], object], label: Callable[[dict], object]) -> float:
    """Accuracy of guessing each row's class as the majority class of its feature value, minus the majority baseline."""
    baseline = Counter(label(row) for row in rows).most_common(1)[0][1]
    by_value: dict[object, Counter] = defaultdict(Counter)
    for row in rows:
        by_value[feature(row)][label(row)] += 1
    return (sum(counts.most_common(1)[0][1] for counts in by_value.values()) - baseline) / len(rows)


def test_qa_questions_use_the_training_wording_in_train_and_the_test_wording_everywhere_else(all_tasks: dict[str, Path]) -> None:
    folder = all_tasks["synth_qa"]
    company = json.loads((folder / "kb.json").read_text(encoding="utf-8"))["company"]
    assert {wording_family(r["question"], company) for r in read_jsonl(folder / "train.jsonl")} == {"a"}
    for name in ("test.jsonl", "unanswerable.jsonl", "update.jsonl"):
        assert {wording_family(r["question"], company) for r in read_jsonl(folder / name)} == {"b"}, name


def test_no_surface_feature_predicts_the_class_in_any_train_set(all_tasks: dict[str, Path]) -> None:
    """Guessing a training row's class from one surface feature (the majority class of each value) must beat the
    majority baseline by at most 0.05, else fine-tuning can learn the feature instead of the facts.

    synth_qa: class = answerable or "I don't know"; features: wording family, words // 3, last character, first word
    (not the question template: an unstated policy's template is unanswerable by nature). synth_cls: class = label;
    features: the message template (product name taken out), words // 3, last character, first word.
    synth_draft has no classes (every email is answered), so it has nothing to check here.
    """
    qa_folder = all_tasks["synth_qa"]
    company = json.loads((qa_folder / "kb.json").read_text(encoding="utf-8"))["company"]
    qa_train = read_jsonl(qa_folder / "train.jsonl")
    cls_train = read_jsonl(all_tasks["synth_cls"] / "train.jsonl")
    checks = {
        "synth_qa": (qa_train, lambda r: r["question"], lambda r: r["answer"] == IDK, {
            "wording": lambda r: wording_family(r["question"], company),
        }),
        "synth_cls": (cls_train, lambda r: r["text"], lambda r: r["label"], {
            "template": lambda r: r["text"].replace(r["product"], "{name}"),
        }),
    }
    for task, (rows, text, label, features) in checks.items():
        features = {
            **features,
            "length": lambda r, text=text: len(text(r).split()) // 3,
            "punctuation": lambda r, text=text: text(r)[-1],
            "first_word": lambda r, text=text: text(r).split()[0],
        }
        assert len({label(row) for row in rows}) > 1, task
        for name, feature in features.items():
            assert majority_gain(rows, feature, label) <= 0.05, (task, name)


def test_qa_corpus_only_items_share_no_fact_or_reverse_pairing_with_train(all_tasks: dict[str, Path]) -> None:
    folder = all_tasks["synth_qa"]
    facts = kb_facts(folder)
    trained = {r["fact_id"] for r in read_jsonl(folder / "train.jsonl") if r["fact_id"]}
    corpus_only = [r for r in read_jsonl(folder / "test.jsonl") if r["stratum"] == "corpus_only"]
    assert sum(facts[r["fact_id"]]["attribute"] == "compatible_with" for r in corpus_only) >= 10
    for row in corpus_only:
        assert row["fact_id"] not in trained, row["id"]
        assert reverse_pairing(facts, row["fact_id"]) not in trained, row["id"]


def test_draft_strata_are_per_fact(draft_rows: tuple[list[dict], list[dict]], all_tasks: dict[str, Path]) -> None:
    train, test = draft_rows
    facts = kb_facts(all_tasks["synth_draft"])
    company = json.loads((all_tasks["synth_draft"] / "kb.json").read_text(encoding="utf-8"))["company"]
    assert all(row["fact_ids"] and row["facts"] == [facts[f]["value"] for f in row["fact_ids"]] for row in train)
    trained = {fact_id for row in train for fact_id in row["fact_ids"]}
    replies = [row["reply"] for row in train]
    for row in test:
        if row["stratum"] == "seen":
            assert set(row["fact_ids"]) <= trained, row["id"]
            continue
        for fact_id in row["fact_ids"]:
            assert fact_id not in trained and reverse_pairing(facts, fact_id) not in trained, (row["id"], fact_id)
            if facts[fact_id]["entity"] == company:
                assert not any(facts[fact_id]["value"] in reply for reply in replies), (row["id"], fact_id)
    policies = {stratum: {f for r in test if r["stratum"] == stratum for f in r["fact_ids"] if facts[f]["entity"] == company}
                for stratum in ("seen", "corpus_only")}
    assert len(policies["seen"]) >= 3 and len(policies["corpus_only"]) >= 3
    per_stratum = Counter(r["stratum"] for r in test for _ in r["fact_ids"])
    assert abs(per_stratum["seen"] - per_stratum["corpus_only"]) <= 15


def test_evidence_lists_every_surface_form_of_the_facts_asked_about(all_tasks: dict[str, Path]) -> None:
    def forms(facts: dict[str, dict], entities: set[str]) -> list[str]:
        found = [form for f in facts.values() if f["entity"] in entities for form in (f["value"], *f["aliases"])]
        return list(dict.fromkeys(found))

    qa = all_tasks["synth_qa"]
    facts, facts_v2 = kb_facts(qa), kb_facts(qa, "kb_v2.json")
    record = json.loads((qa / "kb.json").read_text(encoding="utf-8"))
    company, products = record["company"], [p["name"] for p in record["products"]]
    for row in read_jsonl(qa / "test.jsonl"):
        assert row["evidence"] == forms(facts, {facts[row["fact_id"]]["entity"]}) and set(row["answers"]) <= set(row["evidence"])
    for row in read_jsonl(qa / "update.jsonl"):
        assert row["evidence"] == forms(facts_v2, {facts[row["fact_id"]]["entity"]})
        assert set(row["answers"]) <= set(row["evidence"]) and row["old_answers"][0] not in row["evidence"]
    unstated = {b.format(company=company) for _a, b in UNSTATED_POLICIES.values()}
    kinds = Counter()
    for row in read_jsonl(qa / "unanswerable.jsonl"):
        # a product it names, the company for an unstated policy, else a product that does not exist
        named = [name for name in products if name in row["question"]]
        entity = named[0] if named else company if row["question"] in unstated else None
        kinds[entity == company if entity else None] += 1
        assert row["evidence"] == (forms(facts, {entity}) if entity else []), row["question"]
    assert set(kinds) == {True, False, None}  # all three kinds of probe occur
    draft = all_tasks["synth_draft"]
    for row in read_jsonl(draft / "test.jsonl"):
        assert row["evidence"] == forms(facts, {row["product"], company})
        assert set(row["facts"]) <= set(row["evidence"])
    assert all("evidence" not in row for row in read_jsonl(draft / "train.jsonl"))
    for folder, parts in ((qa, ("test", "probes.unanswerable", "probes.update")), (draft, ("test",))):
        spec = yaml.safe_load((folder / "task.yaml").read_text(encoding="utf-8"))
        for part in parts:
            section = spec["probes"][part.split(".")[1]] if part.startswith("probes.") else spec["data"][part]
            assert section["fields"]["evidence"] == "evidence", (folder.name, part)


def sentences(text: str) -> list[str]:
    return re.split(r"(?<=[.?!])\s+", text)


@pytest.mark.parametrize("name", ["synth_qa", "synth_cls", "synth_draft"])
def test_paraphrases_restate_every_fact_value_in_other_sentences(all_tasks: dict[str, Path], name: str) -> None:
    folder = all_tasks[name]
    corpus = read_jsonl(folder / "corpus.jsonl")
    values: dict[str, list[str]] = defaultdict(list)
    for fact in kb_facts(folder).values():
        for doc_id in fact["doc_ids"]:
            values[doc_id].append(fact["value"])
    by_doc: dict[str, list[dict]] = defaultdict(list)
    for row in read_jsonl(folder / "corpus_paraphrases.jsonl"):
        by_doc[row["doc_id"]].append(row)
    assert list(by_doc) == [doc["id"] for doc in corpus]
    for doc in corpus:
        rows = by_doc[doc["id"]]
        assert [row["id"] for row in rows] == [f"{doc['id']}#p{n}" for n in range(1, 6)]
        assert len({row["text"] for row in rows}) == 5
        stating = [s for s in sentences(doc["text"]) if any(value in s for value in values[doc["id"]])]
        for row in rows:
            assert row["title"] == doc["title"] and row["text"] != doc["text"]
            assert all(value in row["text"] for value in values[doc["id"]]), (row["id"], row["text"])
            own = sentences(row["text"])
            assert own[0] != sentences(doc["text"])[0], row["id"]  # another opening
            assert not set(stating) & set(own), (row["id"], set(stating) & set(own))  # other statement templates
    spec = yaml.safe_load((folder / "task.yaml").read_text(encoding="utf-8"))
    assert spec["data"]["paraphrases"] == {
        "path": "corpus_paraphrases.jsonl", "fields": {"id": "doc_id", "text": "text", "title": "title"},
    }


def test_paraphrases_leave_the_corpus_unchanged(kb: synth.KnowledgeBase, all_tasks: dict[str, Path]) -> None:
    corpus = synth.build_corpus(kb, SEED)
    rows = read_jsonl(all_tasks["synth_qa"] / "corpus.jsonl")
    assert [(r["id"], r["text"]) for r in rows] == [(d.doc_id, d.text) for d in corpus]


def test_a_paraphrase_that_drops_a_fact_stops_the_writer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(paraphrase_module, "_render", lambda slots, number, rng, closings: f"Nothing to see here {number}.")
    with pytest.raises(AssertionError, match="paraphrase leaves out"):
        synth.write_cls_task(tmp_path, SEED)
    assert not (tmp_path / "corpus.jsonl").exists()


def test_a_held_out_policy_in_training_stops_the_draft_writer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    every_policy = list(draft_module.POLICY_QUESTIONS)
    monkeypatch.setattr(draft_module, "_split_policies", lambda kb, seen, rng: (every_policy, every_policy))
    with pytest.raises(AssertionError, match="corpus_only email asks facts training states"):
        synth.write_draft_task(tmp_path, SEED)
    assert not (tmp_path / "test.jsonl").exists()
