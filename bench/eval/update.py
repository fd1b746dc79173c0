"""Scoring the knowledge-update experiment from its stored answers: for each way of updating each arm, the share of
changed facts answered with the new value (current) and with the old one (stale), the headline score on unchanged
facts (collateral damage), and what the update cost."""
from __future__ import annotations

from bench.data.revision import load_revision
from bench.eval.answers import answer_correct
from bench.eval.context import Context, ci, experiment_manifest, scored_file, values_of
from bench.eval.cost import hour_rate
from bench.eval.metrics import Scored
from bench.records.layout import RunFolder
from bench.records.manifest import Variant
from bench.records.scores import Update, UpdateVariant

NAME = "update"


def states_old_value(s: Scored, stale: tuple[str, ...]) -> float:
    """The answer gives a value that was right before the revision (as the run's headline would accept it)."""
    if s.family == "choice":
        return float(s.output in stale)
    return answer_correct(s.output, list(stale), s.item.input)


def update_seconds(variant: Variant) -> float:
    return (variant.train.seconds if variant.train else 0.0) + variant.index_seconds


def update_scores(folder: RunFolder, ctx: Context) -> Update | None:
    """The experiment's figures, when it has run on this folder."""
    manifest = experiment_manifest(folder, NAME, ctx)
    if manifest is None:
        return None
    revision = load_revision(ctx.task)
    wanted = set(manifest.settings["unchanged_ids"])
    unchanged = [it for it in ctx.task.test if it.id in wanted]
    headline = ctx.metrics[0]
    command = f"ftrag update {folder.path}"
    variants = []
    for v in manifest.variants:
        changed = scored_file(ctx, folder.experiment_predictions(NAME, v.name, "changed"), revision.changed, command)
        kept = scored_file(ctx, folder.experiment_predictions(NAME, v.name, "unchanged"), unchanged, command)
        seconds = update_seconds(v)
        variants.append(UpdateVariant(
            name=v.name, arm=v.arm, how=v.how, current=ci(values_of(headline, changed), ctx.cfg),
            stale=ci([states_old_value(s, revision.stale[s.item.id]) for s in changed], ctx.cfg),
            unchanged=ci(values_of(headline, kept), ctx.cfg) if kept else None,
            update_seconds=round(seconds, 1), update_usd=seconds / 3600 * hour_rate(ctx.cfg.prices, v.device)))
    return Update(changed_items=len(revision.changed), unchanged_items=len(unchanged), variants=variants, seconds=manifest.seconds)
