"""Ray sweep drill: a sweep on a local Ray cluster, one worker SIGKILLed mid-cell, against the same sweep run locally.

    .venv/bin/python benchmarks/ray_sweep_drill.py [--kill-after 5] [--keep /tmp/ray-drill]

Needs Ray (`make setup-ray`). Two small generators built from a config (2 layers, SmolLM2's real tokenizer, widths
32 and 64) stand in for a model sweep, so the drill measures the orchestration, not the models:

1. the sweep with `--backend local`, one cell after another, from an empty cache;
2. `ray start --head --num-cpus 2` on this machine, then the same sweep with `--backend ray --address auto` from
   another empty cache; once both cells' workers are running (seen together: the cells run in parallel), one is
   SIGKILLed after `--kill-after` seconds. Ray retries its cell, which resumes from what the killed attempt cached;
3. `ray stop`; benchmarks/same_results.py compares each model's run folder from the two sweeps.

Prints what it saw and exits 0 when both sweeps finished, a worker was killed and retried, and the results agree.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# one thread in both sweeps, as Ray gives a cell of one CPU: other thread counts sum matmuls in other orders
SMALL = ["--limit", "3", "--arms", "base,rag,ft", "finetune.epochs=2", "finetune.corpus_epochs=1", "finetune.paraphrases=0",
         "finetune.fit_items=6", "finetune.checkpoint_minutes=0.02", "model.threads=1"]
WORKER = "ray::run_cell"
RAY = str(Path(sys.executable).parent / "ray")  # the ray command of this environment


def tiny_models(root: Path) -> list[Path]:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from bench.models.presets import GENERATOR_PRESETS

    gguf = GENERATOR_PRESETS["smollm2-135m"].gguf_file()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    folders = []
    for width in (32, 64):
        config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=width, intermediate_size=2 * width, num_hidden_layers=2,
                             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                             bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, tie_word_embeddings=True)
        torch.manual_seed(0)
        folder = root / f"tiny-{width}"
        LlamaForCausalLM(config).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        folders.append(folder)
    return folders


def environment(root: Path) -> dict[str, str]:
    return {**os.environ, "FTRAG_CACHE_DIR": str(root / "cache"), "FTRAG_RESULTS_DIR": str(root / "results"), "PYTHONUNBUFFERED": "1"}


def sweep(models: list[Path], root: Path, *backend: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "bench", "sweep", "synth_qa", "--models", ",".join(map(str, models)), *SMALL, *backend]
    log = open(root / "sweep.log", "w")
    return subprocess.Popen(command, cwd=REPO, env=environment(root), stdout=log, stderr=subprocess.STDOUT)


def workers() -> list[int]:
    found = subprocess.run(["pgrep", "-f", WORKER], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


def kill_one_worker(process: subprocess.Popen, kill_after: float) -> tuple[int, int]:
    """(most workers seen running at once, the pid killed or 0)."""
    most, began = 0, None
    while process.poll() is None:
        running = workers()
        most = max(most, len(running))
        if len(running) >= 2 and began is None:
            began = time.perf_counter()
        if began is not None and time.perf_counter() - began >= kill_after and running:
            os.kill(running[0], signal.SIGKILL)
            return most, running[0]
        time.sleep(0.2)
    return most, 0


def run_folders(root: Path) -> dict[str, Path]:
    return {folder.name: folder for folder in (root / "results" / "synth_qa").iterdir() if (folder / "scores.json").exists()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kill-after", type=float, default=5.0, help="seconds after both cells started")
    parser.add_argument("--keep", help="folder for the two sweeps (default: a temporary folder)")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="ray-drill-"))
    for part in ("local", "ray"):
        (root / part).mkdir(parents=True, exist_ok=True)
    models = tiny_models(root)

    began = time.perf_counter()
    local = sweep(models, root / "local")
    print(f"local sweep: exit {local.wait()} in {time.perf_counter() - began:.0f} s", flush=True)

    subprocess.run([RAY, "start", "--head", "--num-cpus", "2", "--disable-usage-stats"], check=True, capture_output=True)
    try:
        began = time.perf_counter()
        distributed = sweep(models, root / "ray", "--backend", "ray", "--address", "auto")
        most, killed = kill_one_worker(distributed, args.kill_after)
        status = distributed.wait()
        print(f"ray sweep: exit {status} in {time.perf_counter() - began:.0f} s; {most} cells running at once; "
              f"worker {killed or 'none'} SIGKILLed", flush=True)
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True)
    log = (root / "ray" / "sweep.log").read_text()
    retried = "retry" in log.lower() or "died" in log.lower() or "WorkerCrashedError" in log
    print(f"Ray's log notes the lost worker and the retry: {retried}; on the retry, artifacts reused: "
          f"{log.count('cached')} mentions, fine-tuning resumed from a checkpoint: {log.count('fine-tuning resumes')}")

    mine, theirs = run_folders(root / "local"), run_folders(root / "ray")
    same = set(mine) == set(theirs) and len(mine) == 2
    for name in sorted(mine):
        compared = subprocess.run([sys.executable, str(REPO / "benchmarks" / "same_results.py"), str(mine[name]), str(theirs.get(name, root))],
                                  cwd=REPO, capture_output=True, text=True)
        print(f"{name}: {'same results' if compared.returncode == 0 else 'DIFFERENT'}\n{compared.stdout.strip()}")
        same = same and compared.returncode == 0
    ok = local.returncode == 0 and status == 0 and killed and most >= 2 and same
    print("PASS" if ok else "FAIL", f"(folders in {root})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
