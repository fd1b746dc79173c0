"""One run: task -> index -> fine-tune -> answer -> judge -> score -> report. Each stage is cached; answering resumes.
bench/run/launch.py enters it, when anything has changed since the run folder's last finished run."""
from __future__ import annotations

import logging
import random
import time
from dataclasses import asdict
from pathlib import Path

import torch
import yaml

from bench.arms.answer import answer_arm
from bench.arms.judge import judge_support
from bench.arms.prompts import default_instruction
from bench.arms.sources import ExampleIndex, Sources, examples_as_docs, fewshot_examples, own_examples
from bench.data.tasks import Task, select_items, uses_paraphrases
from bench.eval.metrics import metric_family
from bench.eval.scoring import score_run
from bench.models.device import pick_device, stage_peak_mb
from bench.models.loading import load_generator, load_tokenizer, model_shape
from bench.models.presets import resolve_embedder, resolve_generator
from bench.records.arms import ARMS, Arm
from bench.records.cache import stage_key
from bench.records.config import RunConfig
from bench.records.errors import UserError
from bench.records.items import Doc, Example
from bench.records.io import atomic_write_text
from bench.records.layout import RunFolder
from bench.records.manifest import Adapter
from bench.records.predictions import read_predictions
from bench.report import write_report
from bench.retrieval.index import build_retriever, load_embedder
from bench.run.context import RunContext
from bench.training.finetune import train_cached
from bench.training.paraphrase import model_paraphrases, paraphrases_for
from bench.training.pairs import ft_plan, raft_plan, split_validation, training_sample

log = logging.getLogger(__name__)


def run_in(folder: RunFolder, cfg: RunConfig, task: Task) -> Path:
    """Every stage, in a run folder no other process is writing."""
    atomic_write_text(folder.config, yaml.safe_dump(cfg.model_dump(), sort_keys=False))
    ctx = prepare(cfg, task, folder)
    items = select_items(task.test, cfg.limit)
    for name in cfg.arms:
        arm = ARMS[name]
        began = stage(f"answer:{name}")
        for seed in cfg.seeds if arm.fine_tuned else cfg.seeds[:1]:
            answer(ctx, arm, items, seed)
        ctx.finished(f"answer:{name}", began)
    began = stage("fit")
    answer_fit(ctx)
    ctx.finished("fit", began)
    atomic_write_text(folder.manifest, ctx.manifest().model_dump_json(indent=2) + "\n")
    judge(ctx)
    stage("score")
    scores = score_run(folder)
    stage("report")
    write_report(folder.path, scores)
    return folder.path


def stage(name: str) -> float:
    """Say which stage starts (a user watching, and benchmarks/kill_drill.py, read it); return the time."""
    log.info("stage: %s", name)
    return time.perf_counter()


def prepare(cfg: RunConfig, task: Task, folder: RunFolder) -> RunContext:
    """Model conversion, tokenizer and context sources, the index (retrieval arms) and every adapter."""
    if cfg.model.threads:
        torch.set_num_threads(cfg.model.threads)
    device = pick_device(cfg.model.device)
    stage_peak_mb(device)  # each stage reports its own peak from here on
    began = stage("model")
    generator_path = resolve_generator(cfg.model.generator)
    kind, labels = task.spec.kind, task.spec.labels
    sources = Sources(kind, task.spec.prompts.instruction or default_instruction(kind, labels), load_tokenizer(generator_path, cfg.model.chat_template),
                      fewshot_examples(task.train, cfg.fewshot_k, cfg.seed), cfg.retrieval.k, cfg.knn_k)
    ctx = RunContext(cfg, task, folder, device, generator_path, sources, *model_shape(generator_path))
    ctx.finished("load_model", began)
    if any(ARMS[a].retrieves for a in cfg.arms):
        began = stage("index")
        build_indexes(ctx)
        ctx.finished("index", began)
    for weights in sorted({ARMS[a].weights for a in cfg.arms} - {"base"}):
        for seed in cfg.seeds:
            began = stage(f"finetune:{weights}:seed{seed}")
            ctx.adapters[weights, seed] = train_adapter(ctx, weights, seed)
            ctx.finished(f"finetune:{weights}:seed{seed}", began)
    return ctx


def build_indexes(ctx: RunContext) -> None:
    """The corpus index, and for classification the kNN index over the training examples."""
    cfg, task, sources = ctx.cfg, ctx.task, ctx.sources
    embedder = load_embedder(resolve_embedder(cfg.model.embedder), ctx.device)
    if task.corpus:
        sources.retriever, ctx.index_stats = build_retriever(task.corpus, cfg.model.embedder, embedder, cfg.retrieval)
    if task.spec.kind == "classification" and task.train:
        example_retriever, example_stats = build_retriever(examples_as_docs(task.train), cfg.model.embedder, embedder, cfg.retrieval)
        sources.example_index = ExampleIndex(example_retriever, task.train)
        # embedding the training examples is RAG's one-off cost here, as embedding a corpus is
        ctx.index_stats = example_stats.plus(ctx.index_stats)


