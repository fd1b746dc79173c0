"""Reading a task's data files: JSONL, JSON, CSV or Parquet, into records that remember where they came from.

Each reader collects every problem it finds (malformed lines, lines that are not objects, ragged CSV rows...)
instead of stopping at the first, so one `ftrag validate` lists them all.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.data.textfile import Lines, capped, read_bytes
from bench.records.errors import UserError, describe
from bench.records.layout import REPO_ROOT

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
csv.field_size_limit(64 * 1024 * 1024)  # the default (128 KB) rejects a long document in a CSV cell


@dataclass
class Rows:
    """Records of one data part: `where[i]` says where `records[i]` came from ("file:line", "file: row 3")."""

    records: list[dict] = field(default_factory=list)
    where: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, record: dict, where: str) -> None:
        self.records.append(record)
        self.where.append(where)


def data_dir() -> Path | None:
    """FTRAG_DATA_DIR, else ../shared/data beside the repository when it exists."""
    if os.environ.get("FTRAG_DATA_DIR"):
        return Path(os.environ["FTRAG_DATA_DIR"])
    default = REPO_ROOT.parent / "shared" / "data"
    return default if default.is_dir() else None


def resolve_path(folder: Path, raw: str, where: str) -> Path:
    if "{data_dir}" in raw:
        root = data_dir()
        if root is None:
            raise UserError(f"{where}: '{raw}' needs the data directory: set FTRAG_DATA_DIR to the folder holding the datasets")
        raw = raw.replace("{data_dir}", str(root))
    path = Path(raw).expanduser()
    return path if path.is_absolute() else folder / path


def read_rows(path: Path, fmt: str, where: str) -> Rows:
    """Records of a JSONL, JSON, CSV or Parquet file; every malformed line is reported with its number."""
    if path.is_dir() or not path.exists():
        read_bytes(path, where)  # says what is wrong with the path
    fmt = fmt if fmt != "auto" else FORMATS.get(path.suffix.lower(), "")
    if not fmt:
        raise UserError(f"{where}: cannot tell the format of {path.name} from its extension. "
                        f"Set format: jsonl, json, csv or parquet (or rename the file).")
    if fmt == "parquet":
        return read_parquet(path, where)
    lines = Lines(path, read_bytes(path, where))
    rows = {"jsonl": read_jsonl_lines, "json": read_json_text, "csv": read_csv_text}[fmt](lines)
    rows.problems = capped(lines.problems + rows.problems, path)
    return rows


def read_jsonl_lines(lines: Lines) -> Rows:
    rows = Rows()
    for number, text in lines.lines:
        if not text.strip():
            continue
        where = f"{lines.path}:{number}"
        try:
            record = json.loads(text)
        except json.JSONDecodeError as err:
            rows.problems.append(f"{where}: malformed JSON line ({err.msg} at column {err.colno}). Fix or remove that line.")
            continue
        if isinstance(record, dict):
            rows.add(record, where)
        else:
            rows.problems.append(f"{where}: {describe(record)} where a JSON object was expected. "
                                 f"Write one object per line, e.g. {{\"id\": \"a1\", \"text\": \"...\"}}.")
    return rows


def read_json_text(lines: Lines) -> Rows:
    rows = Rows()
    if lines.problems:
        return rows  # a JSON document with a bad line cannot be parsed: the line problems say why
    try:
        data = json.loads(lines.text())
    except json.JSONDecodeError as err:
        rows.problems.append(f"{lines.path}:{err.lineno}: malformed JSON ({err.msg} at column {err.colno}). Fix the syntax there.")
        return rows
    records = data.get("data") if isinstance(data, dict) else data
    if not isinstance(records, list):
        rows.problems.append(f"{lines.path}: holds {describe(data)}, not a list of records. Write a JSON list of objects "
                             f"([{{...}}, {{...}}]) or {{\"data\": [...]}}, or use JSONL (one object per line).")
        return rows
    for number, record in enumerate(records, 1):
        if isinstance(record, dict):
            rows.add(record, f"{lines.path}: record {number}")
        else:
            rows.problems.append(f"{lines.path}: record {number} is {describe(record)}, not an object. Make every record an object {{...}}.")
    return rows


def read_csv_text(lines: Lines) -> Rows:
    rows = Rows()
    if lines.problems:
        return rows  # line numbers would shift past a dropped line: fix the encoding first
    reader = csv.reader(io.StringIO(lines.text(), newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return rows
        rows.problems += _header_problems(lines.path, header)
        start = reader.line_num + 1
        for values in reader:
            if any(v.strip() for v in values):
                _csv_record(rows, header, values, f"{lines.path}:{start}")
            start = reader.line_num + 1
    except csv.Error as err:
        rows.problems.append(f"{lines.path}:{reader.line_num}: not valid CSV ({err}). Fix the quoting on that line.")
    return rows


def _header_problems(path: Path, header: list[str]) -> list[str]:
    problems = []
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        problems.append(f"{path}:1: column {', '.join(repeated)} appears twice in the header. Give each column its own name.")
    if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
        problems.append(f"{path}:1: one column named '{header[0]}': the file is not comma-separated. "
                        f"Save it with commas (or convert it to JSONL).")
    return problems


def _csv_record(rows: Rows, header: list[str], values: list[str], where: str) -> None:
    if len(values) != len(header):
        rows.problems.append(f"{where}: {len(values)} values for {len(header)} columns ({', '.join(header)}). "
                             f"Quote values that hold commas (\"a, b\") or fix the row.")
    else:
        rows.add(dict(zip(header, values)), where)


def read_parquet(path: Path, where: str) -> Rows:
    head = read_bytes(path, where)[:4]
    if head != b"PAR1":
        raise UserError(f"{path}: not a Parquet file (it does not start with PAR1). Save it with "
                        f"pandas.DataFrame.to_parquet, or set format to the file's real format.")
    import pandas as pd  # imported when needed: most tasks never read Parquet, and pandas takes a while to import

    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow's errors: a truncated or corrupt file
        raise UserError(f"{path}: cannot read this Parquet file ({type(err).__name__}: {err}). Write it again with "
                        f"pandas.DataFrame.to_parquet.") from None
    rows = Rows()
    for number, record in enumerate(frame.to_dict("records"), 1):
        rows.add({str(k): plain(v) for k, v in record.items()}, f"{path}: row {number}")
    return rows


def plain(value: Any) -> Any:
    """A Parquet cell as JSON would hold it: arrays as lists, NaN and NA as null, numpy scalars as Python ones."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return None if type(value).__name__ in ("NAType", "NaTType") else value
