"""Reading a task's text files safely: a missing, unreadable, binary or non-UTF-8 file, or a huge line, becomes a
message naming the file, the line and the fix, never a traceback."""
from __future__ import annotations

import difflib
from pathlib import Path

from bench.records.errors import UserError

MAX_LINE_BYTES = 1_000_000  # a longer line is almost surely not a record (a whole file on one line, a binary blob)
MAX_SHOWN = 5  # bad lines reported per file; the rest are counted
BINARY_MAGIC = {b"PAR1": "a Parquet file", b"\x1f\x8b": "a gzip archive", b"PK\x03\x04": "a zip archive (xlsx, docx?)",
                b"%PDF": "a PDF"}


def read_bytes(path: Path, where: str | None = None) -> bytes:
    """The bytes of a file the task names; every way it can be absent or unreadable is one UserError.
    `where` (the task.yaml field that names the file) starts the message."""
    at = f"{where}: {path}" if where else str(path)
    if path.is_dir():
        raise UserError(f"{at} is a folder, not a file. Point the path at the file inside it.")
    if not path.exists():
        found = f"{where}: file not found: {path}." if where else f"{path}: file not found."
        raise UserError(f"{found}{_close_names(path)} Fix the path (relative paths start at the task folder).")
    try:
        return path.read_bytes()
    except OSError as err:
        raise UserError(f"{at}: cannot be read ({err.strerror or err}). Make it readable (chmod a+r) or fix the path.") from None


def _close_names(path: Path) -> str:
    try:
        names = [p.name for p in path.parent.iterdir()]
    except OSError:
        return ""
    close = difflib.get_close_matches(path.name, names, n=1)
    return f" Did you mean {close[0]}?" if close else ""


class Lines:
    """The decoded lines of a text file, with a problem for each line that could not be used."""

    def __init__(self, path: Path, data: bytes):
        self.path, self.problems, self.lines = path, [], []  # lines: (line number, text)
        if self._binary_file(data):
            return
        data = data.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark (Excel writes one)
        offset = 0
        for number, raw in enumerate(data.split(b"\n"), 1):
            text = self._decode(number, raw, offset)
            if text is not None:
                self.lines.append((number, text.removesuffix("\r")))
            offset += len(raw) + 1

    def _binary_file(self, data: bytes) -> bool:
        kind = next((name for magic, name in BINARY_MAGIC.items() if data.startswith(magic)), None)
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            self.problems.append(f"{self.path}: is UTF-16 text, not UTF-8. Save it as UTF-8.")
        elif kind:
            self.problems.append(f"{self.path}: is {kind}, not a text file. Export the data as JSONL, JSON or CSV "
                                 f"(or set format: parquet for a Parquet file).")
        return bool(self.problems)

    def _decode(self, number: int, raw: bytes, offset: int) -> str | None:
        where = f"{self.path}:{number}"
        if len(raw) > MAX_LINE_BYTES:
            return self.bad(f"{where}: line is {len(raw) / 1e6:.1f} MB long (the limit is {MAX_LINE_BYTES / 1e6:.0f} MB). "
                            f"Split it into several records, or check that the file is line-delimited.")
        if b"\x00" in raw:
            return self.bad(f"{where}: binary data (a NUL byte at byte offset {offset + raw.index(0)}). "
                            f"Remove that line; the file is not plain text there.")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as err:
            return self.bad(f"{where}: not UTF-8 (byte 0x{raw[err.start]:02x} at byte offset {offset + err.start}). "
                            f"Save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8), or fix that line.")

    def bad(self, message: str) -> None:
        self.problems.append(message)
        return None

    def text(self) -> str:
        return "\n".join(text for _, text in self.lines)


def capped(problems: list[str], source: Path | str) -> list[str]:
    """The first MAX_SHOWN problems of one file, and a count of the others."""
    if len(problems) <= MAX_SHOWN:
        return problems
    return problems[:MAX_SHOWN] + [f"{source}: {len(problems) - MAX_SHOWN} more problems like these "
                                   f"(fix the ones above and validate again to see them)."]
