"""Reading a task's data files: JSONL, JSON, CSV, Parquet or a Hugging Face dataset, into plain rows."""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from bench.data.spec import DataPart
from bench.records.errors import UserError
from bench.records.io import read_jsonl
from bench.records.layout import REPO_ROOT


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
    path = Path(raw)
    return path if path.is_absolute() else folder / path


def read_rows(path: Path, fmt: str, where: str) -> list[dict]:
    """Rows of a JSONL, JSON, CSV or Parquet file; a malformed line is reported with its number."""
    if not path.is_file():
        raise UserError(f"{where}: file not found: {path}. Fix the path (relative paths start at the task folder).")
    fmt = fmt if fmt != "auto" else {".jsonl": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}.get(path.suffix, "")
    if fmt == "jsonl":
        return read_jsonl(path)
    if fmt == "json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise UserError(f"{path}: line {err.lineno}: malformed JSON ({err.msg}).") from None
        return data if isinstance(data, list) else data.get("data", [])
    if fmt == "csv":
        with open(path, newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    if fmt == "parquet":
        import pandas as pd  # imported when needed: most tasks never read Parquet, and pandas takes a while to import

        return pd.read_parquet(path).to_dict("records")
    raise UserError(f"{where}: cannot tell the format of {path.name}: set format to jsonl, json, csv or parquet")


def read_hf_rows(part: DataPart, where: str) -> list[dict]:
    try:
        import datasets  # imported when needed: only tasks named by a Hugging Face id use it

        return list(datasets.load_dataset(part.hf, split=part.split or "train"))
    except Exception as err:  # network, unknown id, missing split: all user-fixable
        raise UserError(f"{where}: could not load Hugging Face dataset '{part.hf}' ({err}). Check the id and split, and that you are online.") from None
