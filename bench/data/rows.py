"""Records to typed documents and examples, checking every value a run relies on: each bad value is one message
naming the line, the column and the fix."""
from __future__ import annotations

from bench.data.readers import Rows
from bench.data.spec import DataPart
from bench.data.textfile import capped
from bench.records.errors import describe
from bench.records.items import ABSTAIN_ANSWER, Doc, Example

SCALAR = (str, int, float)


class Checker:
    """Reads the columns of one record; every value that is missing or of the wrong type becomes a problem."""

    def __init__(self, record: dict, where: str, problems: list[str]):
        self.record, self.where, self.problems = record, where, problems

    def bad(self, role: str, column: str, what: str, fix: str) -> None:
        self.problems.append(f"{self.where}: {role} ('{column}') {what}. {fix}.")

    def text(self, role: str, column: str, fix: str) -> str | None:
        """A non-empty string (a number is taken as its text for ids and strata)."""
        value = self.record.get(column)
        if value is None:
            return self.bad(role, column, "is missing" if column not in self.record else "is null", fix)
        if isinstance(value, bool) or not isinstance(value, str if role in ("text", "input") else SCALAR):
            return self.bad(role, column, f"is {describe(value)}, not a string", fix)
        text = str(value)
        if not text.strip():
            return self.bad(role, column, "is empty", fix)
        return text

    def values(self, role: str, column: str | None, fix: str) -> tuple[str, ...]:
        """A list of non-empty strings (or numbers), or one of them; null or absent is no values."""
        value = self.record.get(column) if column else None
        if value is None:
            return ()
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if isinstance(item, bool) or not isinstance(item, SCALAR):
                self.bad(role, column, f"holds {describe(item)}", fix)
                return ()
            if not str(item).strip():
                self.bad(role, column, "holds an empty string" if isinstance(value, (list, tuple)) else "is empty", fix)
                return ()
        return tuple(str(item) for item in items)


def missing_columns(rows: Rows, wanted: dict[str, str | None], where: str, name: str) -> list[str]:
    present = set().union(*(record.keys() for record in rows.records))
    return [
        f"{where}.fields.{role}: column '{column}' is not in {name} (columns: {', '.join(sorted(present))}). "
        f"Set fields.{role} to the column that holds the {role}."
        for role, column in wanted.items() if column and column not in present
    ]


def to_docs(rows: Rows, part: DataPart, where: str, name: str) -> tuple[list[tuple[Doc, str]], list[str]]:
    """(document, where it came from) for each good record, and a problem for each bad one."""
    f = part.fields
    problems = missing_columns(rows, {"id": f.id, "text": f.text, "title": f.title}, where, name)
    if problems:
        return [], problems
    docs = []
    for i, (record, at) in enumerate(zip(rows.records, rows.where)):
        check = Checker(record, at, problems)
        doc_id = check.text("id", f.id, "Give every document a unique id") if f.id else f"doc-{i}"
        text = check.text("text", f.text, "Give every document its text as a string, or remove that record")
        title = (record.get(f.title) if f.title else None) or ""
        if isinstance(title, bool) or not isinstance(title, SCALAR):
            check.bad("title", f.title, f"is {describe(title)}, not a string", "Write the title as a string")
        if doc_id is not None and text is not None:
            docs.append((Doc(doc_id, str(title), text), at))
    return docs, capped(problems, name)


def to_examples(rows: Rows, part: DataPart, where: str, name: str, kind: str,
                default_stratum: str) -> tuple[list[tuple[Example, str]], list[str]]:
    """(example, where it came from) for each good record, and a problem for each bad one."""
    f = part.fields
    wanted = {"id": f.id, "input": f.input, "target": f.target, "stratum": f.stratum, "gold_docs": f.gold_docs,
              "facts": f.facts, "evidence": f.evidence}
    problems = missing_columns(rows, wanted, where, name)
    if problems:
        return [], problems
    prefix = where.split(".")[-1]
    examples = []
    for i, (record, at) in enumerate(zip(rows.records, rows.where)):
        check = Checker(record, at, problems)
        ex = Example(
            id=check.text("id", f.id, "Give every item a unique id (or drop fields.id to number them)") if f.id else f"{prefix}-{i}",
            input=check.text("input", f.input, "Write the item's input as a string, or remove that record"),
            targets=targets(check, kind, f.target),
            stratum=check.text("stratum", f.stratum, "Give every item its stratum, or drop fields.stratum") if f.stratum else default_stratum,
            gold_docs=check.values("gold_docs", f.gold_docs, "List the ids of the documents that hold the answer, e.g. [\"doc-1\"]"),
            facts=check.values("facts", f.facts, "List the required facts as strings"),
            evidence=check.values("evidence", f.evidence, "List the known values as strings"),
        )
        if ex.id is not None and ex.input is not None and ex.stratum is not None:
            examples.append((ex, at))
    return examples, capped(problems, name)


def targets(check: Checker, kind: str, column: str | None) -> tuple[str, ...]:
    """Accepted answers (qa), the label (classification) or the reference text (drafting).

    The declining answer as a qa target marks an unanswerable example (no accepted answer)."""
    if column is None:
        return ()
    value = check.record.get(column)
    if kind == "qa":
        found = check.values("target", column, "Write the answer as a string or a list of accepted answers "
                                               "([] for a question the corpus cannot answer)")
        return () if [v.strip().lower() for v in found] == [ABSTAIN_ANSWER.lower()] else found
    fix = ("Give every item its label, one of labels, as a string" if kind == "classification"
           else "Write the reference text that drafts are scored against")
    if value is None or value == [] or isinstance(value, str) and not value.strip():
        check.bad("target", column, "is missing" if column not in check.record else "is empty" if value is not None else "is null", fix)
        return ()
    return check.values("target", column, fix)
