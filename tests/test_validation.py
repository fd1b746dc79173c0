"""Bad input, case by case: a small valid task of each kind, broken one way at a time, run through `ftrag validate`.
Each case asserts exit status 2, no traceback, and the message: the file and line (or field), what is wrong, the fix."""
from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cli import main
from bench.data.tasks import load_task, validate_task

QA = {
    "task.yaml": """\
name: qa
kind: qa
data:
  corpus: {path: corpus.jsonl, fields: {id: id, text: text, title: title}}
  train: {path: train.jsonl, fields: {input: question, target: answer}}
  test: {path: test.jsonl, fields: {id: id, input: question, target: answers, gold_docs: doc_ids}}
probes:
  unanswerable: {path: unanswerable.jsonl, fields: {id: id, input: question, target: answers}}
overrides:
  retrieval: {k: 2}
""",
    "corpus.jsonl": [{"id": "d1", "title": "Lamp", "text": "The Lumo lamp costs $12."},
                     {"id": "d2", "title": "Kettle", "text": "The Boil kettle holds 1.5 litres."}],
    "train.jsonl": [{"question": "Price of Lumo?", "answer": "$12"}, {"question": "Boil capacity?", "answer": "1.5 litres"}],
    "test.jsonl": [{"id": "q1", "question": "What does Lumo cost?", "answers": ["$12"], "doc_ids": ["d1"]},
                   {"id": "q2", "question": "How much does Boil hold?", "answers": ["1.5 litres"], "doc_ids": ["d2"]}],
    "unanswerable.jsonl": [{"id": "u1", "question": "Who founded Lumo?", "answers": []}],
}
CLS = {
    "task.yaml": """\
name: cls
kind: classification
labels: [billing, delivery]
data:
  train: {path: train.csv, fields: {input: text, target: label}}
  test: {path: test.csv, fields: {id: id, input: text, target: label}}
""",
    "train.csv": "text,label\nCharged twice,billing\nWhere is my parcel,delivery\n",
    "test.csv": "id,text,label\nt1,Extra fee on my card,billing\nt2,Parcel is late,delivery\n",
}
DRAFT = {
    "task.yaml": """\
name: draft
kind: drafting
data:
  corpus: {path: corpus.jsonl, fields: {id: id, text: text}}
  train: {path: train.jsonl, fields: {input: email, target: reply}}
  test: {path: test.jsonl, fields: {id: id, input: email, target: reply, facts: facts}}
""",
    "corpus.jsonl": [{"id": "d1", "text": "Returns are accepted within 45 days."}],
    "train.jsonl": [{"email": "Can I return my lamp?", "reply": "Yes, within 45 days."}],
    "test.jsonl": [{"id": "e1", "email": "How long do I have to return a kettle?", "reply": "You have 45 days.", "facts": ["45 days"]}],
}
KINDS = {"qa": QA, "cls": CLS, "draft": DRAFT}


def build(root: Path, kind: str) -> Path:
    folder = root / kind
    folder.mkdir()
    for name, content in KINDS[kind].items():
        text = content if isinstance(content, str) else "".join(json.dumps(r) + "\n" for r in content)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


# --- ways to break a task: each takes the task folder ----------------------------------------------------

def yaml(old: str, new: str):
    def breakage(folder: Path):
        text = (folder / "task.yaml").read_text()
        assert old in text, f"the valid task.yaml has no {old!r}"
        (folder / "task.yaml").write_text(text.replace(old, new, 1))
    return breakage


def put(name: str, content: str | bytes):
    def breakage(folder: Path):
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return breakage


def line(name: str, content: str | bytes | dict):
    """Append one line: raw text or bytes, or a record as JSON."""
    def breakage(folder: Path):
        data = json.dumps(content) if isinstance(content, dict) else content
        with open(folder / name, "ab") as handle:
            handle.write((data if isinstance(data, bytes) else data.encode()) + b"\n")
    return breakage


def both(*breakages):
    def breakage(folder: Path):
        for each in breakages:
            each(folder)
    return breakage


def mkdir(name: str):
    return lambda folder: (folder / name).mkdir()


def target(path: str):
    """Validate another path than the task folder (relative to it)."""
    return lambda folder: folder / path


