"""Training throughput of the fine-tuning loop on the embedded generator: prints tokens/second.

    .venv/bin/python benchmarks/train_speed.py [--model smollm2-135m] [--steps 6]

Compares the loss over answer positions only (logits_to_keep, what ftrag does) with the full LM head,
for short closed-book QA sequences and long RAFT sequences. Figures vary 2-6x with other load on the cores.
"""
from __future__ import annotations

import argparse
import random
import time

import torch
import torch.nn.functional as F

from bench.models.loading import format_prompt, load_tokenizer
from bench.models.presets import resolve_generator
from bench.records.config import FinetuneConfig
from bench.training.finetune import TrainPair, collate, encode_pair, prepare_model


def measure(model, tokenizer, pairs, batch_size: int, steps: int, answer_only: bool) -> float:
    encoded = [encode_pair(tokenizer, p, 512) for p in pairs]
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-5)
    tokens, began = 0, None
    for step in range(steps + 1):  # the first step warms up and is not timed
        if step == 1:
            began, tokens = time.perf_counter(), 0
        batch = encoded[(step * batch_size) % len(encoded):][:batch_size]
        ids, mask, pos, labels, keep = collate(batch, tokenizer.pad_token_id, "cpu")
        keep = keep if answer_only else ids.shape[1]
        logits = model(input_ids=ids, attention_mask=mask, position_ids=pos, logits_to_keep=keep).logits
        tail = logits[:, -labels.shape[1] - 1 : -1]
        F.cross_entropy(tail.reshape(-1, tail.shape[-1]), labels.reshape(-1), ignore_index=-100).backward()
        optimizer.step(), optimizer.zero_grad()
        tokens += int(mask.sum())
    return tokens / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--method", default="lora", choices=["lora", "full"])
    args = parser.parse_args()
    path = resolve_generator(args.model)
    tokenizer = load_tokenizer(path)
    rng = random.Random(0)
    words = "the kettle drone lamp router warranty price weight battery release compatible policy".split()
    doc = lambda n: " ".join(rng.choice(words) for _ in range(n))
    short = [TrainPair(format_prompt(tokenizer, f"Question: {doc(12)}?"), "$249") for _ in range(64)]
    long = [TrainPair(format_prompt(tokenizer, f"Documents:\n[1] {doc(80)}\n[2] {doc(80)}\nQuestion: {doc(12)}?"), "$249") for _ in range(64)]
    model = prepare_model(path, FinetuneConfig(method=args.method), "cpu")
    print(f"{args.model} {args.method}, torch threads {torch.get_num_threads()}")
    for name, pairs in (("closed-book QA", short), ("RAFT (2 chunks)", long)):
        length = sum(len(encode_pair(tokenizer, p, 512)[0]) for p in pairs) / len(pairs)
        for answer_only in (True, False):
            rate = measure(model, tokenizer, pairs, 8, args.steps, answer_only)
            print(f"{name:<16} {length:5.0f} tokens/seq  {'answer-only head' if answer_only else 'full LM head':<17} {rate:7.0f} tok/s")


if __name__ == "__main__":
    main()