def training_split(ctx: RunContext, weights: str) -> tuple[list[Example], list[Example]]:
    """(examples the adapter trains on, held-out examples for its stopping rule).

    A closed-book adapter on open questions holds nothing out of its training set (it stops on data.validation only,
    when the task has one): there each pair states a fact of its own, so the loss on held-out pairs about other facts
    cannot fall as the trained facts are learned; it rises. Measured on synth_qa: stopping on such a slice ended `ft`
    at epoch 2 with 2% of its own training pairs right, and the held-out facts were never trained on at all."""
    cfg, task = ctx.cfg, ctx.task
    train = training_sample(task.train, cfg.finetune.max_examples, cfg.seed)
    if not train:
        raise UserError(f"task '{task.name}' has no training examples: the fine-tuned arms need data.train (or drop them with --arms).")
    return split_validation(train, task.validation, cfg.finetune, cfg.seed, hold_out=not closed_book_facts(ctx, weights))


def closed_book_facts(ctx: RunContext, weights: str) -> bool:
    """Whether the adapter answers open questions without documents: what it is asked, it must have memorised."""
    return weights != "ft_rag" and ctx.task.spec.kind == "qa" and not ctx.choices


def paraphrases(ctx: RunContext) -> list[Doc]:
    tuning = ctx.cfg.finetune
    if not uses_paraphrases(ctx.cfg, ctx.task):
        return []
    if tuning.paraphrase_source == "model":
        return model_paraphrases(ctx.task.corpus, tuning.paraphrases, ctx.generator_path, ctx.device, ctx.cfg.model.chat_template,
                                 ctx.answering_precision)
    return paraphrases_for(ctx.task.paraphrases, tuning.paraphrases)


def train_adapter(ctx: RunContext, weights: str, seed: int, train: list[Example] | None = None) -> Adapter:
    """The adapter of a fine-tuned arm, trained on the run's training split (or `train`, a part of it: the learning
    curve), held-out examples the same either way."""
    cfg, task = ctx.cfg.finetune, ctx.task
    split, validation = training_split(ctx, weights)
    train = split if train is None else train
    if weights == "ft_rag":
        plan = raft_plan(train, validation, ctx.sources, cfg.raft_gold_fraction, cfg.raft_epochs, seed)
    else:  # ft reads the corpus and its paraphrases; ft_plain the corpus alone
        docs = task.corpus + (paraphrases(ctx) if weights == "ft" else [])
        plan = ft_plan(train, validation, docs, ctx.sources, cfg.epochs, cfg.corpus_epochs)
    path, stats = train_cached(ctx.generator_path, ctx.sources.tokenizer, plan, cfg, seed, ctx.device)
    return Adapter(weights=weights, seed=seed, path=str(path), stats=stats)


def answer_fit(ctx: RunContext) -> None:
    """Each fine-tuned arm answers a seeded sample of the questions it trained on: a fit check for the report."""
    for arm in (ARMS[a] for a in ctx.cfg.arms if ARMS[a].fine_tuned):
        trained, _ = training_split(ctx, arm.weights)
        sample = random.Random(f"{ctx.cfg.seed}/fit").sample(trained, min(ctx.cfg.finetune.fit_items, len(trained)))
        if sample:
            answer(ctx, arm, sample, ctx.cfg.seeds[0], ctx.folder.fit_predictions(arm.name))


def predictions_key(ctx: RunContext, arm: Arm, items: list[Example], seed: int) -> str:
    """Every input that determines an arm's answers: a change to any of them answers again."""
    cfg, src = ctx.cfg, ctx.sources
    own = own_examples(items, src) if arm.retrieves else []  # the fit check's items, left out of their own examples
    return stage_key("predictions", asdict(arm), ctx.generator_path, str(ctx.adapter_path(arm.weights, seed) or ""), ctx.answering_precision,
                     src.instruction, [asdict(it) for it in items], ctx.choices, ctx.answering.max_new_tokens,
                     cfg.retrieval.model_dump() if arm.retrieves else None, cfg.knn_k,
                     [ex.id for ex in src.shots] if arm.context == "fewshot" else None, cfg.model.embedder,
                     *([index_keys(src)] if arm.retrieves else []), *([own] if any(own) else []))


def index_keys(src: Sources) -> list[str | None]:
    """What a retrieval arm searched: a changed corpus (or training set, for kNN examples) is a new index, so new answers."""
    return [src.retriever.key if src.retriever else None, src.example_index.retriever.key if src.example_index else None]


def answer(ctx: RunContext, arm: Arm, items: list[Example], seed: int, path: Path | None = None) -> None:
    path = path or ctx.folder.predictions(arm, seed, ctx.cfg.seeds)
    path.parent.mkdir(parents=True, exist_ok=True)
    adapter = ctx.adapter_path(arm.weights, seed)
    answer_arm(path, predictions_key(ctx, arm, items, seed), arm, items, ctx.sources, ctx.answering,
               lambda: load_generator(ctx.generator_path, ctx.device, adapter, ctx.cfg.model.chat_template, ctx.answering_precision))


def judge(ctx: RunContext) -> None:
    """The optional model judge reads the retrieved chunks and scores each distinct answer once."""
    cfg = ctx.cfg
    if not cfg.judge.enabled or metric_family(ctx.task.spec.kind, ctx.task.spec.labels) == "choice" or ctx.sources.retriever is None:
        return
    predictions = [p for name in cfg.arms for p in read_predictions(ctx.folder.predictions(ARMS[name], cfg.seeds[0], cfg.seeds))]
    judge_support(predictions, ctx.sources.retriever, cfg.judge.model, ctx.device, cfg.judge.k, ctx.folder.judge, ctx.answering_precision)
