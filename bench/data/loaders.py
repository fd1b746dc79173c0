"""Converters from a public dataset's own file layout to plain rows, for the built-in real tasks.

A user task never needs one: JSONL, JSON, CSV, Parquet or a Hugging Face id load directly. A loader is named
in task.yaml (`loader: pubmedqa`) and gets the resolved `path` and the part's `options`.
"""
from __future__ import annotations

import csv
import inspect
import json
import random
from pathlib import Path
from typing import Any, Callable

from bench.records.errors import UserError, did_you_mean
from bench.records.io import read_jsonl

LOADERS: dict[str, Callable[..., list[dict]]] = {}


def loader(name: str):
    def register(func):
        LOADERS[name] = func
        return func

    return register


def run_loader(name: str, path: Path, options: dict[str, Any], where: str) -> list[dict]:
    if name not in LOADERS:
        raise UserError(f"{where}.loader: " + did_you_mean(name, list(LOADERS), "loader"))
    if not path.exists():
        raise UserError(f"{where}: not found: {path}. Set FTRAG_DATA_DIR to the folder that holds the datasets.")
    problem = option_problem(name, options)
    if problem:
        raise UserError(f"{where}.options: {problem}")
    try:
        return LOADERS[name](path, **options)
    except UserError as err:  # the loader names the data file; add which part of which task.yaml asked for it
        raise UserError(f"{where}: {err}") from None
    except (KeyError, IndexError, ValueError, TypeError, AttributeError, OSError) as err:  # data of another layout
        raise UserError(f"{where}: loader {name} could not read {path} ({type(err).__name__}: {err}). The files do not "
                        f"have the layout it expects: restore them from the dataset's source (see the task's README).") from None


def option_problem(name: str, options: dict[str, Any]) -> str | None:
    """An option the loader does not take, or one it needs and was not given."""
    params = list(inspect.signature(LOADERS[name]).parameters.values())[1:]  # after `path`
    takes = [p.name for p in params]
    unknown = [key for key in options if key not in takes]
    if unknown:
        return f"loader {name} takes no option '{unknown[0]}'. Its options: {', '.join(takes)}."
    needed = [p.name for p in params if p.default is inspect.Parameter.empty and p.name not in options]
    if needed:
        return f"loader {name} needs options.{needed[0]}. Add it, e.g. options: {{{needed[0]}: ...}}."
    return None


# --- helpers shared by the dataset loaders ---------------------------------------------------------------

def _check_part(loader_name: str, part: str, allowed: tuple[str, ...], path: Path) -> None:
    if part not in allowed:
        raise UserError(f"{path}: loader {loader_name} has no part '{part}'. "
                        f"Set options.part to one of: {', '.join(allowed)}.")


def _data_file(path: Path, name: str, loader_name: str) -> Path:
    """The file `name` in the dataset folder `path` (a path to a file in that folder also works)."""
    folder = path if path.is_dir() else path.parent
    file = folder / name
    if not file.is_file():
        raise UserError(f"{file}: not found. The {loader_name} loader reads {name} from the folder given as path: "
                        f"point path at the {loader_name} data folder (e.g. \"{{data_dir}}/{loader_name}\").")
    return file


def _read_json(file: Path) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise UserError(f"{file}: line {err.lineno}: malformed JSON ({err.msg}). Restore the file from its source (see README.md beside it).") from None


def _read_jsonl(file: Path) -> list[dict]:
    return read_jsonl(file, "Restore the file from its source (see README.md beside it).")


def _shuffled(rows: list[dict], seed: int) -> list[dict]:
    """Rows in a seeded random order. The harness scores the first `limit` items of each stratum, and the source
    files are sorted (by label, by article, by domain), so file order would test one corner of the data."""
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    return rows


# --- banking77: intent classification --------------------------------------------------------------------

@loader("banking77")
def banking77(path: Path, part: str, seed: int = 0) -> list[dict]:
    """Rows {id, text, category} of train.csv or test.csv. Both files are sorted by category, hence the shuffle;
    the id is the record's position in its file, so it does not depend on the seed."""
    _check_part("banking77", part, ("train", "test"), path)
    file = _data_file(path, f"{part}.csv", "banking77")
    with open(file, newline="", encoding="utf-8") as handle:  # csv handles the 13 texts with quoted newlines
        reader = csv.DictReader(handle)
        if not {"text", "category"} <= set(reader.fieldnames or []):
            raise UserError(f"{file}: expected the columns text,category (found {reader.fieldnames}). Point path at the banking77 data folder.")
        records = list(reader)
    # strip: a few texts start or end with newlines, which would only add blank lines to prompts
    rows = [{"id": f"{part}-{n}", "text": r["text"].strip(), "category": r["category"]} for n, r in enumerate(records)]
    return _shuffled(rows, seed)


# --- pubmedqa: yes/no/maybe questions over PubMed abstracts ----------------------------------------------

@loader("pubmedqa")
def pubmedqa(path: Path, part: str, seed: int = 0) -> list[dict]:
    """corpus: one document per PMID (the abstract minus its conclusion); test: the 500 official test PMIDs;
    train: the other 500. Questions carry no context: retrieval arms must find the abstract in the corpus."""
    _check_part("pubmedqa", part, ("corpus", "train", "test"), path)
    items = _read_json(_data_file(path, "ori_pqal.json", "pubmedqa"))
    if part == "corpus":
        return [{"id": pmid, "title": f"PMID {pmid}", "text": " ".join(item["CONTEXTS"])} for pmid, item in items.items()]
    test_pmids = set(_read_json(_data_file(path, "test_ground_truth.json", "pubmedqa")))
    rows = [
        {"id": pmid, "question": item["QUESTION"], "answer": item["final_decision"], "gold_docs": [pmid], "long_answer": item["LONG_ANSWER"]}
        for pmid, item in items.items()
        if (pmid in test_pmids) == (part == "test")
    ]
    return _shuffled(rows, seed)  # test_ground_truth.json lists all "yes" items first


