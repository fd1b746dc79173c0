"""Knowledge update: the task's facts change (its declared revision, bench/data/revision.py), and each arm is
brought up to date the way a team would do it.

- RAG re-indexes the revised corpus (its index as it was is measured too: what a stale index answers).
- Each fine-tuned arm (`ft`, `ft_rag`) is measured three ways: the adapter as it stands (stale); the adapter trained
  further on what changed (continued: the changed documents and the revised training pairs, from the old adapter);
  an adapter retrained from scratch on the revised corpus and training pairs (retrained). `ft_rag` retrieves from
  the re-indexed corpus in all three, so its cost includes re-indexing.

Every variant answers the changed facts and a seeded sample of unchanged ones (collateral damage); the cost of the
update is measured seconds (training, indexing) at the run's hour rates.
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import replace
from pathlib import Path

from bench.arms.sources import Sources
from bench.data.revision import Revision, load_revision
from bench.experiments.common import finish, reopen
from bench.models.presets import resolve_embedder
from bench.records.arms import ARMS
from bench.records.errors import UserError
from bench.records.items import Doc, Example
from bench.records.locks import exclusive
from bench.records.manifest import Adapter, ExperimentManifest, Variant
from bench.retrieval.index import build_retriever, load_embedder
from bench.run.context import RunContext
from bench.run.pipeline import answer, stage, train_adapter, training_split
from bench.training.finetune import train_cached
from bench.training.pairs import ft_plan, raft_plan, training_sample

log = logging.getLogger(__name__)
NAME = "update"
UPDATED_ARMS = ("ft", "ft_rag")  # ft_plain is a diagnostic of ft's paraphrases, not a way to serve


def run_update(target: str, unchanged: int = 40) -> Path:
    """Bring every arm up to date with the task's revision, answer the changed and unchanged facts; score; report."""
    began = time.perf_counter()
    folder, ctx = reopen(target)
    revision = load_revision(ctx.task)
    untouched = [it for it in ctx.task.test if it.answerable and not revision.touches(it)]
    sample = sorted(random.Random(f"{ctx.cfg.seed}/unchanged").sample(untouched, min(unchanged, len(untouched))), key=lambda it: it.id)
    settings = {"unchanged": unchanged, "seed": ctx.cfg.seed, "unchanged_ids": [it.id for it in sample]}
    if not {"rag", *UPDATED_ARMS} & set(ctx.cfg.arms):
        raise UserError(f"{folder.path}: the run has none of the arms an update applies to (rag, {', '.join(UPDATED_ARMS)}). "
                        "Run the task with them first.")
    with exclusive(folder.experiment(NAME) / ".lock", f"running the update experiment in {folder.path}"):
        fresh, index_seconds = revised_context(ctx, revision)
        variants = []
        for variant, variant_ctx in planned_variants(ctx, fresh, revision, index_seconds):
            stage(f"{NAME}:{variant.name}")
            for part, items in (("changed", revision.changed), ("unchanged", sample)):
                answer(variant_ctx, ARMS[variant.arm], items, variant_ctx.cfg.seeds[0],
                       folder.experiment_predictions(NAME, variant.name, part))
            variants.append(variant)
        return finish(folder, ctx, NAME, ExperimentManifest(experiment=NAME, settings=settings, variants=variants), began)


def revised_context(ctx: RunContext, revision: Revision) -> tuple[RunContext, float]:
    """The run context over the revised task: its corpus re-indexed (and the seconds that took when it was built),
    its training pairs revised, and only the paraphrases of documents the revision left as they were."""
    kept = {d.id for d in revision.corpus if d in ctx.task.corpus}  # documents the revision left word for word
    task = replace(ctx.task, corpus=revision.corpus, train=revised_sample(ctx, revision),
                   paraphrases=[p for p in ctx.task.paraphrases if p.id in kept])
    embedder = load_embedder(resolve_embedder(ctx.cfg.model.embedder), ctx.device)
    retriever, stats = build_retriever(revision.corpus, ctx.cfg.model.embedder, embedder, ctx.cfg.retrieval)
    sources: Sources = replace(ctx.sources, retriever=retriever)
    return replace(ctx, task=task, sources=sources, adapters={}), stats.build_seconds


