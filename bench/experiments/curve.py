"""Learning curve: how many labeled examples fine-tuning needs to match retrieval.

Each fine-tuned arm (`ft`, `ft_rag`) is trained again on seeded, label-balanced parts of the run's training split
(default 10%, 25% and 50%; at 100% the run's own adapter and answers are the point) with the run's settings and
held-out examples, and answers the run's test items. The curve varies the labeled examples and nothing else, so by
default it draws the closed-book arm that trains on labeled examples alone: `ft_plain` where the run has it (`ft` adds
corpus paraphrases, documents rather than labels, a fixed cost at every size: on synth_qa a third of its training
time, which took the curve past its 30-minute budget), else `ft`. `--arms ft,ft_rag` draws `ft` instead. RAG needs no
labeled examples, so its score is a flat line.
"""
from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

from bench.data.tasks import select_items
from bench.experiments.common import finish, labeled_closed_book_arm, reopen
from bench.records.arms import ARMS
from bench.records.errors import UserError
from bench.records.locks import exclusive
from bench.records.manifest import ExperimentManifest, Variant
from bench.run.pipeline import answer, stage, train_adapter, training_split
from bench.training.pairs import training_sample

log = logging.getLogger(__name__)
NAME = "curve"
CURVE_ARMS = ("ft", "ft_plain", "ft_rag")


def variant_name(arm: str, examples: int) -> str:
    return f"{arm} ({examples} examples)"


def default_arms(run_arms: list[str]) -> list[str]:
    """The closed-book arm trained on labeled examples alone (ft_plain where the run has it, else ft), and ft_rag."""
    return [arm for arm in (labeled_closed_book_arm(run_arms), "ft_rag") if arm in run_arms]


def run_curve(target: str, fractions: list[float] = (0.1, 0.25, 0.5), arms: list[str] | None = None) -> Path:
    """Train and answer at each fraction of the training examples; score; report."""
    began = time.perf_counter()
    if any(not 0 < f <= 1 for f in fractions):
        raise UserError("curve --fractions: each fraction must be above 0 and at most 1, e.g. 0.1,0.25,0.5.")
    folder, ctx = reopen(target)
    cfg, seed = ctx.cfg, ctx.cfg.seeds[0]
    missing = [arm for arm in arms or [] if arm not in CURVE_ARMS or arm not in cfg.arms]
    if missing:
        raise UserError(f"curve --arms: '{missing[0]}' is not a fine-tuned arm of the run in {folder.path} "
                        f"(it has {', '.join(a for a in cfg.arms if a in CURVE_ARMS) or 'none'}). Pick from those.")
    arms = arms or default_arms(cfg.arms)
    if not arms:
        raise UserError(f"{folder.path}: the run has no fine-tuned arm ({', '.join(CURVE_ARMS)}) to draw a learning curve for.")
    splits = {arm: training_split(ctx, ARMS[arm].weights)[0] for arm in arms}  # ft_rag holds out its stopping slice
    items = select_items(ctx.task.test, cfg.limit)
    sizes = {arm: sorted({max(1, round(f * len(train))) for f in fractions} - {len(train)}) for arm, train in splits.items()}
    variants = [Variant(name=variant_name(arm, len(splits[arm])), arm=arm, adapter=str(ctx.adapter_path(ARMS[arm].weights, seed)),
                        device=ctx.device, train_examples=len(splits[arm]), train=ctx.adapters[(ARMS[arm].weights, seed)].stats)
                for arm in arms]
    with exclusive(folder.experiment(NAME) / ".lock", f"drawing the learning curve in {folder.path}"):
        for arm in arms:
            for size in sizes[arm]:
                subset = training_sample(splits[arm], size, cfg.seed)  # seeded and balanced over targets, as finetune.max_examples
                name = variant_name(arm, size)
                stage(f"{NAME}:{name}")
                adapter = train_adapter(ctx, ARMS[arm].weights, seed, subset)
                answer(replace(ctx, adapters={(ARMS[arm].weights, seed): adapter}), ARMS[arm], items, seed, folder.experiment_predictions(NAME, name, "test"))
                variants.append(Variant(name=name, arm=arm, adapter=adapter.path, train=adapter.stats, device=ctx.device,
                                        train_examples=size))
        settings = {"fractions": list(fractions), "training_examples": {arm: len(t) for arm, t in splits.items()}, "sizes": sizes}
        return finish(folder, ctx, NAME, ExperimentManifest(experiment=NAME, settings=settings, variants=variants), began)
