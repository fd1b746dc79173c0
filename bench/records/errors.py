"""Errors a user can cause: each carries one message naming the file, the field and the fix.

Anything else that escapes a command is a bug in ftrag: `bug_report` writes its traceback to a log file and
gives the one line the user sees.
"""
from __future__ import annotations

import difflib
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from pydantic import ValidationError


class UserError(Exception):
    """Bad input from the user. The CLI prints the message and exits with status 2, without a traceback.

    `problems` holds each problem found (one message each); the error's text is them, one a line."""

    def __init__(self, *problems: str):
        super().__init__("\n".join(problems))
        self.problems = list(problems)

    @classmethod
    def listing(cls, header: str, problems: list[str]) -> UserError:
        """One error for many problems: the header, then each problem on its own '- ' line."""
        err = cls(f"{header}\n- " + "\n- ".join(problems))
        err.problems = list(problems)
        return err


def did_you_mean(name: str, choices: list[str], what: str) -> str:
    """'Unknown task 'synth_q'. Did you mean: synth_qa? Available: ...' (the lm-evaluation-harness habit)."""
    close = difflib.get_close_matches(name, choices, n=3)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return f"Unknown {what} '{name}'.{hint} Available: {', '.join(sorted(choices)) or '(none)'}"


def describe(value: Any, width: int = 40) -> str:
    """A value as a message shows it: null, true (a boolean), the number 3, 'text', a list [...], an object {...}."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return repr(value if len(value) <= width else value[:width] + "...")
    shown = repr(value)
    shown = shown if len(shown) <= width else shown[:width] + "..."
    return f"an object {shown}" if isinstance(value, dict) else f"a list {shown}"


# pydantic's error type -> what is wrong and how to fix it; {found} is the value given, {ctx keys} its limits
_PYDANTIC_HINTS = {
    "string_type": "must be text, found {found}. Write it as a string (quote it: \"...\")",
    "int_type": "must be a whole number, found {found}. Write a number such as 3",
    "int_parsing": "must be a whole number, found {found}. Write a number such as 3",
    "int_from_float": "must be a whole number, found {found}. Drop the fraction",
    "float_type": "must be a number, found {found}. Write a number such as 0.5",
    "float_parsing": "must be a number, found {found}. Write a number such as 0.5",
    "bool_type": "must be true or false, found {found}. Write true or false",
    "bool_parsing": "must be true or false, found {found}. Write true or false",
    "list_type": "must be a list, found {found}. Write it as [a, b]",
    "dict_type": "must be a mapping of keys, found {found}. Write it as {{key: value}}",
    "model_type": "must be a mapping of keys, found {found}. Write it as {{key: value}}",
    "model_attributes_type": "must be a mapping of keys, found {found}. Write it as {{key: value}}",
    "greater_than_equal": "must be {ge} or more, found {found}",
    "greater_than": "must be more than {gt}, found {found}",
    "less_than_equal": "must be {le} or less, found {found}",
    "less_than": "must be less than {lt}, found {found}",
    "too_short": "must not be empty. Give at least {min_length} entry",
    "extra_forbidden": "unknown key (check its spelling against the documented keys)",
    "missing": "required key is missing. Add it",
}


def pydantic_problems(source: str, err: ValidationError, prefix: str = "") -> list[str]:
    """Each problem pydantic found: `source: prefix.a.b: what is wrong. How to fix it`."""
    lines = []
    for problem in err.errors():
        where = prefix + ".".join(str(part) for part in problem["loc"]) or "(top level)"
        hint = _PYDANTIC_HINTS.get(problem["type"])
        found = describe(problem.get("input"))
        if hint:
            message = hint.format(found=found, **problem.get("ctx", {}))
        elif problem["type"] == "value_error":
            message = problem["msg"].removeprefix("Value error, ")
        else:  # e.g. literal_error: "Input should be 'qa', 'classification' or 'drafting'"
            message = f"{problem['msg']}, found {found}"
        lines.append(f"{source}: {where}: {message}" + ("" if message.endswith((".", "?", "!")) else "."))
    return lines


def format_pydantic_errors(source: str, err: ValidationError) -> str:
    """Every problem pydantic found, one line each: `source: a.b.c: what was wrong`."""
    return "\n".join(pydantic_problems(source, err))


def bug_report(err: BaseException, folder: Path, argv: list[str]) -> str:
    """Write `err`'s traceback to `folder/ftrag-error-<time>.log` (else the temp folder); the one line to show."""
    text = "".join([f"ftrag {' '.join(argv)}\npython {sys.version.split()[0]}\n\n",
                    *traceback.format_exception(type(err), err, err.__traceback__)])
    name = f"ftrag-error-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    where = "the traceback could not be saved"
    for candidate in (folder, Path(tempfile.gettempdir())):
        try:
            candidate.mkdir(parents=True, exist_ok=True)
            (candidate / name).write_text(text, encoding="utf-8")
            where = f"the traceback is in {candidate / name}"
            break
        except OSError:
            continue
    message = " ".join(str(err).split()) or "(no message)"
    return f"error: {type(err).__name__}: {message} (this is a bug in ftrag; {where})"
