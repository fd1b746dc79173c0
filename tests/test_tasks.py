"""Task loading and validation: good tasks load, broken ones get one message naming file, field and fix."""
from pathlib import Path

import pytest

from bench.records.errors import UserError
from bench.data.tasks import load_task
from tests.conftest import write_jsonl

GOOD_YAML = """\
name: mini
kind: qa
data:
  corpus: {path: corpus.jsonl, fields: {id: id, text: text, title: title}}
  train: {path: train.jsonl, fields: {input: question, target: answer}}
  test: {path: test.jsonl, fields: {id: id, input: question, target: answers, stratum: stratum, gold_docs: doc_ids}}
probes:
  unanswerable: {path: unanswerable.jsonl, fields: {input: question, target: answers}}
"""


@pytest.fixture
def task_dir(tmp_path) -> Path:
    folder = tmp_path / "mini"
    folder.mkdir()
    (folder / "task.yaml").write_text(GOOD_YAML)
    write_jsonl(folder / "corpus.jsonl", [{"id": "d1", "title": "Lamp", "text": "The Lumo lamp costs $12."}])
    write_jsonl(folder / "train.jsonl", [{"question": "Price of Lumo?", "answer": "$12"}])
    write_jsonl(folder / "test.jsonl", [{"id": "t1", "question": "What does Lumo cost?", "answers": ["$12", "12"], "stratum": "seen", "doc_ids": ["d1"]}])
    write_jsonl(folder / "unanswerable.jsonl", [{"question": "Who founded Lumo?", "answers": []}])
    return folder


def test_a_valid_task_loads_with_probes_appended_to_test(task_dir):
    task = load_task(str(task_dir))
    assert [d.id for d in task.corpus] == ["d1"]
    assert task.train[0].targets == ("$12",)
    assert [(ex.stratum, ex.answerable) for ex in task.test] == [("seen", True), ("unanswerable", False)]
    assert task.test[0].gold_docs == ("d1",)


def test_data_hash_changes_when_data_changes(task_dir):
    before = load_task(str(task_dir)).data_hash
    write_jsonl(task_dir / "train.jsonl", [{"question": "Price of Lumo?", "answer": "$13"}])
    assert load_task(str(task_dir)).data_hash != before


def broken(task_dir: Path, old: str, new: str) -> str:
    (task_dir / "task.yaml").write_text(GOOD_YAML.replace(old, new))
    with pytest.raises(UserError) as err:
        load_task(str(task_dir))
    return str(err.value)


def test_malformed_yaml_names_the_line(task_dir):
    message = broken(task_dir, "kind: qa", "kind: [qa")
    assert "task.yaml" in message and "line" in message and "YAML" in message


def test_unknown_kind_lists_the_kinds(task_dir):
    message = broken(task_dir, "kind: qa", "kind: summarise")
    assert "kind" in message and "classification" in message and "drafting" in message


def test_missing_required_key_is_named(task_dir):
    message = broken(task_dir, "name: mini\n", "")
    assert "name: required key is missing" in message


def test_misspelled_key_is_reported(task_dir):
    assert "probez: unknown key" in broken(task_dir, "probes:", "probez:")


def test_wrong_path_names_the_part_and_the_file(task_dir):
    message = broken(task_dir, "path: train.jsonl", "path: trian.jsonl")
    assert "data.train" in message and "trian.jsonl" in message and "not found" in message


def test_wrong_field_names_the_columns_that_exist(task_dir):
    message = broken(task_dir, "target: answer}", "target: reply}")
    assert "data.train.fields.target" in message and "'reply'" in message and "answer, question" in message


def test_every_problem_is_reported_at_once(task_dir):
    (task_dir / "task.yaml").write_text(GOOD_YAML.replace("path: train.jsonl", "path: nope.jsonl").replace("path: corpus.jsonl", "path: gone.jsonl"))
    with pytest.raises(UserError) as err:
        load_task(str(task_dir))
    assert "2 problem(s)" in str(err.value) and "nope.jsonl" in str(err.value) and "gone.jsonl" in str(err.value)


def test_malformed_jsonl_line_is_named_by_number(task_dir):
    (task_dir / "train.jsonl").write_text('{"question": "a", "answer": "b"}\n{"question": "c", \n')
    with pytest.raises(UserError, match=r"train\.jsonl:2: malformed JSON line"):
        load_task(str(task_dir))


def test_empty_corpus_is_rejected(task_dir):
    (task_dir / "corpus.jsonl").write_text("")
    with pytest.raises(UserError, match=r"data\.corpus: corpus\.jsonl holds no records"):
        load_task(str(task_dir))


def test_unknown_task_name_suggests_close_names(monkeypatch, tmp_path, task_dir):
    monkeypatch.setenv("FTRAG_TASKS_DIR", str(task_dir.parent))
    with pytest.raises(UserError, match=r"Unknown task 'mnii'\. Did you mean: mini\?"):
        load_task("mnii")


def test_csv_files_load_with_a_field_mapping(task_dir):
    (task_dir / "train.csv").write_text('question,answer\n"Price, of Lumo?",$12\n')
    (task_dir / "task.yaml").write_text(GOOD_YAML.replace("path: train.jsonl", "path: train.csv"))
    task = load_task(str(task_dir))
    assert task.train[0].input == "Price, of Lumo?"


CLASSIFICATION_YAML = """\
name: route
kind: classification
labels: [billing, delivery]
data:
  train: {path: train.csv, fields: {input: text, target: label}}
  test: {path: test.csv, fields: {input: text, target: label}}
"""


@pytest.fixture
def cls_dir(tmp_path) -> Path:
    folder = tmp_path / "route"
    folder.mkdir()
    (folder / "task.yaml").write_text(CLASSIFICATION_YAML)
    (folder / "train.csv").write_text("text,label\nCharged twice,billing\nWhere is my parcel,delivery\n")
    (folder / "test.csv").write_text("text,label\nExtra fee,billing\n")
    return folder


def test_a_data_label_missing_from_labels_is_named(cls_dir):
    (cls_dir / "test.csv").write_text("text,label\nExtra fee,refunds\n")
    with pytest.raises(UserError, match=r"data\.test: targets not in labels: refunds"):
        load_task(str(cls_dir))


def test_a_listed_label_that_no_item_uses_is_named(cls_dir):
    (cls_dir / "task.yaml").write_text(CLASSIFICATION_YAML.replace("[billing, delivery]", "[billing, delivery, delivry]"))
    with pytest.raises(UserError, match=r"labels: delivry appear in no train or test item"):
        load_task(str(cls_dir))


def test_labels_can_come_from_a_json_file_and_a_missing_one_is_named(cls_dir):
    (cls_dir / "labels.json").write_text('["billing", "delivery"]')
    (cls_dir / "task.yaml").write_text(CLASSIFICATION_YAML.replace("labels: [billing, delivery]", "labels_file: labels.json"))
    assert load_task(str(cls_dir)).spec.labels == ["billing", "delivery"]
    (cls_dir / "labels.json").unlink()
    with pytest.raises(UserError, match=r"labels_file: file not found") as err:
        load_task(str(cls_dir))
    assert "1 problem(s)" in str(err.value)
