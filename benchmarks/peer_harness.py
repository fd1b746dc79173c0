"""Peer-harness check: the `base` arm's constrained-choice answers against EleutherAI's lm-evaluation-harness.

    .venv/bin/python benchmarks/peer_harness.py [--model smollm2-135m|PATH] [--task pubmedqa] [--limit 50] [--chat-template off]

Both sides see the same items (`select_items`, the first `limit` test items per stratum), the same prompts (the
base arm's own: task instruction, no context, `format_prompt`) and the same weights (a local folder; lm-eval loads
it again through its HF backend, `lm_eval.models.huggingface.HFLM`). ftrag answers with `bench.models.choice.choose`;
lm-eval scores a `multiple_choice` task built in memory (a `ConfigurableTask` whose `custom_dataset` returns the
items as a `datasets.Dataset`, run with `lm_eval.evaluator.evaluate`, offline). Prints both accuracies, the share of
items where both pick the same choice and how far their per-choice log-likelihoods are apart; exits 1 when the
accuracies differ by more than one item.

How lm-eval builds the continuation: `target_delimiter + choice`, after moving the context's trailing whitespace
into it. A plain prompt ends with "Answer:" and ftrag scores " yes": delimiter " ", identical tokens. A chat prompt
ends with "<|im_start|>assistant\\n" and ftrag scores "yes": delimiter "", but lm-eval then scores "\\nyes" after a
context without the newline, i.e. its log-likelihood also counts log P("\\n" | context) -- one term, the same for
every choice of an item, so rankings and accuracy are unaffected. The report calls it the per-item offset and also
compares the log-likelihoods with it removed (each item's choices minus their mean).
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import numpy as np  # noqa: E402

import bench.models.choice as choice  # noqa: E402
from bench.arms.prompts import default_instruction  # noqa: E402
from bench.arms.sources import Sources, build_prompts  # noqa: E402
from bench.data.tasks import load_task, select_items  # noqa: E402
from bench.models.loading import load_generator, load_tokenizer, uses_chat_template  # noqa: E402
from bench.models.presets import resolve_generator  # noqa: E402
from bench.records.arms import ARMS  # noqa: E402
from bench.records.items import Example  # noqa: E402

PEER_TASK = "ftrag_peer_choice"


@dataclass
class Side:
    """One harness's answers: per-choice summed log-likelihoods (items x choices) and the item accuracy."""

    loglik: np.ndarray
    accuracy: float

    @property
    def predicted(self) -> np.ndarray:
        return self.loglik.argmax(1)


@dataclass
class Comparison:
    ids: list[str]
    choices: list[str]
    gold: list[int]
    ftrag: Side
    peer: Side
    target_delimiter: str

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def agreement(self) -> float:
        return float((self.ftrag.predicted == self.peer.predicted).mean())

    @property
    def disagreeing(self) -> list[str]:
        return [i for i, a, b in zip(self.ids, self.ftrag.predicted, self.peer.predicted) if a != b]

    @property
    def max_abs_diff(self) -> float:
        """Raw per-choice log-likelihoods, lm-eval minus ftrag."""
        return float(np.abs(self.peer.loglik - self.ftrag.loglik).max())

    @property
    def offsets(self) -> np.ndarray:
        """Per item, the mean over choices of lm-eval minus ftrag: the moved-whitespace term (0 for plain prompts)."""
        return (self.peer.loglik - self.ftrag.loglik).mean(1)

    @property
    def max_abs_diff_without_offset(self) -> float:
        return float(np.abs(self.peer.loglik - self.ftrag.loglik - self.offsets[:, None]).max())

    @property
    def correct_counts(self) -> tuple[int, int]:
        return round(self.ftrag.accuracy * self.n), round(self.peer.accuracy * self.n)

    def report(self) -> str:
        (ftrag_correct, peer_correct), n = self.correct_counts, self.n
        lines = [
            f"items: {n}   choices: {self.choices}   target_delimiter: {self.target_delimiter!r}",
            f"ftrag choose   accuracy: {self.ftrag.accuracy:.4f} ({ftrag_correct}/{n})",
            f"lm-eval acc    accuracy: {self.peer.accuracy:.4f} ({peer_correct}/{n})",
            f"same predicted choice: {self.agreement:.4f} ({n - len(self.disagreeing)}/{n})"
            + (f"   differ on: {', '.join(self.disagreeing)}" if self.disagreeing else ""),
            f"max |loglik diff| per choice: {self.max_abs_diff:.3g}",
            f"per-item offset (lm-eval - ftrag, mean over choices): min {self.offsets.min():.4g}, max {self.offsets.max():.4g}",
            f"max |loglik diff| per choice, offset removed: {self.max_abs_diff_without_offset:.3g}",
        ]
        return "\n".join(lines)


def base_arm_prompts(tokenizer, items: list[Example], kind: str, instruction: str) -> list[str]:
    """The prompts ftrag's `base` arm sends: its own prompt builder with no shots and no retrieval."""
    sources = Sources(kind, instruction, tokenizer, shots=[], k=0, knn_k=0)
    return [p.prompt for p in build_prompts(ARMS["base"], items, sources)]


def target_delimiter(tokenizer) -> str:
    """What lm-eval puts between context and choice so that its choice text is ftrag's (`choice_token_ids`)."""
    return "" if uses_chat_template(tokenizer) else " "


