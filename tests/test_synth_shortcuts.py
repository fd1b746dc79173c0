"""No shortcut in any synthetic train set: wordings, surface features, strata per fact, evidence and paraphrases."""
from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable

import pytest
import yaml

from bench.data import synth
from bench.data.synth import draft as draft_module
from bench.data.synth import paraphrase as paraphrase_module
from bench.data.synth.attributes import ATTRIBUTES
from bench.data.synth.catalogue import UNSTATED_POLICIES

from tests.synth_fixtures import SEED, TASK_FILES, IDK, CLS_FILES, DRAFT_FILES, read_jsonl, task_dir, kb, corpus_text, all_tasks, cls_rows, draft_rows  # noqa: F401 (fixtures and shared constants)


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
