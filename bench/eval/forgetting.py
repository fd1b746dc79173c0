"""Scoring the forgetting experiment from its stored answers: each probe's accuracy for the base model and each
adapter, each adapter's change against the base model on the same items (McNemar, Newcombe), and its domain gain
(the task's headline score minus the base model's, paired on the test items)."""
from __future__ import annotations

import numpy as np

from bench.data.probes import PROBES
from bench.eval.comparisons import item_values
from bench.eval.context import Context, ci, experiment_manifest, scored_file, values_of
from bench.eval.metrics import Scored
from bench.eval.stats import paired_test, wilson_interval
from bench.records.arms import ARMS
from bench.records.errors import UserError
from bench.records.layout import RunFolder
from bench.records.manifest import Variant
from bench.records.predictions import read_predictions
from bench.records.scores import Forgetting, ForgettingVariant, Interval, ProbeInfo, ProbeResult

NAME = "forgetting"


def right_answers(folder: RunFolder, variant: str, probe: str, key: list[list]) -> np.ndarray:
    """1 where the variant chose the right option, item by item in probe order (key: [id, right option, choices])."""
    path = folder.experiment_predictions(NAME, variant, probe)
    chosen = {p.id: p.output for p in read_predictions(path)} if path.exists() else {}
    missing = [item_id for item_id, _, _ in key if item_id not in chosen]
    if missing:
        raise UserError(f"{path}: {len(missing)} of {len(key)} probe items have no answer yet. "
                        f"Run `ftrag forgetting {folder.path}` to finish answering, then score.")
    return np.array([float(chosen[item_id] == gold) for item_id, gold, _ in key])


def probe_info(name: str, key: list[list]) -> ProbeInfo:
    probe = PROBES[name]
    return ProbeInfo(title=probe.title, items=len(key), chance=float(np.mean([1 / n for _, _, n in key])),
                     scoring=probe.scoring, license=probe.license)


def change(variant: np.ndarray, base: np.ndarray) -> tuple[Interval, float]:
    test = paired_test(list(variant), list(base))
    return test.diff, test.p


def domain_answers(ctx: Context, folder: RunFolder, variant: Variant, runs_by_arm: dict[str, list[list[Scored]]]) -> list[Scored]:
    """The variant's answers to the task's test items: the run's arm, or (trained here) the experiment's own."""
    if variant.train is None:
        return runs_by_arm.get(variant.arm, [[]])[0]
    return scored_file(ctx, folder.experiment_predictions(NAME, variant.name, "domain"), ctx.items, f"ftrag forgetting {folder.path}")


def domain_gain(ctx: Context, answers: list[Scored], base: list[Scored]) -> Interval | None:
    headline = ctx.metrics[0]
    mine, theirs = item_values(answers, headline), item_values(base, headline)
    shared = [i for i in mine if i in theirs]
    if not shared:
        return None
    return paired_test([mine[i][1] for i in shared], [theirs[i][1] for i in shared], ctx.cfg.bootstrap_resamples, ctx.cfg.seed).diff


def gain_reference(arm: str, runs_by_arm: dict) -> str | None:
    """What fine-tuning adds to: the base model closed-book, or RAG for an arm that retrieves (same context, no tuning)."""
    reference = "rag" if ARMS[arm].retrieves else "base"
    return reference if reference in runs_by_arm else None


def forgetting_scores(folder: RunFolder, ctx: Context, runs_by_arm: dict[str, list[list[Scored]]]) -> Forgetting | None:
    """The experiment's figures, when it has run on this folder."""
    manifest = experiment_manifest(folder, NAME, ctx)
    if manifest is None:
        return None
    sample = manifest.settings["answer_key"]  # stored with the answers: scoring reads no dataset
    right = {v.name: {p: right_answers(folder, v.name, p, key) for p, key in sample.items()} for v in manifest.variants}
    base, base_all = right["base"], np.concatenate(list(right["base"].values()))
    headline = ctx.metrics[0]
    variants = []
    for variant in manifest.variants[1:]:
        probes = {}
        for probe in sample:
            diff, p = change(right[variant.name][probe], base[probe])
            probes[probe] = ProbeResult(accuracy=wilson_interval(list(right[variant.name][probe])), change=diff, p=p)
        general, general_p = change(np.concatenate(list(right[variant.name].values())), base_all)
        answers = domain_answers(ctx, folder, variant, runs_by_arm)
        reference = gain_reference(variant.arm, runs_by_arm)
        variants.append(ForgettingVariant(
            name=variant.name, arm=variant.arm, method=variant.train.method if variant.train else ctx.cfg.finetune.method,
            domain=ci(values_of(headline, answers), ctx.cfg) if answers else None,
            domain_gain=domain_gain(ctx, answers, runs_by_arm[reference][0]) if answers and reference else None,
            gain_over=reference or "", probes=probes, general_change=general, general_p=general_p))
    # the arm trained here by the other method (ft_plain, or ft in experiments run before it moved)
    methods_arm = next((v.arm for v in manifest.variants if v.train is not None), "ft")
    by_method = {v.method: np.concatenate(list(right[v.name].values())) for v in variants if v.arm == methods_arm}
    lora_vs_full, method_p = change(by_method["lora"], by_method["full"]) if {"lora", "full"} <= by_method.keys() else (None, None)
    return Forgetting(probes={p: probe_info(p, items) for p, items in sample.items()},
                      base={p: ProbeResult(accuracy=wilson_interval(list(v))) for p, v in base.items()},
                      variants=variants, seconds=manifest.seconds, methods_arm=methods_arm, lora_vs_full=lora_vs_full,
                      lora_vs_full_p=method_p)
