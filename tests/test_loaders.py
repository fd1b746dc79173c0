"""The built-in real-data tasks: each loads from the data directory with the documented counts, splits that do
not leak, and gold documents that exist. Loader mistakes a user can make give a UserError, not a traceback."""
from collections import Counter

import pytest

from bench.records.errors import UserError
from bench.data.loaders import LOADERS
from bench.data.readers import data_dir
from bench.data.tasks import load_task


@pytest.fixture
def needs_data():
    if data_dir() is None:
        pytest.skip("no data directory (set FTRAG_DATA_DIR to the folder holding the datasets)")


def by_id(docs) -> dict[str, str]:
    return {doc.id: doc.text for doc in docs}


def test_banking77_has_the_official_splits_and_77_intents(needs_data):
    task = load_task("banking77")
    assert (len(task.train), len(task.test), len(task.spec.labels)) == (10_003, 3_080, 77)
    assert Counter(ex.targets[0] for ex in task.test) == {label: 40 for label in task.spec.labels}
    assert all(ex.input == ex.input.strip() for ex in task.train + task.test)  # quoted newlines parsed, edges stripped
    # the files are sorted by intent: the shuffle makes the first 100 test items span many intents
    assert len({ex.targets[0] for ex in task.test[:100]}) > 40


def test_pubmedqa_uses_the_official_test_pmids_and_keeps_contexts_out_of_inputs(needs_data):
    task = load_task("pubmedqa")
    assert (len(task.corpus), len(task.train), len(task.test)) == (1_000, 500, 500)
    assert task.spec.labels == ["yes", "no", "maybe"]
    train_ids, test_ids = {ex.id for ex in task.train}, {ex.id for ex in task.test}
    assert not train_ids & test_ids and train_ids | test_ids == set(by_id(task.corpus))
    assert Counter(ex.targets[0] for ex in task.test) == {"yes": 276, "no": 169, "maybe": 55}
    assert {ex.targets[0] for ex in task.test[:100]} == {"yes", "no", "maybe"}  # the source lists "yes" first
    corpus = by_id(task.corpus)
    for ex in task.test:
        assert ex.gold_docs == (ex.id,)
        assert corpus[ex.id][:60] not in ex.input and len(ex.input) < len(corpus[ex.id])


def test_covid_qa_splits_by_article_and_answers_sit_in_their_gold_article(needs_data):
    task = load_task("covid_qa")
    corpus = by_id(task.corpus)
    assert len(corpus) == 92 and len(task.train) + len(task.test) == 1_235
    train_docs = {d for ex in task.train for d in ex.gold_docs}
    test_docs = {d for ex in task.test for d in ex.gold_docs}
    assert not train_docs & test_docs and test_docs <= set(corpus)
    assert len(test_docs) == round(92 * 0.2)
    for ex in task.train + task.test:
        assert all(answer in corpus[ex.gold_docs[0]] for answer in ex.targets)


def test_covid_qa_article_split_is_seeded():
    from bench.data.loaders import covid_qa_test_articles

    ids = list(range(100, 192))
    assert covid_qa_test_articles(ids, 0.2, 0) == covid_qa_test_articles(list(reversed(ids)), 0.2, 0)
    assert covid_qa_test_articles(ids, 0.2, 0) != covid_qa_test_articles(ids, 0.2, 1)


def test_qmsum_gold_documents_exist_and_cover_the_spans(needs_data):
    task = load_task("qmsum")
    corpus = by_id(task.corpus)
    assert Counter(ex.stratum for ex in task.test) == {"specific": 226, "general": 35}
    assert len(task.train) == 400 and not any(ex.gold_docs for ex in task.train)
    specific = [ex for ex in task.test if ex.stratum == "specific"]
    assert all(ex.gold_docs for ex in specific)
    assert all(d in corpus for ex in task.test for d in ex.gold_docs)
    assert all(ex.input.startswith(f"Meeting {ex.id.split('/')[0]}: ") for ex in task.test)


def test_qmsum_span_maps_to_overlapping_windows():
    from bench.data.loaders import qmsum_span_docs

    # turns 11..12 straddle windows 0 (turns 0-11) and 1 (12-23); 24..24 is window 2 alone
    assert qmsum_span_docs("M", [["11", "12"], ["24", "24"]], 12) == ["M#0", "M#1", "M#2"]


@pytest.mark.parametrize("name", ["banking77", "pubmedqa", "covid_qa", "qmsum"])
def test_a_wrong_part_is_a_user_error_naming_the_choices(name, tmp_path):
    with pytest.raises(UserError, match="options.part") as err:
        LOADERS[name](tmp_path, part="dev")
    assert str(tmp_path) in str(err.value)


def test_a_missing_data_file_is_a_user_error_naming_the_file(tmp_path):
    with pytest.raises(UserError) as err:
        LOADERS["pubmedqa"](tmp_path, part="test")
    assert str(tmp_path / "ori_pqal.json") in str(err.value) and "point path at" in str(err.value)


def test_a_bad_loader_option_is_reported_by_load_task(tmp_path):
    folder = tmp_path / "mini"
    folder.mkdir()
    (folder / "task.yaml").write_text(
        f"name: mini\nkind: qa\ndata:\n  test: {{path: '{tmp_path}', loader: covid_qa, options: {{part: test, test_fraction: 2}}}}\n"
    )
    with pytest.raises(UserError, match="test_fraction"):
        load_task(str(folder))
