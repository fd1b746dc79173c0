"""One run: task -> index -> fine-tune -> arms -> scores -> report. Each stage is cached; predictions resume."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import yaml

from bench import arms as armlib
from bench.cache import atomic_write_json, atomic_write_text, stage_key
from bench.config import RunConfig, resolve_config
from bench.finetune import TrainStats, train_cached
from bench.generate import generate
from bench.models import count_parameters, load_generator, load_tokenizer, pick_device, resolve_embedder, resolve_generator
from bench.prompts import DEFAULT_INSTRUCTIONS
from bench.report import write_report
from bench.retrieval import IndexStats, Retriever, build_retriever, load_embedder
from bench.scoring import score_item, summarize
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
    """What a run needs beyond its config, built once: tokenizer, retriever, adapters and their costs."""

    cfg: RunConfig
    task: Task
    run_dir: Path
    device: str
    generator_path: str
    tokenizer: object
    instruction: str
    n_params: int = 0
    retriever: Retriever | None = None
    index_stats: IndexStats | None = None
    adapters: dict[str, Path] = field(default_factory=dict)
    train_stats: dict[str, TrainStats] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def run(task_name: str, overrides: list[str] = (), run_id: str | None = None) -> Path:
    task = load_task(task_name)
    cfg = resolve_config(task.name, task.spec.overrides, overrides)
    run_dir = results_dir() / task.name / (run_id or f"{Path(cfg.model.generator).name}-{cfg.digest()}")
    atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(cfg.model_dump(), sort_keys=False))
    stage = prepare(cfg, task, run_dir)
    items = select_items(task.test, cfg.limit)
    for name in cfg.arms:
        began = time.perf_counter()
        answer_arm(stage, armlib.ARMS[name], items)
        stage.timings[f"answer:{name}"] = time.perf_counter() - began
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
    instruction = task.spec.prompts.instruction or DEFAULT_INSTRUCTIONS[task.spec.kind]
    stage = Stage(cfg, task, run_dir, device, generator_path, load_tokenizer(generator_path), instruction,
                  count_parameters(generator_path))
    stage.timings["load_model"] = time.perf_counter() - began
    needs_index = any(armlib.ARMS[a].context == "retrieval" for a in cfg.arms)
    if needs_index:
        began = time.perf_counter()
        embedder = load_embedder(resolve_embedder(cfg.model.embedder), device)
        stage.retriever, stage.index_stats = build_retriever(task.corpus, cfg.model.embedder, embedder, cfg.retrieval)
        stage.timings["index"] = time.perf_counter() - began
    for weights in sorted({armlib.ARMS[a].weights for a in cfg.arms} - {"base"}):
        began = time.perf_counter()
        stage.adapters[weights], stage.train_stats[weights] = finetune(stage, weights)
        stage.timings[f"finetune:{weights}"] = time.perf_counter() - began
    return stage


def finetune(stage: Stage, weights: str) -> tuple[Path, TrainStats]:
    cfg, task = stage.cfg.finetune, stage.task
    if weights == "ft":
        pairs = armlib.ft_pairs(task.train, task.corpus, stage.tokenizer, stage.instruction, cfg.epochs, cfg.corpus_epochs)
    else:
        pairs = armlib.raft_pairs(task.train, stage.retriever, stage.tokenizer, stage.instruction, cfg.raft_distractors,
                                  cfg.raft_gold_fraction, cfg.raft_epochs, stage.cfg.seed)
    return train_cached(stage.generator_path, stage.tokenizer, pairs, cfg, 1, stage.cfg.seed, stage.device)


def predictions_key(stage: Stage, arm: armlib.Arm, items: list[Example]) -> str:
    cfg = stage.cfg
    return stage_key("predictions", arm, stage.generator_path, str(stage.adapters.get(arm.weights, "")),
                     stage.instruction, [asdict(it) for it in items], cfg.generation.model_dump(),
                     cfg.retrieval.model_dump() if arm.context == "retrieval" else None,
                     [cfg.fewshot_k, cfg.seed] if arm.context == "fewshot" else None, cfg.model.embedder)


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


def answer_arm(stage: Stage, arm: armlib.Arm, items: list[Example]) -> None:
    """Answer every item not yet answered, appending records in batches so a killed run loses one batch at most."""
    path = stage.run_dir / "predictions" / f"{arm.name}.jsonl"
    key = predictions_key(stage, arm, items)
    done = read_done(path, key)
    todo = [it for it in items if it.id not in done]
    if not todo:
        log.info("%s: all %d predictions cached", arm.name, len(items))
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    # rewrite the clean records first: drops a torn last line and any records of items no longer selected
    atomic_write_text(path, "".join(json.dumps(done[it.id], ensure_ascii=False) + "\n" for it in items if it.id in done))
    atomic_write_text(path.with_suffix(".key"), key + "\n")
    model, _ = load_generator(stage.generator_path, stage.device, stage.adapters.get(arm.weights))
    shots = armlib.fewshot_examples(stage.task.train, stage.cfg.fewshot_k, stage.cfg.seed)
    gen = stage.cfg.generation
    flush_every = gen.batch_size * 2
    for start in range(0, len(todo), flush_every):
        part = todo[start : start + flush_every]
        prompted = armlib.build_prompts(arm, part, stage.tokenizer, stage.instruction, stage.retriever, shots, stage.cfg.retrieval.k)
        outputs = generate(model, stage.tokenizer, [p.prompt for p in prompted], gen.max_new_tokens, gen.batch_size,
                           stop_at_newline=stage.task.spec.kind != "drafting", desc=f"{arm.name} {start + len(part)}/{len(todo)}")
        with open(path, "a", encoding="utf-8") as handle:
            for p, out in zip(prompted, outputs):
                handle.write(json.dumps(prediction_record(stage, p, out), ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    del model


def prediction_record(stage: Stage, prompted: armlib.PromptedItem, out) -> dict:
    item = prompted.item
    retrieved_docs = [c.doc_id for c in prompted.retrieved]
    return {
        "id": item.id,
        "stratum": item.stratum,
        "input": item.input,
        "prompt_hash": hashlib.sha256(prompted.prompt.encode()).hexdigest()[:16],
        "retrieved": [c.id for c in prompted.retrieved],
        "output": out.text,
        "gold": list(item.targets),
        "scores": score_item(stage.task.spec.kind, item, out.text, retrieved_docs),
        "prompt_tokens": out.prompt_tokens,
        "output_tokens": out.output_tokens,
        "seconds": round(out.seconds, 4),
    }


def environment() -> dict:
    import importlib.metadata as md

    packages = ["torch", "transformers", "peft", "sentence-transformers", "faiss-cpu"]
    return {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}",
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "packages": {p: md.version(p) for p in packages},
    }
