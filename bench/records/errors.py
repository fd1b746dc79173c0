"""Errors a user can cause: each carries one message naming the file, the field and the fix."""
from __future__ import annotations

import difflib

from pydantic import ValidationError


class UserError(Exception):
    """Bad input from the user. The CLI prints the message and exits with status 2, without a traceback."""


def did_you_mean(name: str, choices: list[str], what: str) -> str:
    """'Unknown task 'synth_q'. Did you mean: synth_qa? Available: ...' (the lm-evaluation-harness habit)."""
    close = difflib.get_close_matches(name, choices, n=3)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return f"Unknown {what} '{name}'.{hint} Available: {', '.join(sorted(choices)) or '(none)'}"


def format_pydantic_errors(source: str, err: ValidationError) -> str:
    """Every problem pydantic found, one line each: `source: a.b.c: what was wrong`."""
    lines = []
    for problem in err.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        message = problem["msg"]
        if problem["type"] == "extra_forbidden":
            message = "unknown key (check its spelling against the documented keys)"
        elif problem["type"] == "missing":
            message = "required key is missing"
        lines.append(f"{source}: {where}: {message}")
    return "\n".join(lines)
