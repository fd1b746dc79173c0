"""File I/O every stage shares: one JSONL reader, atomic writes, durable appends.

A file is written to a temporary sibling and renamed into place, so a killed writer leaves the old file or
the new one, never half of one. Appends (predictions, batch by batch) are flushed to disk before returning.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

from bench.records.errors import UserError


def read_jsonl(path: Path, fix: str = "Fix or remove that line.") -> list[dict]:
    """One object per non-blank line; a malformed line is reported with its number and `fix`."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise UserError(f"{path}:{number}: malformed JSON line ({err.msg}). {fix}") from None
    return rows


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def append_lines(path: Path, lines: Iterable[str]) -> None:
    """Append whole lines in one write and flush them to disk: a kill leaves all of them or none (so a resumed run
    answers the same batches), and after this returns loses none."""
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, data)
        while written < len(data):  # a regular file takes it whole; this only guards a short write
            written += os.write(fd, data[written:])
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_writable(folder: Path, setting: str) -> None:
    """Fail before any work when a folder the run must write to cannot be written (or the disk is full)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-check.", dir=folder)
        os.write(fd, b"x" * 4096)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise UserError(f"{folder}: cannot write there ({err.strerror}). Free some space or fix its permissions, "
                        f"or set {setting} to a folder you can write.") from None