# --- covid_qa: extractive QA over 92 full-text articles -------------------------------------------------

@loader("covid_qa")
def covid_qa(path: Path, part: str, test_fraction: float = 0.2, seed: int = 0) -> list[dict]:
    """corpus: every article (all 92, so RAG can find test articles); train/test: the questions of a seeded
    split of the ARTICLES, so train and test never share an article (the dataset has no official split)."""
    _check_part("covid_qa", part, ("corpus", "train", "test"), path)
    if not isinstance(test_fraction, (int, float)) or not 0 < test_fraction < 1:
        raise UserError(f"{path}: loader covid_qa: options.test_fraction is {test_fraction!r}; set it to a number between 0 and 1 (e.g. 0.2).")
    data = _read_json(_data_file(path, "covid_qa_200423_ccby.json", "covid_qa"))
    articles = [entry["paragraphs"][0] for entry in data["data"]]  # one paragraph per article: its full text
    if part == "corpus":
        return [{"id": str(a["document_id"]), "title": a["context"].split("\n", 1)[0].strip(), "text": a["context"]} for a in articles]
    test_ids = covid_qa_test_articles([a["document_id"] for a in articles], test_fraction, seed)
    rows = [
        {"id": str(qa["id"]), "question": qa["question"], "answers": [ans["text"].strip() for ans in qa["answers"]],
         "gold_docs": [str(a["document_id"])]}
        for a in articles
        if (a["document_id"] in test_ids) == (part == "test")
        for qa in a["qas"]
    ]
    return _shuffled(rows, seed)  # questions come grouped by article


def covid_qa_test_articles(document_ids: list[int], test_fraction: float, seed: int) -> set[int]:
    """A seeded sample of the articles, drawn from their sorted ids so file order does not matter."""
    ordered = sorted(document_ids)
    n_test = max(1, round(len(ordered) * test_fraction))
    return set(random.Random(seed).sample(ordered, n_test))


# --- qmsum: query-based meeting summaries ----------------------------------------------------------------

@loader("qmsum")
def qmsum(path: Path, part: str, turns_per_doc: int = 12, max_rows: int | None = 400, seed: int = 0) -> list[dict]:
    """corpus: the TEST meetings cut into windows of `turns_per_doc` turns (the meetings the test queries ask about);
    train/test: the general and specific queries of that split, a seeded sample of at most `max_rows`
    (train holds 1,178 queries of ~70-word answers: all of them would not fit a CPU fine-tuning budget)."""
    _check_part("qmsum", part, ("corpus", "train", "test"), path)
    if not isinstance(turns_per_doc, int) or turns_per_doc < 1:
        raise UserError(f"{path}: loader qmsum: options.turns_per_doc is {turns_per_doc!r}; set it to a whole number of turns, 1 or more.")
    if max_rows is not None and (not isinstance(max_rows, int) or max_rows < 1):
        raise UserError(f"{path}: loader qmsum: options.max_rows is {max_rows!r}; set it to a whole number, 1 or more (or null for all).")
    meetings = _read_jsonl(_data_file(path, f"{'test' if part == 'corpus' else part}.jsonl", "qmsum"))
    if part == "corpus":
        return [doc for meeting in meetings for doc in qmsum_meeting_docs(meeting, turns_per_doc)]
    # gold documents exist only for test queries: the corpus holds the test meetings alone
    rows = [row for meeting in meetings for row in qmsum_queries(meeting, turns_per_doc, part == "test")]
    return _shuffled(rows, seed)[:max_rows]


def qmsum_meeting_docs(meeting: dict, turns_per_doc: int) -> list[dict]:
    """Consecutive windows of `speaker: content` lines, id `<meeting_id>#<window number>`."""
    turns, meeting_id = meeting["meeting_transcripts"], meeting["meeting_id"]
    return [
        {"id": f"{meeting_id}#{n}", "title": f"Meeting {meeting_id} ({meeting['domain']})",
         "text": "\n".join(f"{turn['speaker']}: {turn['content']}" for turn in turns[start : start + turns_per_doc])}
        for n, start in enumerate(range(0, len(turns), turns_per_doc))
    ]


def qmsum_queries(meeting: dict, turns_per_doc: int, with_gold: bool) -> list[dict]:
    """General queries, then specific ones, numbered in that order; the query names its meeting, since the
    corpus pools every test meeting and "Summarize the meeting" alone would not say which."""
    meeting_id = meeting["meeting_id"]
    queries = [(q, "general") for q in meeting["general_query_list"]] + [(q, "specific") for q in meeting["specific_query_list"]]
    return [
        {"id": f"{meeting_id}/{n}", "query": f"Meeting {meeting_id}: {q['query']}", "answer": q["answer"].strip(),
         "gold_docs": qmsum_span_docs(meeting_id, q.get("relevant_text_span") or [], turns_per_doc) if with_gold else [],
         "stratum": stratum}
        for n, (q, stratum) in enumerate(queries)
    ]


def qmsum_span_docs(meeting_id: str, spans: list[list[str]], turns_per_doc: int) -> list[str]:
    """Ids of the windows that overlap any span; spans are inclusive [start, end] turn indices stored as strings."""
    windows = sorted({n for start, end in spans for n in range(int(start) // turns_per_doc, int(end) // turns_per_doc + 1)})
    return [f"{meeting_id}#{n}" for n in windows]