def with_args(*args: str):
    """The valid task, validated with these command-line settings."""
    return lambda folder: (folder, list(args))


# (kind, breakage, fragments the message must hold), one line each; the case id is the kind of breakage
CASES = {
    # task.yaml itself
    "yaml syntax": ("qa", yaml("kind: qa", "kind: [qa"), ["task.yaml: line 3, column 5", "not valid YAML", "Close the list"]),
    "yaml tab indent": ("qa", yaml("kind: qa", "kind: qa\n\tdescription: x"), ["task.yaml: line 3", "Indent with spaces"]),
    "yaml top level list": ("qa", put("task.yaml", "- name: qa\n"), ["task.yaml: holds a list [{'name': 'qa'}], not a mapping of keys", "Write it as name: ..."]),
    "yaml empty": ("qa", put("task.yaml", ""), ["task.yaml: is empty", "Write name, kind and data"]),
    "yaml duplicate key": ("qa", yaml("kind: qa", "kind: qa\nkind: qa"), ["task.yaml:3: key 'kind' appears again", "Keep one"]),
    "yaml not utf-8": ("qa", put("task.yaml", b"name: caf\xe9\nkind: qa\n"), ["task.yaml:1: not UTF-8 (byte 0xe9 at byte offset 9)", "Save the file as UTF-8"]),
    "unknown key": ("qa", yaml("kind: qa", "kind: qa\ndescripton: x"), ["task.yaml: descripton: unknown key", "spelling"]),
    "missing key": ("qa", yaml("name: qa\n", ""), ["task.yaml: name: required key is missing. Add it."]),
    "unknown kind": ("qa", yaml("kind: qa", "kind: poem"), ["task.yaml: kind: Input should be", "'classification'", "found 'poem'"]),
    "name not a string": ("qa", yaml("name: qa", "name: [qa]"), ["task.yaml: name: must be text, found a list", "quote it"]),
    "description a yaml boolean": ("qa", yaml("kind: qa", "kind: qa\ndescription: yes"), ["description: must be text, found true (a boolean)", "quote it"]),
    "prompt not a string": ("qa", yaml("kind: qa", "kind: qa\nprompts: {instruction: [a]}"), ["task.yaml: prompts.instruction: must be text, found a list", "Write it as a string"]),
    "options not a mapping": ("qa", yaml("path: train.jsonl", "path: train.jsonl, options: [a]"), ["data.train.options: must be a mapping of keys", "{key: value}"]),
    "split not a string": ("qa", yaml("path: train.jsonl", "path: train.jsonl, split: [a]"), ["data.train.split: must be text", "Write it as a string"]),
    "fields not a mapping": ("qa", yaml("fields: {input: question, target: answer}", "fields: [question, answer]"), ["data.train.fields: must be a mapping of keys", "{key: value}"]),
    "field not a string": ("qa", yaml("target: answer}", "target: [answer]}"), ["data.train.fields.target: must be text, found a list", "Write it as a string"]),
    "path not a string": ("qa", yaml("path: train.jsonl", "path: 7"), ["data.train.path: must be text, found the number 7", "Write it as a string"]),
    "unknown format": ("qa", yaml("path: train.jsonl", "path: train.jsonl, format: xml"), ["data.train.format: Input should be", "found 'xml'"]),
    "unknown probe": ("qa", yaml("unanswerable:", "unanswerabel:"), ["probes.unanswerabel: unknown probe", "Use one of: unanswerable"]),
    "overrides negative k": ("qa", yaml("retrieval: {k: 2}", "retrieval: {k: -3}"), ["task.yaml: overrides.retrieval.k: must be 1 or more, found the number -3."]),
    "overrides epochs a word": ("qa", yaml("retrieval: {k: 2}", "finetune: {epochs: many}"), ["task.yaml: overrides.finetune.epochs: must be a whole number, found 'many'", "Write a number"]),
    "overrides boolean a word": ("qa", yaml("retrieval: {k: 2}", "judge: {enabled: maybe}"), ["task.yaml: overrides.judge.enabled: must be true or false, found 'maybe'. Write true or false."]),
    "overrides unknown key": ("qa", yaml("retrieval: {k: 2}", "retreival: {k: 2}"), ["task.yaml: overrides.retreival: unknown key"]),
    "overrides not a mapping": ("qa", yaml("overrides:\n  retrieval: {k: 2}", "overrides: [k]"), ["task.yaml: overrides: must be a mapping of keys"]),
    # the task folder
    "folder is a file": ("qa", target("corpus.jsonl"), ["corpus.jsonl: is a file, not a task folder", "Give the folder that holds task.yaml"]),
    "folder missing": ("qa", target("nowhere/at/all"), ["nowhere/at/all: no such folder", "Fix the path"]),
    "folder without task.yaml": ("qa", both(lambda f: (f / "task.yaml").unlink()), ["this folder has no task.yaml", "ftrag new-task"]),
    "task.yaml a folder": ("qa", both(lambda f: (f / "task.yaml").unlink(), mkdir("task.yaml")), ["task.yaml is a folder, not a file"]),
    # data files
    "data file missing": ("qa", yaml("path: train.jsonl", "path: trian.jsonl"), ["data.train: file not found:", "trian.jsonl", "Did you mean train.jsonl?"]),
    "data path a folder": ("qa", both(mkdir("docs.jsonl"), yaml("path: corpus.jsonl", "path: docs.jsonl")), ["data.corpus:", "docs.jsonl is a folder, not a file"]),
    "unknown extension": ("qa", both(put("train.txt", "x"), yaml("path: train.jsonl", "path: train.txt")), ["data.train: cannot tell the format of train.txt", "Set format"]),
    "line not utf-8": ("qa", line("corpus.jsonl", b'{"id": "d3", "text": "caf\xe9"}'), ["corpus.jsonl:3: not UTF-8 (byte 0xe9 at byte offset", "Save the file as UTF-8"]),
    "line with binary bytes": ("qa", line("corpus.jsonl", b"\x89PNG\x00\x01\x02"), ["corpus.jsonl:3: binary data (a NUL byte at byte offset", "Remove that line"]),
    "gzip file": ("qa", put("train.jsonl", gzip.compress(b'{"question": "a", "answer": "b"}\n')), ["train.jsonl: is a gzip archive, not a text file", "Export the data as JSONL"]),
    "utf-16 file": ("qa", put("train.jsonl", '{"question": "a", "answer": "b"}\n'.encode("utf-16")), ["train.jsonl: is UTF-16 text, not UTF-8", "Save it as UTF-8"]),
    "line an array": ("qa", line("corpus.jsonl", '["d3", "text"]'), ["corpus.jsonl:3: a list ['d3', 'text'] where a JSON object was expected", "one object per line"]),
    "line a number": ("qa", line("train.jsonl", "42"), ["train.jsonl:3: the number 42 where a JSON object was expected", "Write one object per line"]),
    "line a string": ("qa", line("test.jsonl", '"What is Lumo?"'), ["test.jsonl:3: 'What is Lumo?' where a JSON object was expected", "Write one object per line"]),
    "malformed json line": ("qa", line("train.jsonl", '{"question": "x", '), ["train.jsonl:3: malformed JSON line", "Fix or remove that line"]),
    "huge line": ("qa", line("corpus.jsonl", {"id": "d3", "text": "x" * 1_100_000}), ["corpus.jsonl:3: line is 1.1 MB long", "Split it into several records"]),
    "empty file": ("qa", put("train.jsonl", ""), ["data.train: train.jsonl holds no records", "Add data or remove this part"]),
    "column missing": ("qa", yaml("input: question, target: answers", "input: qestion, target: answers"), ["data.test.fields.input: column 'qestion' is not in", "Set fields.input"]),
    "json not a list": ("qa", both(put("train.json", '{"rows": []}'), yaml("path: train.jsonl", "path: train.json")), ["train.json: holds an object", "Write a JSON list of objects"]),
    "json malformed": ("qa", both(put("train.json", '[{"question": "a",'), yaml("path: train.jsonl", "path: train.json")), ["train.json:1: malformed JSON", "Fix the syntax there"]),
    "json record not an object": ("qa", both(put("train.json", '[{"question": "a", "answer": "b"}, 3]'), yaml("path: train.jsonl", "path: train.json")), ["train.json: record 2 is the number 3, not an object"]),
    # values
    "corpus text null": ("qa", line("corpus.jsonl", {"id": "d3", "text": None}), ["corpus.jsonl:3: text ('text') is null", "Give every document its text"]),
    "corpus text a number": ("qa", line("corpus.jsonl", {"id": "d3", "text": 42}), ["corpus.jsonl:3: text ('text') is the number 42, not a string", "Give every document its text as a string"]),
    "corpus text empty": ("qa", line("corpus.jsonl", {"id": "d3", "text": "  "}), ["corpus.jsonl:3: text ('text') is empty", "Give every document its text"]),
    "corpus id null": ("qa", line("corpus.jsonl", {"id": None, "text": "x"}), ["corpus.jsonl:3: id ('id') is null", "unique id"]),
    "corpus id absent": ("qa", line("corpus.jsonl", {"text": "x"}), ["corpus.jsonl:3: id ('id') is missing", "Give every document a unique id"]),
    "corpus id a list": ("qa", line("corpus.jsonl", {"id": ["d3"], "text": "x"}), ["corpus.jsonl:3: id ('id') is a list ['d3'], not a string", "unique id"]),
    "corpus title an object": ("qa", line("corpus.jsonl", {"id": "d3", "text": "x", "title": {"a": 1}}), ["corpus.jsonl:3: title ('title') is an object", "Write the title as a string"]),
    "duplicate corpus ids": ("qa", line("corpus.jsonl", {"id": "d1", "text": "again"}), ["corpus.jsonl:3: id 'd1' is used again (first at", "corpus.jsonl:1)", "its own id"]),
    "test answer an object": ("qa", line("test.jsonl", {"id": "q3", "question": "Price?", "answers": {"text": "$12"}}), ["test.jsonl:3: target ('answers') holds an object", "list of accepted answers"]),
    "test answer empty string": ("qa", line("test.jsonl", {"id": "q3", "question": "Price?", "answers": ""}), ["test.jsonl:3: target ('answers') is empty. Write the answer", "[] for a question"]),
    "test answer a boolean": ("qa", line("test.jsonl", {"id": "q3", "question": "Price?", "answers": True}), ["test.jsonl:3: target ('answers') holds true (a boolean)", "list of accepted answers"]),
    "empty question": ("qa", line("test.jsonl", {"id": "q3", "question": "", "answers": ["a"]}), ["test.jsonl:3: input ('question') is empty", "Write the item's input"]),
    "whitespace train input": ("qa", line("train.jsonl", {"question": " \t ", "answer": "x"}), ["train.jsonl:3: input ('question') is empty", "Write the item's input"]),
    "question a number": ("qa", line("test.jsonl", {"id": "q3", "question": 7, "answers": ["a"]}), ["test.jsonl:3: input ('question') is the number 7, not a string", "Write the item's input as a string"]),
    "test id null": ("qa", line("test.jsonl", {"id": None, "question": "Price?", "answers": ["a"]}), ["test.jsonl:3: id ('id') is null", "Give every item a unique id"]),
    "duplicate test ids": ("qa", line("test.jsonl", {"id": "q1", "question": "Price?", "answers": ["a"]}), ["test.jsonl:3: id 'q1' is used again", "its own id"]),
    "duplicate train ids": ("qa", both(yaml("{input: question, target: answer}", "{id: question, input: question, target: answer}"), line("train.jsonl", {"question": "Price of Lumo?", "answer": "12"})), ["train.jsonl:3: id 'Price of Lumo?' is used again (first at", "its own id"]),
    "test and probe share an id": ("qa", line("unanswerable.jsonl", {"id": "q1", "question": "Who?", "answers": []}), ["unanswerable.jsonl:2: id 'q1' is used again", "unique across data.test and the scored probes"]),
    "dangling gold id": ("qa", line("test.jsonl", {"id": "q3", "question": "Price?", "answers": ["a"], "doc_ids": ["d9"]}), ["test.jsonl:3: gold document 'd9' is not in the corpus", "add that document"]),
    "gold ids an object": ("qa", line("test.jsonl", {"id": "q3", "question": "Price?", "answers": ["a"], "doc_ids": {"d1": 1}}), ["test.jsonl:3: gold_docs ('doc_ids') holds an object", "List the ids of the documents"]),
    "gold ids without a corpus": ("qa", yaml("  corpus: {path: corpus.jsonl, fields: {id: id, text: text, title: title}}\n", ""), ["data.test: fields.gold_docs needs a corpus", "Add data.corpus"]),
    "probe answer an object": ("qa", line("unanswerable.jsonl", {"id": "u2", "question": "Who?", "answers": {"a": 1}}), ["unanswerable.jsonl:2: target ('answers') holds an object", "[] for a question the corpus cannot answer"]),
    "probe question empty": ("qa", line("unanswerable.jsonl", {"id": "u2", "question": "", "answers": []}), ["unanswerable.jsonl:2: input ('question') is empty", "Write the item's input"]),
    "probe duplicate ids": ("qa", line("unanswerable.jsonl", {"id": "u1", "question": "Who?", "answers": []}), ["unanswerable.jsonl:2: id 'u1' is used again", "its own id"]),
    # sources other than files
    "hf id offline": ("qa", yaml("path: train.jsonl", "hf: ftrag-tests/no-such-datset"), ["data.train.hf: dataset 'ftrag-tests/no-such-datset' is not in the local Hugging Face cache", "HF_HUB_OFFLINE is set", "path: instead of hf:"]),
    "hf and path": ("qa", yaml("path: train.jsonl", "path: train.jsonl, hf: owner/name"), ["data.train: gives both path and hf", "Keep one"]),
    "no path nor hf": ("qa", yaml("{path: train.jsonl, ", "{"), ["data.train: give either path", "or hf"]),
    "unknown loader": ("qa", yaml("path: train.jsonl", "path: train.jsonl, loader: pubmedqq"), ["data.train.loader: Unknown loader 'pubmedqq'. Did you mean: pubmedqa?"]),
    "loader unknown option": ("qa", yaml("path: train.jsonl", "path: train.jsonl, loader: pubmedqa, options: {part: train, sed: 1}"), ["data.train.options: loader pubmedqa takes no option 'sed'. Its options: part, seed."]),
    "loader option missing": ("qa", yaml("path: train.jsonl", "path: train.jsonl, loader: pubmedqa"), ["data.train.options: loader pubmedqa needs options.part"]),
    "loader data of another layout": ("qa", both(mkdir("pm"), put("pm/ori_pqal.json", '{"1": {}}'), yaml("path: corpus.jsonl", "path: pm, loader: pubmedqa, options: {part: corpus}")), ["data.corpus: loader pubmedqa could not read", "(KeyError: 'CONTEXTS')", "restore them from the dataset's source"]),
    # settings and what they need
    "command line setting": ("qa", with_args("retrieval.k=0"), ["command line: retrieval.k: must be 1 or more, found the number 0."]),
    "command line bad arm": ("qa", with_args("--arms", "base,fewshots"), ["command line: arms: Unknown arm 'fewshots'. Did you mean: fewshot?"]),
    "command line not a group": ("qa", with_args("limit=3", "limit.x=1"), ["command line: limit.x=1: limit is a single setting, not a group"]),
    "loglik without labels": ("qa", with_args("answer_mode=loglik"), ["answer_mode=loglik needs a fixed answer set", "Add labels"]),
    "headline of another kind": ("draft", with_args("headline=em"), ["headline: 'em' is not a per-item accuracy metric of this task (a drafting task)", "one of: fact_recall, rouge_l"]),
    "fine-tuning without train": ("qa", yaml("  train: {path: train.jsonl, fields: {input: question, target: answer}}\n", ""), ["data.train: the fine-tuned arms (ft, ft_rag) need training examples", "--arms base,rag"]),
    # classification: labels
    "label null": ("cls", yaml("[billing, delivery]", "[billing, delivery, ~]"), ["task.yaml: labels.2: must be text, found null", "quote it"]),
    "labels repeated": ("cls", yaml("[billing, delivery]", "[billing, delivery, billing]"), ["labels: 'billing' is listed 2 times", "List each label once"]),
    "labels empty list": ("cls", yaml("[billing, delivery]", "[]"), ["labels: is empty", "List the labels"]),
    "label empty string": ("cls", yaml("[billing, delivery]", "[billing, delivery, '']"), ["labels: entry 3 is empty"]),
    "labels missing": ("cls", yaml("labels: [billing, delivery]\n", ""), ["labels: a classification task must list its labels", "or name a labels_file"]),
    "labels not a list": ("cls", yaml("[billing, delivery]", "{billing: 1}"), ["labels: must be a list", "Write it as [a, b]"]),
    "target not a label": ("cls", line("test.csv", "t3,Refund please,refunds"), ["data.test: targets not in labels: refunds", "Add them to labels"]),
    "label used by no item": ("cls", yaml("[billing, delivery]", "[billing, delivery, delivry]"), ["labels: delivry appear in no train or test item"]),
    "labels_file missing": ("cls", yaml("labels: [billing, delivery]", "labels_file: labels.json"), ["labels_file: file not found", "labels.json"]),
    "labels_file not a list": ("cls", both(put("labels.json", '{"a": 1}'), yaml("labels: [billing, delivery]", "labels_file: labels.json")), ["labels.json: must hold a JSON list of label strings, found an object", "quote every label"]),
    "labels_file booleans": ("cls", both(put("labels.json", "[true, false]"), yaml("labels: [billing, delivery]", "labels_file: labels.json")), ["labels.json: must hold a JSON list of label strings, found true (a boolean)", "quote every label"]),
    "labels_file malformed": ("cls", both(put("labels.json", '["billing", '), yaml("labels: [billing, delivery]", "labels_file: labels.json")), ["labels.json:1: malformed JSON", "JSON list of label strings"]),
    "labels and labels_file": ("cls", yaml("labels: [billing, delivery]", "labels: [billing, delivery]\nlabels_file: labels.json"), ["labels_file: given beside labels", "Keep one"]),
    # classification: CSV and Parquet
    "csv column missing": ("cls", put("test.csv", "id,text,category\nt1,Fee,billing\n"), ["data.test.fields.target: column 'label' is not in", "(columns: category, id, text)"]),
    "csv ragged row": ("cls", line("train.csv", "Charged, twice,billing"), ["train.csv:4: 3 values for 2 columns (text, label)", "Quote values that hold commas"]),
    "csv not utf-8": ("cls", line("test.csv", b"t3,Caf\xe9 bill,billing"), ["test.csv:4: not UTF-8 (byte 0xe9", "Save the file as UTF-8"]),
    "csv semicolons": ("cls", put("train.csv", "text;label\nCharged twice;billing\n"), ["train.csv:1: one column named 'text;label'", "not comma-separated"]),
    "csv repeated column": ("cls", put("train.csv", "text,label,label\nCharged twice,billing,billing\n"), ["train.csv:1: column label appears twice in the header", "Give each column its own name"]),
    "csv empty label": ("cls", line("test.csv", "t3,Some text,"), ["test.csv:4: target ('label') is empty", "one of labels"]),
    "csv empty text": ("cls", line("test.csv", "t3,,billing"), ["test.csv:4: input ('text') is empty", "Write the item's input"]),
    "csv header only": ("cls", put("train.csv", "text,label\n"), ["data.train: train.csv holds no records", "Add data"]),
    "csv duplicate ids": ("cls", line("test.csv", "t1,Another fee,billing"), ["test.csv:4: id 't1' is used again", "its own id"]),
    "parquet not parquet": ("cls", both(put("train.parquet", "text,label\n"), yaml("path: train.csv", "path: train.parquet")), ["train.parquet: not a Parquet file", "to_parquet"]),
    "parquet corrupt": ("cls", both(put("train.parquet", b"PAR1garbagePAR1"), yaml("path: train.csv", "path: train.parquet")), ["train.parquet: cannot read this Parquet file", "Write it again"]),
    # drafting
    "draft test without reference": ("draft", line("test.jsonl", {"id": "e2", "email": "Hi?", "facts": []}), ["test.jsonl:2: target ('reply') is missing", "reference text"]),
    "draft reference null": ("draft", line("test.jsonl", {"id": "e2", "email": "Hi?", "reply": None}), ["test.jsonl:2: target ('reply') is null", "Write the reference text"]),
    "draft reference empty": ("draft", line("train.jsonl", {"email": "Hi?", "reply": " "}), ["train.jsonl:2: target ('reply') is empty", "Write the reference text"]),
    "draft reference an object": ("draft", line("test.jsonl", {"id": "e2", "email": "Hi?", "reply": {"text": "x"}}), ["test.jsonl:2: target ('reply') holds an object", "Write the reference text"]),
    "draft no target field": ("draft", yaml("target: reply, facts", "target: null, facts"), ["data.test.fields.target: a drafting task needs the reference text", "Set fields.target"]),
    "draft facts an object": ("draft", line("test.jsonl", {"id": "e2", "email": "Hi?", "reply": "x", "facts": {"a": 1}}), ["test.jsonl:2: facts ('facts') holds an object", "List the required facts"]),
    "draft input a number": ("draft", line("train.jsonl", {"email": 42, "reply": "x"}), ["train.jsonl:2: input ('email') is the number 42, not a string", "Write the item's input"]),
    "draft with labels": ("draft", yaml("kind: drafting", "kind: drafting\nlabels: [a]"), ["labels: a drafting task has no fixed answer set", "Remove labels"]),
    "draft duplicate corpus ids": ("draft", line("corpus.jsonl", {"id": "d1", "text": "again"}), ["corpus.jsonl:2: id 'd1' is used again", "its own id"]),
    "draft paraphrase of no document": ("draft", both(put("para.jsonl", '{"id": "d9", "text": "x"}\n'), yaml("  train:", "  paraphrases: {path: para.jsonl, fields: {id: id}}\n  train:")), ["para.jsonl:1: paraphrased document 'd9' is not in the corpus", "Fix the id"]),
    "draft paraphrases without ids": ("draft", both(put("para.jsonl", '{"id": "d1", "text": "x"}\n'), yaml("  train:", "  paraphrases: {path: para.jsonl}\n  train:")), ["data.paraphrases.fields.id: is not set", "Set fields.id"]),
}


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))


