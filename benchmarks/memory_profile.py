"""Where a run's time and memory go, stage by stage: seconds and each stage's own peak memory.

    .venv/bin/python benchmarks/memory_profile.py [TASK] [--fresh] [-- key=value ...]

Runs `ftrag run TASK` (with `--fresh`, in an empty temporary cache, so every stage is built, not read back) and
prints the table from the run's `run.json`: per stage the wall time and the peak resident set reached during that
stage alone (on CPU the kernel's VmHWM, reset at each stage start; see bench.models.device.peak_memory_mb), then the
run's wall time and its peak, the largest stage peak (the resets also reset the kernel's ru_maxrss, so a child's
rusage would show only the last stage's).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def profile(task: str, overrides: list[str], fresh: bool) -> tuple[Path, float]:
    """Run the task; return (run folder, wall seconds)."""
    env = dict(os.environ)
    if fresh:
        env["FTRAG_CACHE_DIR"] = tempfile.mkdtemp(prefix="ftrag-profile-cache-")
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bench", "run", task, *overrides], env=env, stdout=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - began
    if done.returncode:
        sys.exit(done.returncode)
    report = Path(done.stdout.strip().splitlines()[-1].split()[-1])
    return report.parent, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", nargs="?", default="synth_qa")
    parser.add_argument("--fresh", action="store_true", help="an empty cache: model conversion, index and adapters built")
    parser.add_argument("overrides", nargs="*", help="settings and options as for ftrag run (key=value, --run-id ID), after --")
    args, rest = parser.parse_known_args()  # argparse takes neither "--" nor ftrag's own options as positionals here
    folder, seconds = profile(args.task, args.overrides + [a for a in rest if a != "--"], args.fresh)
    run = json.loads((folder / "run.json").read_text())
    memory = run.get("stage_memory_mb", {})
    print(f"{'stage':<28} {'seconds':>8} {'peak MB':>8}")
    for stage, spent in run["timings"].items():
        print(f"{stage:<28} {spent:8.1f} {memory.get(stage, float('nan')):8.0f}")
    print(f"{'whole run (wall)':<28} {seconds:8.1f} {max(memory.values(), default=float('nan')):8.0f}")


if __name__ == "__main__":
    main()
