"""Forgetting: what fine-tuning cost the model in general ability.

The base model and every adapter of a finished run answer the same seeded samples of general-knowledge probes
(MMLU, TruthfulQA MC1, ARC-Challenge; bench/data/probes.py) by log-likelihood choice. With `methods` holding both
LoRA and full fine-tuning, the closed-book arm trained on labeled examples (`ft_plain` where the run has it, else
`ft`) is also trained with the method the run did not use, on the very same training plan, and answers the task's
test items as well as the probes, so the two methods' domain gain and general loss sit side by side (Biderman et
al., 2024, report that LoRA learns less and forgets less). `ft_plain` rather than `ft`: the same comparison without
`ft`'s corpus paraphrases, which make its training ~1.7x as long (on synth_qa the full fine-tune of `ft` took 1,666 s
of the experiment's 41 minutes).
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from bench.arms.probes import answer_choice_items
from bench.data.probes import PROBES, load_probes
from bench.data.tasks import select_items
from bench.experiments.common import finish, labeled_closed_book_arm, reopen, with_method
from bench.models.loading import load_generator
from bench.records.arms import ARMS
from bench.records.cache import stage_key
from bench.records.locks import exclusive
from bench.records.manifest import ExperimentManifest, Variant
from bench.run.context import RunContext
from bench.run.pipeline import answer, stage, train_adapter

log = logging.getLogger(__name__)
NAME = "forgetting"
DEFAULT_PROBES = list(PROBES)


def run_forgetting(target: str, probes: list[str] = DEFAULT_PROBES, items: int = 100, methods: tuple[str, ...] = ("lora", "full")) -> Path:
    """Answer every probe with the base model and each adapter (and `ft` by the other method); score; report."""
    began = time.perf_counter()
    folder, ctx = reopen(target)
    cfg = ctx.cfg
    settings = {"probes": probes, "items": items, "methods": list(methods), "seed": cfg.seed}
    with exclusive(folder.experiment(NAME) / ".lock", f"running the forgetting experiment in {folder.path}"):
        sample = load_probes(probes, items, cfg.seed)
        seed = cfg.seeds[0]
        variants = [Variant(name="base", arm="base", device=ctx.device)]
        variants += [Variant(name=arm, arm=arm, adapter=str(ctx.adapter_path(ARMS[arm].weights, seed)), device=ctx.device)
                     for arm in cfg.arms if ARMS[arm].fine_tuned]
        other, arm = "full" if cfg.finetune.method == "lora" else "lora", labeled_closed_book_arm(cfg.arms)
        if other in methods and arm:
            variants.append(other_method_variant(ctx, other, arm, seed))
        for variant in variants:
            stage(f"{NAME}:{variant.name}")
            for probe, probe_items in sample.items():
                path = folder.experiment_predictions(NAME, variant.name, probe)
                key = stage_key("probe_answers", ctx.generator_path, variant.adapter or "", cfg.model.chat_template, ctx.answering_precision,
                                [(it.id, it.text, it.choices) for it in probe_items])
                answer_choice_items(path, key, probe_items, lambda v=variant: model_for(ctx, v), ctx.device)
        # the answer key goes with the answers, so scoring needs neither the data directory nor the same files again
        settings["answer_key"] = {probe: [[it.id, it.gold, len(it.choices)] for it in probe_items] for probe, probe_items in sample.items()}
        manifest = ExperimentManifest(experiment=NAME, settings=settings, variants=variants)
        return finish(folder, ctx, NAME, manifest, began)


def model_for(ctx: RunContext, variant: Variant):
    return load_generator(ctx.generator_path, ctx.device, Path(variant.adapter) if variant.adapter else None, ctx.cfg.model.chat_template,
                          ctx.answering_precision)


def other_method_variant(ctx: RunContext, method: str, arm: str, seed: int) -> Variant:
    """`arm` trained by `method` on the run's own training plan (cached like any adapter), and its answers to the
    task's test items, so its domain gain is measured on the items the run's arms answered."""
    name = f"{arm} ({method})"
    began = stage(f"{NAME}:finetune:{name}")
    other = with_method(ctx, method)
    adapter = train_adapter(other, arm, seed)
    other.adapters[(arm, seed)] = adapter
    log.info("%s: trained in %.0f s", name, time.perf_counter() - began)
    items = select_items(ctx.task.test, ctx.cfg.limit)
    answer(other, ARMS[arm], items, seed, ctx.folder.experiment_predictions(NAME, name, "domain"))
    return Variant(name=name, arm=arm, adapter=adapter.path, train=adapter.stats, device=ctx.device)