def revised_sample(ctx: RunContext, revision: Revision) -> list[Example]:
    """The run's own training sample (finetune.max_examples), each example as the revision has it: the same examples
    and held-out split as the run, with the revised answers (a sample drawn again could differ once answers change)."""
    revised = {ex.id: ex for ex in revision.train or []}
    return [revised.get(ex.id, ex) for ex in training_sample(ctx.task.train, ctx.cfg.finetune.max_examples, ctx.cfg.seed)]


def planned_variants(ctx: RunContext, fresh: RunContext, revision: Revision, index_seconds: float):
    """(variant, the context it answers in) for every way of updating each arm the run has."""
    seed = ctx.cfg.seeds[0]
    if "rag" in ctx.cfg.arms:
        yield Variant(name="rag (stale index)", arm="rag", how="stale", device=ctx.device), ctx
        yield Variant(name="rag (re-indexed)", arm="rag", how="re-indexed", index_seconds=index_seconds, device=ctx.device), fresh
    for arm in (a for a in UPDATED_ARMS if a in ctx.cfg.arms):
        old = ctx.adapters[(arm, seed)]
        reindex = index_seconds if ARMS[arm].retrieves else 0.0
        yield variant("stale", arm, old, None, reindex, ctx.device), with_adapter(fresh, arm, seed, old)
        continued = continue_training(ctx, fresh, revision, arm, seed, old)
        if continued is not None:
            yield variant("continued", arm, continued, continued, reindex, ctx.device), with_adapter(fresh, arm, seed, continued)
        began = stage(f"{NAME}:finetune:{arm} (retrained)")
        retrained = train_adapter(fresh, arm, seed)
        log.info("%s retrained in %.0f s", arm, time.perf_counter() - began)
        yield variant("retrained", arm, retrained, retrained, reindex, ctx.device), with_adapter(fresh, arm, seed, retrained)


def variant(how: str, arm: str, weights: Adapter, trained: Adapter | None, index_seconds: float, device: str) -> Variant:
    return Variant(name=f"{arm} ({how})", arm=arm, how=how, adapter=weights.path, train=trained.stats if trained else None,
                   index_seconds=index_seconds, device=device)


def with_adapter(ctx: RunContext, arm: str, seed: int, adapter: Adapter) -> RunContext:
    return replace(ctx, adapters={(ARMS[arm].weights, seed): adapter})


def continue_training(ctx: RunContext, fresh: RunContext, revision: Revision, arm: str, seed: int, old: Adapter) -> Adapter | None:
    """The old adapter trained further on what the revision changed: the changed documents (ft) and the training pairs
    whose answer changed, with the run's epochs, stopping rule and held-out pairs (revised). None: nothing to train on."""
    cfg = ctx.cfg.finetune
    before = {ex.id: ex.targets for ex in ctx.task.train}
    train, validation = training_split(fresh, ARMS[arm].weights)
    pairs = [ex for ex in train if before.get(ex.id) != ex.targets]
    if ARMS[arm].retrieves:
        plan = raft_plan(pairs, validation, fresh.sources, cfg.raft_gold_fraction, cfg.raft_epochs, seed) if pairs else None
    else:
        docs = changed_documents(ctx.task.corpus, revision.corpus)  # a changed page's paraphrases are stale: none are read
        plan = ft_plan(pairs, validation, docs, fresh.sources, cfg.epochs, cfg.corpus_epochs) if pairs or docs else None
    if plan is None:
        log.info("%s (continued): the revision changes nothing it trains on; skipped", arm)
        return None
    began = stage(f"{NAME}:finetune:{arm} (continued)")
    path, stats = train_cached(ctx.generator_path, ctx.sources.tokenizer, plan, cfg, seed, ctx.device, init=Path(old.path))
    log.info("%s continued in %.0f s", arm, time.perf_counter() - began)
    return Adapter(weights=ARMS[arm].weights, seed=seed, path=str(path), stats=stats)


def changed_documents(before: list[Doc], after: list[Doc]) -> list[Doc]:
    """The revised corpus's documents that are new or whose text changed."""
    old = {d.id: d for d in before}
    return [d for d in after if old.get(d.id) != d]
