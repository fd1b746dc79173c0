"""Training throughput of ftrag's fine-tuning step on the embedded generator: tokens/second and MFU.

    .venv/bin/python benchmarks/train_speed.py [--model smollm2-135m] [--steps 6] [--methods lora,full] [--precision auto]

Runs ftrag's own step (`answer_loss` over parts of at most `finetune.batch_tokens`, AdamW) on synth_qa's training
pairs as the `ft` arm prompts them (closed-book QA) and as `ft_rag` does (two chunks of context before the question),
once with the prompt prefix every row shares run once per part and once with every row run whole.

Training runs in `--precision`, as `finetune.precision` (auto: for LoRA bf16 where bf16 matmuls are fast and oneDNN can
multiply from packed frozen weights, all else fp32; full fine-tuning fp32 on a CPU; bf16: LoRA over packed or bf16
frozen weights, full fine-tuning under bf16 autocast). Tokens/s counts every token of every row. MFU is the model FLOPs
per second over the median matmul peak in that precision (2048 x 2048, these threads), read after each of the line's
steps, outside their timing: on shared cores the peak drifts within a minute (on 2 AMD EPYC Zen 3 cores one line's six
fp32 readings spanned 101-148 GFLOP/s), so a line is held against the peak of its own seconds, and the readings' range
is printed beside it. bf16's peak is ~3x fp32's on AMD EPYC Zen 4 and ~5x on Xeons with AMX, so bf16 runs faster at a
lower MFU; a bf16 line also gives its fraction of the fp32 peak. It counts the model FLOPs as training's own count does
(`bench/models/flops.py`, PaLM's MFU with causal attention's half of the score matrix): per token the model ran (a
part's shared prefix once, each row's own tokens, not padding: so sharing the prefix shows as more tokens/s, not as a
higher MFU), per target token the LM head scores, per (query, key) pair attention relates. The forward pass that rows
over `finetune.recompute_over` tokens run again is not counted (so recomputing shows as a lower MFU). Figures vary 2-6x
with other load on the cores. Like the ftrag command, it runs on mimalloc unless FTRAG_ALLOCATOR says otherwise.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from bench.arms.prompts import QA_INSTRUCTION, build_user_text
from bench.models.flops import model_flops, part_flops
from bench.models.loading import format_prompt, load_tokenizer
from bench.models.packing import pack_frozen
from bench.models.presets import resolve_generator
from bench.records.config import FinetuneConfig
from bench.records.manifest import ModelFlops
from bench.run.allocator import bound_onednn_cache, restart_with_allocator
from bench.training import prefix
from bench.training.compute import autocast, fused_adamw, kv_heads_shared, packs_frozen, training_precision
from bench.training.finetune import TrainPair, answer_loss, encode_pair, prepare_model
from bench.training.parts import scored_position_weight, split_by_tokens

TASK = Path(__file__).resolve().parent.parent / "tasks" / "synth_qa"


def read_jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (TASK / name).read_text().splitlines() if line.strip()]


def matmul_peak(dtype: torch.dtype = torch.float32, size: int = 2048, seconds: float = 1.0) -> float:
    """Measured matmul FLOP/s in `dtype` on these threads (the best of three timings of about `seconds` each: a CPU
    without bf16 kernels takes ~13 s for one bf16 product of this size, where a Xeon with AMX takes 6 ms)."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    began = time.perf_counter()
    a @ b  # warms up, and sizes the timed runs
    reps = max(1, min(10, round(seconds / (time.perf_counter() - began))))
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        for _ in range(reps):
            a @ b
        best = min(best, (time.perf_counter() - began) / reps)
    return 2 * size**3 / best


PEAK_DTYPES = {"bf16": torch.bfloat16, "fp32": torch.float32}
ONE_PRODUCT_A_SECOND = 2 * 2048**3  # FLOP/s at which one of matmul_peak's products takes a second


def peak_names(precision: str) -> list[str]:
    return ["bf16", "fp32"] if precision == "bf16" else ["fp32"]


def sample_peaks(precision: str, samples: dict[str, list[float]]) -> None:
    """One reading of the matmul peak in each precision the line reports, added to `samples`. Where the first bf16
    reading took over a second a product (a CPU without bf16 kernels), bf16 is not read again."""
    for name in peak_names(precision):
        if name == "fp32" or not samples.get(name) or samples[name][0] > ONE_PRODUCT_A_SECOND:
            samples.setdefault(name, []).append(matmul_peak(PEAK_DTYPES[name], seconds=0.2))


