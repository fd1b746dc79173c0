"""Do two runs give the same results? Every prediction and every figure of scores.json, timings aside.

    .venv/bin/python benchmarks/same_results.py RUN_A RUN_B

Predictions are compared on what the arm produced (id, prompt hash, retrieved chunks, examples shown, output,
label log-probabilities, tokens); scores.json on every figure that does not come from a clock (seconds, money
derived from seconds, memory, CPU share, stage timings, the machine). A run written by an older ftrag (scores.json
version 1, scores inside each prediction) is read too, so a refactoring can be checked against the code before it.
Prints each difference and exits 1 if there is any.
"""
from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

from bench.eval.migrate import upgrade_scores

PREDICTION_FIELDS = ("id", "prompt_hash", "retrieved", "examples", "output", "choice_logprobs", "prompt_tokens", "output_tokens")
# figures measured by a clock or the machine, and what is derived from them: these differ between any two runs
TIMED = re.compile(r"(seconds|usd|peak_|memory|cpu_share|break_even|timings|environment|cached|hour_rate|"
                   r"generator_path|\.path$)")


def predictions(run: Path) -> dict[str, dict]:
    rows = {}
    for path in sorted((run / "predictions").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            rows[f"{path.stem}/{record['id']}"] = {k: record.get(k) for k in PREDICTION_FIELDS if k in record}
    return rows


def flat(value, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in flat(item, f"{prefix}{key}.").items()}
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return {k: v for i, item in enumerate(value) for k, v in flat(item, f"{prefix}{i}.").items()}
    return {prefix.rstrip("."): value}


def figures(run: Path) -> dict[str, object]:
    scores = upgrade_scores(json.loads((run / "scores.json").read_text()), str(run / "scores.json"))
    data = scores.model_dump(exclude={"definitions", "schema_version"})
    return {k: v for k, v in flat(data).items() if not TIMED.search(k)}


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def differences(a: dict, b: dict, what: str) -> list[str]:
    found = [f"{what} {key}: only in the first run" for key in a.keys() - b.keys()]
    found += [f"{what} {key}: only in the second run" for key in b.keys() - a.keys()]
    for key in sorted(a.keys() & b.keys()):
        shared = set(a[key]) & set(b[key]) if isinstance(a[key], dict) else None
        left, right = ({k: a[key][k] for k in shared}, {k: b[key][k] for k in shared}) if shared else (a[key], b[key])
        if not same(left, right):
            found.append(f"{what} {key}: {left!r} != {right!r}")
    return found


def main(argv: list[str]) -> int:
    first, second = (Path(p) for p in argv)
    found = differences(predictions(first), predictions(second), "prediction")
    found += differences(figures(first), figures(second), "figure")
    print("\n".join(found[:50]) + (f"\n... and {len(found) - 50} more" if len(found) > 50 else ""))
    n_pred, n_fig = len(predictions(first)), len(figures(first))
    print(f"{'SAME' if not found else 'DIFFERENT'}: {n_pred} predictions, {n_fig} figures compared "
          f"(timings, money from seconds and memory left out); {len(found)} difference(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
