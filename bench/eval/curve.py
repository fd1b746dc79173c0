"""Scoring the learning curve from its stored answers: each fine-tuned arm's headline at each training size, paired
against RAG on the same test items, and the fewest examples at which it is no longer significantly below RAG."""
from __future__ import annotations

from bench.eval.comparisons import item_values
from bench.eval.context import Context, ci, experiment_manifest, scored_file, values_of
from bench.eval.metrics import Scored
from bench.eval.stats import paired_test
from bench.records.layout import RunFolder
from bench.records.scores import Curve, CurvePoint

NAME = "curve"


def below_rag(point: CurvePoint) -> bool:
    """Significantly below RAG: its paired test (McNemar's mid-p for right/wrong scores) at 5%, and a negative difference."""
    return point.vs_rag is None or (point.p is not None and point.p < 0.05 and point.vs_rag.mean < 0)


def first_match(points: list[CurvePoint]) -> int | None:
    """The fewest examples from which every larger size is also not significantly below RAG (None: never, in range)."""
    found = None
    for point in reversed(points):  # largest first
        if below_rag(point):
            break
        found = point.examples
    return found


def curve_scores(folder: RunFolder, ctx: Context, runs_by_arm: dict[str, list[list[Scored]]]) -> Curve | None:
    manifest = experiment_manifest(folder, NAME, ctx)
    if manifest is None:
        return None
    headline = ctx.metrics[0]
    rag = runs_by_arm["rag"][0] if "rag" in runs_by_arm else None
    whole = manifest.settings["training_examples"]
    if isinstance(whole, int):  # written before each arm had its own split
        whole = {v.arm: whole for v in manifest.variants}
    points = []
    for v in sorted(manifest.variants, key=lambda v: (v.arm, v.train_examples)):
        answers = (runs_by_arm[v.arm][0] if v.train_examples == whole[v.arm] else
                   scored_file(ctx, folder.experiment_predictions(NAME, v.name, "test"), ctx.items, f"ftrag curve {folder.path}"))
        vs_rag, p = None, None
        if rag:
            mine, theirs = item_values(answers, headline), item_values(rag, headline)
            shared = [i for i in mine if i in theirs]
            test = paired_test([mine[i][1] for i in shared], [theirs[i][1] for i in shared], ctx.cfg.bootstrap_resamples, ctx.cfg.seed)
            vs_rag, p = test.diff, test.p
        points.append(CurvePoint(arm=v.arm, examples=v.train_examples, score=ci(values_of(headline, answers), ctx.cfg), vs_rag=vs_rag,
                                 p=p, train_seconds=v.train.seconds if v.train else 0.0))
    matches = {arm: first_match([pt for pt in points if pt.arm == arm]) for arm in dict.fromkeys(pt.arm for pt in points)}
    return Curve(metric=headline.name, training_examples=whole, points=points,
                 rag=ci(values_of(headline, rag), ctx.cfg) if rag else None, matches_rag=matches if rag else {}, seconds=manifest.seconds)
