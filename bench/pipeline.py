"""One run: task -> index -> fine-tune -> arms -> scores -> report. Each stage is cached; predictions resume."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import random
import resource
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import yaml

from bench import arms as armlib
from bench.cache import atomic_write_json, atomic_write_text, stage_key
from bench.choice import ChoiceResult, choose
from bench.config import RunConfig, resolve_config
from bench.errors import UserError
from bench.finetune import TrainStats, train_cached
from bench.generate import Generation, generate
from bench.models import count_parameters, load_generator, load_tokenizer, pick_device, resolve_embedder, resolve_generator
from bench.prompts import default_instruction
from bench.report import write_report
from bench.retrieval import IndexStats, build_retriever, load_embedder
from bench.scoring import metric_family, score_item, summarize
from bench.tasks import REPO_ROOT, Example, Task, load_task

log = logging.getLogger(__name__)


def results_dir() -> Path:
    return Path(os.environ.get("FTRAG_RESULTS_DIR", REPO_ROOT / "results"))


def select_items(test: list[Example], limit: int | None) -> list[Example]:
    """The first `limit` items of each stratum, in file order (the files are shuffled once, by their author)."""
    taken: dict[str, int] = {}
    chosen = []
    for item in test:
        if limit is None or taken.get(item.stratum, 0) < limit:
            chosen.append(item)
            taken[item.stratum] = taken.get(item.stratum, 0) + 1
    return chosen


@dataclass
class Stage:
    """What a run needs beyond its config, built once: tokenizer, context sources, adapters and their costs."""

    cfg: RunConfig
    task: Task
    run_dir: Path
    device: str
    generator_path: str
    sources: armlib.Sources
    n_params: int = 0
    index_stats: IndexStats | None = None
    adapters: dict[tuple[str, int], Path] = field(default_factory=dict)  # (weights, seed) -> adapter
    train_stats: dict[tuple[str, int], TrainStats] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    memory_mb: dict[str, float] = field(default_factory=dict)  # peak memory at the end of each stage

    @property
    def choices(self) -> list[str] | None:
        """The allowed answers when items are answered by log-likelihood choice, else None (generation)."""
        mode, labels = self.cfg.answer_mode, self.task.spec.labels
        return labels if labels and mode in ("auto", "loglik") else None

    @property
    def family(self) -> str:
        return metric_family(self.task.spec.kind, self.task.spec.labels)

    @property
    def max_new_tokens(self) -> int:
        return self.cfg.generation.max_new_tokens or (160 if self.task.spec.kind == "drafting" else 24)


def run(task_name: str, overrides: list[str] = (), run_id: str | None = None) -> Path:
    task = load_task(task_name)
    cfg = resolve_config(task.name, task.spec.overrides, overrides)
    if cfg.answer_mode == "loglik" and not task.spec.labels:
        raise UserError(f"answer_mode=loglik needs a fixed answer set: task '{task.name}' lists no labels.")
    run_dir = results_dir() / task.name / (run_id or f"{Path(cfg.model.generator).name}-{cfg.digest()}")
    atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(cfg.model_dump(), sort_keys=False))
    stage = prepare(cfg, task, run_dir)
    items = select_items(task.test, cfg.limit)
    for name in cfg.arms:
        began = time.perf_counter()
        answer_arm(stage, armlib.ARMS[name], items, cfg.seeds[0])
        stage.timings[f"answer:{name}"] = time.perf_counter() - began
        stage.memory_mb[f"answer:{name}"] = peak_memory_mb(stage.device)
        if armlib.ARMS[name].weights != "base":
            for seed in cfg.seeds[1:]:
                answer_arm(stage, armlib.ARMS[name], items, seed)
    scores = summarize(stage, items)
    atomic_write_json(run_dir / "scores.json", scores)
    write_report(run_dir, scores)
    return run_dir


def prepare(cfg: RunConfig, task: Task, run_dir: Path) -> Stage:
    if cfg.model.threads:
        torch.set_num_threads(cfg.model.threads)
    device = pick_device(cfg.model.device)
    began = time.perf_counter()
    generator_path = resolve_generator(cfg.model.generator)
    kind, labels = task.spec.kind, task.spec.labels
    sources = armlib.Sources(kind, task.spec.prompts.instruction or default_instruction(kind, labels),
                             load_tokenizer(generator_path), armlib.fewshot_examples(task.train, cfg.fewshot_k, cfg.seed),
                             cfg.retrieval.k, cfg.knn_k)
    stage = Stage(cfg, task, run_dir, device, generator_path, sources, count_parameters(generator_path))
    stage.timings["load_model"] = time.perf_counter() - began
    if any(armlib.ARMS[a].context == "retrieval" for a in cfg.arms):
        began = time.perf_counter()
        embedder = load_embedder(resolve_embedder(cfg.model.embedder), device)
        if task.corpus:
            sources.retriever, stage.index_stats = build_retriever(task.corpus, cfg.model.embedder, embedder, cfg.retrieval)
        if kind == "classification" and task.train:
            example_retriever, example_stats = build_retriever(armlib.examples_as_docs(task.train), cfg.model.embedder,
                                                               embedder, cfg.retrieval)
            sources.example_index = armlib.ExampleIndex(example_retriever, task.train)
            # embedding the training examples is RAG's one-off cost here, as embedding a corpus is
            stage.index_stats = example_stats.plus(stage.index_stats)
        stage.timings["index"] = time.perf_counter() - began
    for weights in sorted({armlib.ARMS[a].weights for a in cfg.arms} - {"base"}):
        for seed in cfg.seeds:
            began = time.perf_counter()
            stage.adapters[weights, seed], stage.train_stats[weights, seed] = finetune(stage, weights, seed)
            stage.timings[f"finetune:{weights}:seed{seed}"] = time.perf_counter() - began
            stage.memory_mb[f"finetune:{weights}:seed{seed}"] = peak_memory_mb(device)
    return stage


def peak_memory_mb(device: str) -> float:
    """GPU: peak allocated since the last call (then reset). CPU: the process's peak resident set so far."""
    if device == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**20
        torch.cuda.reset_peak_memory_stats()
        return peak
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def training_sample(train: list[Example], limit: int | None, seed: int) -> list[Example]:
    """At most `limit` training examples, a seeded sample taken evenly across targets (labels stay balanced)."""
    if limit is None or len(train) <= limit:
        return train
    rng = random.Random(seed)
    by_target: dict[str, list[Example]] = {}
    for ex in rng.sample(train, len(train)):
        by_target.setdefault(ex.targets[0] if ex.targets else "", []).append(ex)
    queues = list(by_target.values())
    sample: list[Example] = []
    while len(sample) < limit:  # round robin over targets
        for queue in queues:
            if queue and len(sample) < limit:
                sample.append(queue.pop())
    return sample


