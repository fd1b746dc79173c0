"""ftrag against lm-evaluation-harness, side by side: the same requests, the same weights, the same threads, timed.

    .venv/bin/python benchmarks/vs_lm_eval.py [--model smollm2-135m] [--choice-task pubmedqa] [--qa-task covid_qa]
                                              [--limit 20] [--threads 2] [--precision auto] [--repeats 3]

Two kinds of request, each built from the base arm's own prompts (task instruction, no context):
- log-likelihood: every (prompt, choice) pair of a label-choice task; ftrag's `choose` against lm-eval's
  `HFLM.loglikelihood` (the requests an lm-eval multiple_choice task sends, delimiter as in peer_harness.py);
- greedy generation: the QA task's prompts, up to 24 new tokens, stopping at a line break; ftrag's `generate`
  against lm-eval's `HFLM.generate_until` (until "\\n", do_sample False).
Both sides run in the precision ftrag answers in here (`generation.precision`: auto is bf16 on a CPU with fast bf16
matmuls, else fp32; `--precision fp32` forces fp32 on both). Both load the same folder once, untimed; only answering
is timed, one side after the other in one process, `--repeats` times in turn (so that a machine whose speed drifts
slows both alike). Prints each side's median seconds, the ratio (lm-eval / ftrag: above 1 means ftrag is faster)
and whether every choice and every output agree. Figures move 2-6x with other load on the cores:
run it on a quiet machine.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import torch  # noqa: E402

from bench.arms.prompts import default_instruction  # noqa: E402
from bench.data.tasks import load_task, select_items  # noqa: E402
from bench.models.choice import choose  # noqa: E402
from bench.models.generate import generate  # noqa: E402
from bench.models.device import resolve_precision  # noqa: E402
from bench.models.loading import load_generator  # noqa: E402
from bench.models.presets import resolve_generator  # noqa: E402
from benchmarks.peer_harness import base_arm_prompts, target_delimiter  # noqa: E402

MAX_NEW_TOKENS = 24


def prompts_for(task_name: str, limit: int, tokenizer) -> tuple[list[str], list[str] | None]:
    task = load_task(task_name)
    items = select_items(task.test, limit)
    spec = task.spec
    instruction = spec.prompts.instruction or default_instruction(spec.kind, spec.labels)
    return base_arm_prompts(tokenizer, items, spec.kind, instruction), spec.labels


def side_by_side(ours, theirs, repeats: int) -> tuple[list, list, float, float]:
    """Both sides' results (from the first round) and median seconds over `repeats` rounds, run in turn."""
    results, seconds = [None, None], [[], []]
    for round_number in range(repeats):
        for side, work in enumerate((ours, theirs)):
            began = time.perf_counter()
            result = work()
            seconds[side].append(time.perf_counter() - began)
            if round_number == 0:
                results[side] = result
    return results[0], results[1], statistics.median(seconds[0]), statistics.median(seconds[1])


def peer_loglik(lm, prompts: list[str], choices: list[str], delimiter: str) -> list[str]:
    from lm_eval.api.instance import Instance

    requests = [Instance("loglikelihood", {}, (prompt, delimiter + choice), i)
                for i, (prompt, choice) in enumerate((p, c) for p in prompts for c in choices)]
    scores = [loglik for loglik, _ in lm.loglikelihood(requests, disable_tqdm=True)]
    rows = [scores[i : i + len(choices)] for i in range(0, len(scores), len(choices))]
    return [choices[max(range(len(row)), key=row.__getitem__)] for row in rows]


def peer_generate(lm, prompts: list[str]) -> list[str]:
    from lm_eval.api.instance import Instance

    kwargs = {"until": ["\n"], "max_gen_toks": MAX_NEW_TOKENS, "do_sample": False}
    requests = [Instance("generate_until", {}, (prompt, dict(kwargs)), i) for i, prompt in enumerate(prompts)]
    return [text.split("\n", 1)[0].strip() for text in lm.generate_until(requests, disable_tqdm=True)]


def line(name: str, ours: float, theirs: float, same: int, n: int) -> str:
    return (f"{name:<15} ftrag {ours:7.2f} s   lm-eval {theirs:7.2f} s   ratio {theirs / ours:5.2f}x   "
            f"identical {same}/{n}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="a generator preset, HF id or local folder")
    parser.add_argument("--choice-task", default="pubmedqa", help="a task with a fixed label set")
    parser.add_argument("--qa-task", default="covid_qa", help="a task answered by generation")
    parser.add_argument("--limit", type=int, default=20, help="test items per stratum of each task")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16, help="generation batch size of both sides")
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto", help="as generation.precision, on both sides")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds of each side, in turn; the median is printed")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from lm_eval.models.huggingface import HFLM

    path = resolve_generator(args.model)
    precision = resolve_precision(args.precision, "cpu")
    model, tokenizer = load_generator(path, "cpu", precision=precision)
    lm = HFLM(pretrained=path, device="cpu", dtype="bfloat16" if precision == "bf16" else "float32", softmax_dtype="float32",
              batch_size=args.batch_size)
    choice_prompts, choices = prompts_for(args.choice_task, args.limit, tokenizer)
    qa_prompts, _ = prompts_for(args.qa_task, args.limit, tokenizer)
    if not choices:
        parser.error(f"task '{args.choice_task}' lists no labels: there is no choice to score")
    print(f"model {args.model} ({path}) in {precision}, torch threads {torch.get_num_threads()}: {len(choice_prompts)} "
          f"{args.choice_task} prompts x {len(choices)} choices, {len(qa_prompts)} {args.qa_task} prompts", flush=True)

    ours, theirs, our_seconds, their_seconds = side_by_side(
        lambda: [r.label for r in choose(model, tokenizer, choice_prompts, choices)],
        lambda: peer_loglik(lm, choice_prompts, choices, target_delimiter(tokenizer)), args.repeats)
    same_choices = sum(a == b for a, b in zip(ours, theirs))
    print(line("log-likelihood", our_seconds, their_seconds, same_choices, len(ours)), flush=True)

    ours, theirs, gen_seconds, their_gen_seconds = side_by_side(
        lambda: [g.text for g in generate(model, tokenizer, qa_prompts, MAX_NEW_TOKENS, args.batch_size)],
        lambda: peer_generate(lm, qa_prompts), args.repeats)
    same_outputs = sum(a == b for a, b in zip(ours, theirs))
    print(line("generation", gen_seconds, their_gen_seconds, same_outputs, len(ours)))
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if a != b:
            print(f"  differs on prompt {i}: ftrag {a!r}  lm-eval {b!r}")
    return 0 if same_choices == len(choice_prompts) and same_outputs == len(qa_prompts) else 1


if __name__ == "__main__":
    sys.exit(main())