def ftrag_side(model, tokenizer, prompts: list[str], items: list[Example], choices: list[str]) -> Side:
    """Answer with `choose`, which returns the summed log-likelihood of every choice it ranked."""
    results = choice.choose(model, tokenizer, prompts, choices, desc="ftrag")
    loglik = np.array([r.logprobs for r in results], dtype=np.float64)
    if [choices[i] for i in loglik.argmax(1)] != [r.label for r in results]:
        raise RuntimeError("choose's labels are not the argmax of its log-likelihoods")
    return Side(loglik, float(np.mean([r.label in it.targets for it, r in zip(items, results)])))


def peer_task(prompts: list[str], gold: list[int], choices: list[str], delimiter: str):
    """A zero-shot multiple_choice lm-eval task over in-memory rows: the context is the prompt as formatted."""
    import datasets
    from lm_eval.api.task import ConfigurableTask

    rows = {"prompt": prompts, "gold": gold}
    return ConfigurableTask(config={
        "task": PEER_TASK,
        "custom_dataset": lambda **_: datasets.DatasetDict({"test": datasets.Dataset.from_dict(rows)}),
        "test_split": "test",
        "output_type": "multiple_choice",
        "doc_to_text": lambda doc: doc["prompt"],
        "doc_to_target": lambda doc: doc["gold"],
        "doc_to_choice": list(choices),
        "target_delimiter": delimiter,
        "description": "",
        "num_fewshot": 0,
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
    })


def agreement_precision(device: str) -> str:
    """bf16 on a GPU, as ftrag answers there; fp32 on a CPU, even where ftrag's auto picks bf16, so that the two
    harnesses' log-likelihoods can agree to the check's tolerance."""
    return "bf16" if device.startswith("cuda") else "fp32"


def peer_side(model_path: str, prompts: list[str], gold: list[int], choices: list[str], delimiter: str,
              device: str = "cpu", batch_size: int = 8) -> Side:
    """lm-eval's HF backend loads the same folder and scores the task (no chat template: prompts are formatted)."""
    from lm_eval.evaluator import evaluate
    from lm_eval.models.huggingface import HFLM

    dtype = "bfloat16" if agreement_precision(device) == "bf16" else "float32"  # as ftrag's side
    lm = HFLM(pretrained=model_path, device=device, dtype=dtype, softmax_dtype="float32", batch_size=batch_size)
    task = peer_task(prompts, gold, choices, delimiter)
    out = evaluate(lm=lm, task_dict={"tasks": {PEER_TASK: task}, "groups": {}, "group_map": {}},
                   bootstrap_iters=0, log_samples=True)
    samples = sorted(out["samples"][PEER_TASK], key=lambda s: s["doc_id"])
    for s in samples:
        contexts = {args[0] for args in s["arguments"]}
        if contexts != {prompts[s["doc_id"]]}:
            raise RuntimeError(f"lm-eval's context for item {s['doc_id']} is not ftrag's prompt: {contexts}")
    loglik = np.array([[float(resp[0]) for resp in s["filtered_resps"]] for s in samples], dtype=np.float64)
    return Side(loglik, float(out["results"][PEER_TASK]["acc,none"]))


def compare(model_path: str, items: list[Example], kind: str, choices: list[str], instruction: str | None = None,
            device: str = "cpu", batch_size: int = 8, chat_template: str = "auto") -> Comparison:
    """Both harnesses on the same items, prompts and weights. Gold = the index of the item's first target."""
    tokenizer = load_tokenizer(model_path, chat_template)
    prompts = base_arm_prompts(tokenizer, items, kind, instruction or default_instruction(kind, choices))
    gold = [choices.index(it.targets[0]) for it in items]
    model, tokenizer = load_generator(model_path, device, chat_template=chat_template, precision=agreement_precision(device))
    ftrag = ftrag_side(model, tokenizer, prompts, items, choices)
    del model
    delimiter = target_delimiter(tokenizer)
    peer = peer_side(model_path, prompts, gold, choices, delimiter, device, batch_size)
    return Comparison([it.id for it in items], list(choices), gold, ftrag, peer, delimiter)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="a generator preset or a local model folder")
    parser.add_argument("--task", default="pubmedqa", help="a task with a fixed label set")
    parser.add_argument("--limit", type=int, default=50, help="test items per stratum (as ftrag's limit)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=8, help="lm-eval's batch size")
    parser.add_argument("--chat-template", default="auto", choices=["auto", "on", "off"],
                        help="as model.chat_template: off sends plain '...\\nAnswer:' prompts, as lm-eval's own tasks do")
    args = parser.parse_args(argv)
    task = load_task(args.task)
    labels = task.spec.labels
    if not labels:
        parser.error(f"task '{task.name}' lists no labels: the base arm generates, there is no choice to compare")
    items = select_items(task.test, args.limit)
    model_path = resolve_generator(args.model)
    print(f"model: {args.model} ({model_path})   task: {task.name}   limit: {args.limit}", flush=True)
    result = compare(model_path, items, task.spec.kind, labels, task.spec.prompts.instruction, args.device, args.batch_size,
                     args.chat_template)
    print(result.report())
    ftrag_correct, peer_correct = result.correct_counts
    agree = abs(ftrag_correct - peer_correct) <= 1
    print(f"verdict: {'AGREE' if agree else 'DISAGREE'} (accuracies differ by {abs(ftrag_correct - peer_correct)} item(s); at most 1 allowed)")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