def finetune(stage: Stage, weights: str, seed: int) -> tuple[Path, TrainStats]:
    cfg, task = stage.cfg.finetune, stage.task
    train = training_sample(task.train, cfg.max_examples, stage.cfg.seed)
    if not train:
        raise UserError(f"task '{task.name}' has no training examples: arm '{weights}' needs data.train (or drop it with --arms).")
    if weights == "ft":
        pairs = armlib.ft_pairs(train, task.corpus, stage.sources, cfg.epochs, cfg.corpus_epochs)
    else:
        pairs = armlib.raft_pairs(train, stage.sources, cfg.raft_gold_fraction, cfg.raft_epochs, seed)
    return train_cached(stage.generator_path, stage.sources.tokenizer, pairs, cfg, 1, seed, stage.device)


def predictions_path(stage: Stage, arm: armlib.Arm, seed: int) -> Path:
    """`<arm>.jsonl` for the first fine-tuning seed (and for base-model arms); `<arm>@seed<n>.jsonl` for the others."""
    suffix = "" if arm.weights == "base" or seed == stage.cfg.seeds[0] else f"@seed{seed}"
    return stage.run_dir / "predictions" / f"{arm.name}{suffix}.jsonl"


def predictions_key(stage: Stage, arm: armlib.Arm, items: list[Example], seed: int) -> str:
    cfg, src = stage.cfg, stage.sources
    return stage_key("predictions", arm, stage.generator_path, str(stage.adapters.get((arm.weights, seed), "")),
                     src.instruction, [asdict(it) for it in items], stage.choices, stage.max_new_tokens,
                     cfg.retrieval.model_dump() if arm.context == "retrieval" else None, cfg.knn_k,
                     [ex.id for ex in src.shots] if arm.context == "fewshot" else None, cfg.model.embedder)


