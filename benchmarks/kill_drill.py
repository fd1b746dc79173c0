"""Kill drill: SIGKILL a real run at random moments in every stage, restart it each time, and check that the final
results equal those of a run never interrupted.

    .venv/bin/python benchmarks/kill_drill.py [--task synth_qa] [--kills-per-stage 2] [--seed 0] [--keep /tmp/drill]

1. A reference run, uninterrupted, from an empty cache: its log's stage markers ("stage: <name>") give each
   stage's start and length (model conversion, index, each fine-tuning, each arm's answering, the fit check,
   scoring, the report).
2. The drill, from another empty cache: for each stage in turn, `--kills-per-stage` times, the command is started,
   waits for that stage to begin, runs a random share of the stage's reference length, and is SIGKILLed; then it
   is started again. Earlier stages come back from the cache, so every kill lands in the stage it aims at (a stage
   that finishes before its kill time is noted: the kill then lands in a later one or the run ends).
3. One last restart runs to the end; benchmarks/same_results.py compares its predictions and scores.json with the
   reference's (timings aside). Exit status 0 when they are the same and every restart finished.

The run is small but real (the embedded SmolLM2-135M and MiniLM): a few items per stratum, short fine-tuning with a
checkpoint every few seconds, so kills inside fine-tuning resume from a checkpoint.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SMALL = ["--limit", "3", "finetune.epochs=2", "finetune.corpus_epochs=1", "finetune.raft_epochs=1", "finetune.paraphrases=1",
         "finetune.fit_items=6", "finetune.checkpoint_minutes=0.05", "--run-id", "drill"]
STAGE = re.compile(r"stage: (\S+)")


@dataclass
class Attempt:
    target: str  # the stage the kill aims at
    delay: float  # seconds after that stage began
    killed_in: str | None  # the stage running when the kill landed (None: the run finished first)


def command(task: str) -> list[str]:
    return [sys.executable, "-m", "bench", "run", task, *SMALL]


def environment(root: Path) -> dict[str, str]:
    return {**os.environ, "FTRAG_CACHE_DIR": str(root / "cache"), "FTRAG_RESULTS_DIR": str(root / "results"), "PYTHONUNBUFFERED": "1"}


def watch(process: subprocess.Popen, target: str | None = None, delay: float = 0.0) -> tuple[dict[str, float], str | None]:
    """Read the run's log: (seconds at which each stage began, the stage a kill landed in, if one was asked for)."""
    began, started, current, deadline, pending = {}, time.perf_counter(), None, None, b""
    fd = process.stderr.fileno()
    os.set_blocking(fd, False)
    while process.poll() is None:
        try:
            pending += os.read(fd, 1 << 16)
        except BlockingIOError:
            pass
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if m := STAGE.search(line.decode("utf-8", "replace")):
                current = m.group(1)
                began[current] = time.perf_counter() - started
                if current == target:
                    deadline = time.perf_counter() + delay
        if deadline is not None and time.perf_counter() >= deadline:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return began, current
        time.sleep(0.05)
    return began, None


def reference(task: str, root: Path) -> dict[str, float]:
    """Each stage's length in an uninterrupted run."""
    began_at = time.perf_counter()
    process = subprocess.Popen(command(task), cwd=REPO, env=environment(root), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    began, _ = watch(process)
    if process.returncode != 0:
        sys.exit(f"the reference run failed (exit {process.returncode})")
    total = time.perf_counter() - began_at
    order = sorted(began, key=began.get)
    return {stage: (began[order[i + 1]] if i + 1 < len(order) else total) - began[stage] for i, stage in enumerate(order)}


def drill(task: str, root: Path, lengths: dict[str, float], kills_per_stage: int, rng: random.Random) -> list[Attempt]:
    attempts = []
    for stage in lengths:
        for _ in range(kills_per_stage):
            delay = rng.uniform(0.05, 0.95) * max(lengths[stage], 0.2)
            process = subprocess.Popen(command(task), cwd=REPO, env=environment(root), stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE)
            _, landed = watch(process, stage, delay)
            attempts.append(Attempt(stage, delay, landed))
            print(f"kill {len(attempts):2d}: aimed at {stage:<22} +{delay:6.1f} s -> "
                  + (f"killed in {landed}" if landed else f"run finished first (exit {process.returncode})"), flush=True)
    return attempts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="synth_qa")
    parser.add_argument("--kills-per-stage", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", help="folder for the two runs (default: a temporary folder)")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="ftrag-drill-"))
    began = time.perf_counter()
    lengths = reference(args.task, root / "reference")
    print("reference stages (s): " + ", ".join(f"{s} {t:.1f}" for s, t in lengths.items()), flush=True)
    attempts = drill(args.task, root / "drill", lengths, args.kills_per_stage, random.Random(args.seed))
    final = subprocess.run(command(args.task), cwd=REPO, env=environment(root / "drill"), capture_output=True, text=True)
    if final.returncode != 0:
        print(final.stderr[-3000:])
        return 1
    kills = [a for a in attempts if a.killed_in]
    print(f"{len(kills)} kills landed, in {len({a.killed_in for a in kills})} distinct stages; "
          f"{len(attempts) - len(kills)} runs finished before their kill; the last restart finished (exit 0)")
    same = subprocess.run([sys.executable, str(REPO / "benchmarks" / "same_results.py"),
                           str(root / "reference" / "results" / args.task / "drill"), str(root / "drill" / "results" / args.task / "drill")],
                          cwd=REPO, capture_output=True, text=True)
    print(same.stdout.strip())
    print(f"drill took {(time.perf_counter() - began) / 60:.1f} min; runs kept in {root}")
    return same.returncode


if __name__ == "__main__":
    sys.exit(main())