@pytest.mark.parametrize("case", list(CASES))
def test_each_breakage_gets_one_clear_message(case, tmp_path, capsys):
    kind, breakage, fragments = CASES[case]
    folder = build(tmp_path, kind)
    result = breakage(folder)
    folder, args = result if isinstance(result, tuple) else (result or folder, [])
    assert main(["validate", str(folder), *args]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("error: ")
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in:\n{err}"


def test_there_are_at_least_40_kinds_of_breakage_across_the_three_kinds():
    assert len(CASES) >= 40 and {kind for kind, _, _ in CASES.values()} == {"qa", "cls", "draft"}


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_valid_tasks_validate(kind, tmp_path, capsys):
    assert main(["validate", str(build(tmp_path, kind)), "retrieval.k=2", "--limit", "3"]) == 0
    assert f"{kind}: OK" in capsys.readouterr().out


def test_an_unreadable_file_is_named(tmp_path, monkeypatch, capsys):
    folder = build(tmp_path, "qa")
    path = folder / "train.jsonl"
    path.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the read fail as it would for a user
        real = Path.read_bytes
        monkeypatch.setattr(Path, "read_bytes", lambda p: (_ for _ in ()).throw(PermissionError(13, "Permission denied")) if p == path else real(p))
    assert main(["validate", str(folder)]) == 2
    assert "train.jsonl: cannot be read (Permission denied). Make it readable (chmod a+r)" in capsys.readouterr().err


@pytest.mark.parametrize("written, labels", [("[yes, no]", ["yes", "no"]), ("[Yes, NO]", ["Yes", "NO"]), ("[on, off]", ["on", "off"]),
                                             ("[1, 2.0]", ["1", "2.0"]), ('["yes", no]', ["yes", "no"]), ("\n  - true\n  - false", ["true", "false"])])
def test_labels_written_as_yaml_booleans_or_numbers_are_the_strings_written(written, labels, tmp_path):
    folder = build(tmp_path, "cls")
    (folder / "task.yaml").write_text(CLS["task.yaml"].replace("[billing, delivery]", written))
    (folder / "train.csv").write_text(f"text,label\nCharged twice,{labels[0]}\nWhere is my parcel,{labels[1]}\n")
    (folder / "test.csv").write_text(f"id,text,label\nt1,Extra fee,{labels[0]}\n")
    task = load_task(str(folder))
    assert task.spec.labels == labels and task.test[0].targets == (labels[0],)


def test_every_problem_is_listed_in_one_message(tmp_path, capsys):
    folder = build(tmp_path, "qa")
    for breakage in (line("corpus.jsonl", {"id": "d1", "text": None}), line("test.jsonl", "[1]"), yaml("{k: 2}", "{k: -3}")):
        breakage(folder)
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 3 problem(s) in task 'qa':\n- ") and err.count("\n- ") == 3
    assert "corpus.jsonl:3: id ('id') is null" not in err and "corpus.jsonl:3: text ('text') is null" in err


def test_many_bad_lines_are_counted_after_the_first_five(tmp_path, capsys):
    folder = build(tmp_path, "qa")
    for n in range(8):
        line("train.jsonl", f"not json {n}")(folder)
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert re.findall(r"train\.jsonl:(\d+): malformed", err) == ["3", "4", "5", "6", "7"]
    assert "train.jsonl: 3 more problems like these" in err


def test_validate_task_returns_the_resolved_settings(tmp_path):
    task, cfg = validate_task(str(build(tmp_path, "qa")), ["finetune.epochs=1"])
    assert task.name == "qa" and (cfg.retrieval.k, cfg.finetune.epochs) == (2, 1)


def test_run_refuses_a_broken_task_before_any_model_is_loaded(tmp_path, monkeypatch, capsys):
    import bench.run.pipeline as pipeline

    monkeypatch.setattr(pipeline, "prepare", lambda *a, **k: pytest.fail("the run started on a broken task"))
    folder = build(tmp_path, "qa")
    line("corpus.jsonl", b'{"id": "d3", "text": "caf\xe9"}')(folder)
    assert main(["run", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "corpus.jsonl:3: not UTF-8" in err and "Traceback" not in err
    (tmp_path / "other").mkdir()
    assert main(["run", str(build(tmp_path / "other", "qa")), "retrieval.k=-1"]) == 2
    assert "retrieval.k: must be 1 or more" in capsys.readouterr().err


def test_a_bug_is_one_line_pointing_to_a_log_with_the_traceback(tmp_path, monkeypatch, capsys):
    import bench.cli

    def broken(args):
        raise RuntimeError("boom\non two lines")

    monkeypatch.setattr(bench.cli, "cmd_list", broken)
    assert main(["list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    match = re.fullmatch(r"error: RuntimeError: boom on two lines \(this is a bug in ftrag; the traceback is in (.+)\)\n", err)
    log = Path(match.group(1))
    assert log.parent == tmp_path / "results" and log.name.startswith("ftrag-error-")
    assert "Traceback" in log.read_text() and "in broken" in log.read_text() and "ftrag list" in log.read_text()


def test_a_bug_log_falls_back_to_the_temp_folder(tmp_path, monkeypatch, capsys):
    import tempfile

    import bench.cli

    (tmp_path / "file").write_text("")
    monkeypatch.setenv("FTRAG_RESULTS_DIR", str(tmp_path / "file" / "results"))  # under a file: cannot be created
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(bench.cli, "cmd_list", lambda args: {}["missing"])
    assert main(["list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: KeyError: 'missing' (this is a bug in ftrag; the traceback is in ")
    assert len(list((tmp_path / "tmp").glob("ftrag-error-*.log"))) == 1


def test_a_reader_that_stops_early_is_no_error(tmp_path):
    """`ftrag list | head -1`: the pipe closes under ftrag, which stops quietly instead of reporting a bug."""
    done = subprocess.run(f"{sys.executable} -m bench list | head -1", shell=True, capture_output=True, text=True,
                          cwd=Path(__file__).parents[1], env={**os.environ, "FTRAG_RESULTS_DIR": str(tmp_path)})
    assert done.stdout.startswith("task") and done.stderr == "" and not list(tmp_path.glob("ftrag-error-*.log"))