def mfu(flops: float, precision: str, samples: dict[str, list[float]]) -> str:
    """`flops` a second as a fraction of the median of the matmul peaks sampled between the line's steps, with their
    range. A bf16 line also gives its fraction of the fp32 peak."""
    fractions = []
    for name in peak_names(precision):
        peaks, median = samples[name], statistics.median(samples[name])
        fractions.append(f"MFU {flops / median:5.1%} of {name}'s peak ({median / 1e9:.0f} GFLOP/s; "
                         f"{min(peaks) / 1e9:.0f}-{max(peaks) / 1e9:.0f} over {len(peaks)} readings)")
    return " ".join(fractions)


def task_pairs(tokenizer, with_context: bool) -> list[TrainPair]:
    train = read_jsonl("train.jsonl")
    docs = {d["id"]: d["text"] for d in read_jsonl("corpus.jsonl")}
    pairs = []
    for i, row in enumerate(train[:64]):
        context = ""
        if with_context:  # the gold page (if any) and distractors, as ft_rag's training prompts hold
            pages = [docs[d] for d in row["doc_ids"]] + list(docs.values())[i % len(docs):]
            context = f"Documents:\n[1] {pages[0]}\n[2] {pages[1]}"
        pairs.append(TrainPair(format_prompt(tokenizer, build_user_text(row["question"], QA_INSTRUCTION, context)),
                               row["answer"]))
    return pairs


def tokens_per_second(model, tokenizer, encoded, cfg: FinetuneConfig, steps: int, rates: ModelFlops,
                      scored_weight: float, between=lambda: None) -> tuple[float, float]:
    """Training throughput over `steps` timed steps: every token of every row a second, and the model FLOPs a second
    (`part_flops`), which the MFU counts. `between` runs after each step, outside the timing."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-5, fused=fused_adamw(cfg, "cpu"))  # as the trainer's
    tokens, done, seconds = 0, 0.0, 0.0
    for step in range(steps + 1):  # the first step warms up and is not counted
        began = time.perf_counter()
        batch = encoded[(step * cfg.batch_size) % len(encoded):][: cfg.batch_size]
        targets, flops = sum(n for _, n in batch), 0.0
        for part in split_by_tokens(batch, cfg.batch_tokens, True, scored_weight):
            with autocast(cfg, "cpu"):
                loss = answer_loss(model, part, tokenizer.pad_token_id, "cpu", "sum", recompute_over=cfg.recompute_over) / targets
            loss.backward()
            flops += part_flops(part, rates, prefix.part_prefix(part))
        torch.nn.utils.clip_grad_norm_(params, 1.0)  # as Trainer.step: clip, update, drop the gradients
        optimizer.step(), optimizer.zero_grad(set_to_none=True)
        if step:
            seconds += time.perf_counter() - began
            tokens, done = tokens + sum(len(ids) for ids, _ in batch), done + flops
            between()
    return tokens / seconds, done / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--methods", default="lora,full")
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto", help="as finetune.precision")
    args = parser.parse_args()
    bound_onednn_cache()  # as the ftrag command does, and its malloc (FTRAG_ALLOCATOR), so the figures are its
    restart_with_allocator()
    path = resolve_generator(args.model)
    tokenizer = load_tokenizer(path)
    print(f"{args.model}, torch threads {torch.get_num_threads()}")
    sets = {name: [encode_pair(tokenizer, p, 384) for p in task_pairs(tokenizer, context)]
            for name, context in (("closed-book QA", False), ("RAFT (2 chunks)", True))}
    shared_min = prefix.SHARED_PREFIX_MIN
    for method in args.methods.split(","):
        cfg = FinetuneConfig(method=method, precision=args.precision)
        cfg = cfg.model_copy(update={"precision": training_precision(cfg, "cpu")})
        model = prepare_model(path, cfg, "cpu")
        rates, scored_weight = model_flops(model), scored_position_weight(model, cfg.precision)
        if packs_frozen(cfg, "cpu"):  # as training does, after counting: packed weights are no longer parameters
            pack_frozen(model)
        for name, encoded in sets.items():
            length = sum(len(ids) for ids, _ in encoded) / len(encoded)
            for shared in (True, False):
                prefix.SHARED_PREFIX_MIN = shared_min if shared else 10**9
                peaks: dict[str, list[float]] = {}
                with kv_heads_shared("cpu"):  # as train_encoded's epochs run
                    rate, done = tokens_per_second(model, tokenizer, encoded, cfg, args.steps, rates,
                                                   scored_weight, lambda: sample_peaks(cfg.precision, peaks))
                print(f"{method:<4} {cfg.precision} {name:<16} {length:4.0f} tokens/seq  "
                      f"{'shared prefix once' if shared else 'every row whole':<18} {rate:6.0f} tok/s  "
                      f"{mfu(done, cfg.precision, peaks)}", flush=True)
        prefix.SHARED_PREFIX_MIN = shared_min
        del model


if __name__ == "__main__":
    main()