def read_done(path: Path, key: str) -> dict[str, dict]:
    """Predictions already written under this key. A line cut short by a kill is dropped and redone."""
    key_file = path.with_suffix(".key")
    if not path.exists() or not key_file.exists() or key_file.read_text().strip() != key:
        return {}
    done = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        done[record["id"]] = record
    return done


def answer_arm(stage: Stage, arm: armlib.Arm, items: list[Example], seed: int) -> None:
    """Answer every item not yet answered, appending records in batches so a killed run loses one batch at most."""
    path = predictions_path(stage, arm, seed)
    key = predictions_key(stage, arm, items, seed)
    done = read_done(path, key)
    todo = [it for it in items if it.id not in done]
    if not todo:
        log.info("%s: all %d predictions cached", path.stem, len(items))
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    # rewrite the clean records first: drops a torn last line and any records of items no longer selected
    atomic_write_text(path, "".join(json.dumps(done[it.id], ensure_ascii=False) + "\n" for it in items if it.id in done))
    atomic_write_text(path.with_suffix(".key"), key + "\n")
    began = time.perf_counter()
    model, tokenizer = load_generator(stage.generator_path, stage.device, stage.adapters.get((arm.weights, seed)))
    flush_every = stage.cfg.generation.batch_size * 2
    for start in range(0, len(todo), flush_every):
        part = todo[start : start + flush_every]
        prompted = armlib.build_prompts(arm, part, stage.sources)
        desc = f"{path.stem} {start + len(part)}/{len(todo)}"
        if stage.choices:
            outputs = choose(model, tokenizer, [p.prompt for p in prompted], stage.choices, desc=desc)
        else:
            outputs = generate(model, tokenizer, [p.prompt for p in prompted], stage.max_new_tokens, stage.cfg.generation.batch_size,
                               stop_at_newline=stage.task.spec.kind != "drafting", desc=desc)
        # stored with the records, so a later cached re-run still reports the memory this arm needed
        memory = {"peak_memory_mb": peak_memory_mb(stage.device)}
        with open(path, "a", encoding="utf-8") as handle:
            for p, out in zip(prompted, outputs):
                handle.write(json.dumps(prediction_record(stage, p, out) | memory, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    del model
    log.info("%s: answered %d items in %.0f s", path.stem, len(todo), time.perf_counter() - began)


def prediction_record(stage: Stage, prompted: armlib.PromptedItem, out: Generation | ChoiceResult) -> dict:
    item = prompted.item
    choice = isinstance(out, ChoiceResult)
    text = out.label if choice else out.text
    record = {
        "id": item.id,
        "stratum": item.stratum,
        "input": item.input,
        "prompt_hash": hashlib.sha256(prompted.prompt.encode()).hexdigest()[:16],
        "retrieved": [c.id for c in prompted.retrieved],
        "examples": list(prompted.neighbours),
        "output": text,
        "gold": list(item.targets),
        "scores": score_item(stage.family, item, text, [c.doc_id for c in prompted.retrieved], stage.task.spec.labels,
                             dict(zip(stage.choices, out.probs)) if choice else None),
        "prompt_tokens": out.prompt_tokens,
        "output_tokens": 0 if choice else out.output_tokens,
        "seconds": round(out.seconds, 4),
    }
    if choice:
        record["probs"] = [round(p, 5) for p in out.probs]
    if item.facts:
        record["facts"] = list(item.facts)
    return record


def environment() -> dict:
    import importlib.metadata as md

    packages = ["torch", "transformers", "peft", "sentence-transformers", "faiss-cpu"]
    return {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}",
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "packages": {p: md.version(p) for p in packages},
    }
