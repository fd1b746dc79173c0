"""What FSDP saves: one fine-tuning on the real generator trained in one process, in two with DDP and in two with
FSDP (`finetune.sharding=fsdp`), each process's peak memory and the three loss curves side by side.

    .venv/bin/python benchmarks/sharding_memory.py [--model smollm2-135m] [--method full] [--pairs 24]

The pairs are synth_qa's closed-book training pairs as the `ft` arm prompts them (train_speed.py's), one epoch in
batches of 8. The peak is rank 0's resident set over its training (a GPU's would be its peak allocation); on CPU the
two processes share the machine's memory, so their sum is what a run needs. Full fine-tuning shows sharding best:
weights, gradients and AdamW's two moments are all split, while LoRA's trainable state is small either way.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_speed import task_pairs  # noqa: E402

from bench.models.loading import load_tokenizer  # noqa: E402
from bench.models.presets import resolve_generator  # noqa: E402
from bench.records.config import FinetuneConfig  # noqa: E402
from bench.training.finetune import TrainPlan, train  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--method", default="full", choices=["full", "lora"])
    parser.add_argument("--pairs", type=int, default=24)
    args = parser.parse_args()
    path = resolve_generator(args.model)
    tokenizer = load_tokenizer(path)
    plan = TrainPlan([task_pairs(tokenizer, with_context=False)[: args.pairs]], [])
    base = FinetuneConfig(method=args.method, early_stopping=False)
    print(f"{args.model}, {args.method} fine-tuning, {args.pairs} pairs in batches of {base.batch_size}")
    print(f"{'training':<14}{'seconds':>9}{'rank-0 peak MB':>16}{'last loss':>11}{'max |loss - one|':>18}")
    reference = None
    for name, update in [("1 process", {}), ("2 x DDP", {"processes": 2}), ("2 x FSDP", {"processes": 2, "sharding": "fsdp"})]:
        with tempfile.TemporaryDirectory() as scratch:
            stats = train(path, tokenizer, plan, base.model_copy(update=update), 0, "cpu", Path(scratch) / "out",
                          Path(scratch) / "checkpoints")
        reference = reference or stats.losses
        drift = max(abs(a - b) for a, b in zip(stats.losses, reference))
        print(f"{name:<14}{stats.seconds:>9.1f}{stats.peak_rss_mb:>16,.0f}{stats.losses[-1]:>11.4f}{drift:>18.2e}", flush=True)


if __name__ == "__main__":
    main()
