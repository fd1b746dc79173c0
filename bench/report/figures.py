"""The report's plots as blocks: which scores.json values each plot shows (plots.py draws them)."""
from __future__ import annotations

from pathlib import Path

from bench.report.plots import accuracy_vs_cost, cumulative_cost, hallucination_bars, loss_curves, stratum_bars
from bench.report.runs import Row, Run, label_of
from bench.report.tables import strata_of

PLOT_ARROWS = {"higher": " (↑ better)", "lower": " (↓ better)"}


def metric_axis_label(rows: list[Row], defs: dict) -> str:
    names = {row.run.scores.headline for row in rows}
    return label_of(defs, names.pop()) if len(names) == 1 else "headline metric"


def image(path: Path, folder: Path, caption: str) -> tuple:
    return ("img", path.relative_to(folder).as_posix(), caption)


def accuracy_cost_plot(rows: list[Row], defs: dict, folder: Path) -> tuple:
    path = accuracy_vs_cost([row.label for row in rows], [row.data.cost.usd_per_1k_queries for row in rows],
                                  [row.data.accuracy.get(row.run.scores.headline) for row in rows],
                                  [row.run.scores.task.name for row in rows], metric_axis_label(rows, defs),
                                  folder / "plots" / "accuracy_vs_cost.png")
    return image(path, folder, "Headline score against per-query cost; the dashed line is the Pareto front.")


def stratum_plot(rows: list[Row], defs: dict, folder: Path) -> tuple | None:
    strata = strata_of(rows)
    if len(strata) < 2:
        return None
    series = {row.label: [row.run.scores.interval(row.arm, row.run.scores.headline, s) for s in strata] for row in rows}
    path = stratum_bars(strata, series, metric_axis_label(rows, defs), folder / "plots" / "accuracy_by_stratum.png")
    return image(path, folder, "Headline score per stratum.")


def hallucination_plot(rows: list[Row], defs: dict, folder: Path) -> tuple | None:
    found = [row for row in rows if row.data.hallucination]
    measures = list(dict.fromkeys(m for row in found for m in row.data.hallucination))
    if not measures:
        return None
    series = {label_of(defs, m) + (PLOT_ARROWS[defs[m].better] if m in defs else ""): [row.data.hallucination.get(m) for row in found]
              for m in measures}
    path = hallucination_bars([row.label for row in found], series, folder / "plots" / "hallucination.png")
    return image(path, folder, "Hallucination measures per arm.")


def break_even_marks(runs: list[Run]) -> list[tuple[str, float, float]]:
    """(caption, queries, cumulative USD of the fine-tuned arm there) for each run with a finite break-even."""
    marks = []
    for run in runs:
        be = run.scores.break_even
        if not be or not be.queries or be.arms[0] not in run.scores.arms:
            continue  # never (None), or cheaper from the first query (0): no crossing to mark
        cost = run.scores.arms[be.arms[0]].cost
        caption = (f"{run.name}: " if len(runs) > 1 else "") + f"{be.arms[0]} breaks even with {be.arms[1]}"
        marks.append((caption, be.queries, cost.one_off_usd + be.queries * cost.usd_per_1k_queries / 1000))
    return marks


def cumulative_cost_plot(runs: list[Run], rows: list[Row], folder: Path) -> tuple:
    path = cumulative_cost([row.label for row in rows], [row.data.cost.one_off_usd for row in rows],
                                 [row.data.cost.usd_per_1k_queries / 1000 for row in rows], break_even_marks(runs),
                                 folder / "plots" / "cumulative_cost.png")
    return image(path, folder, "Cumulative cost by query volume; circles mark break-even points.")


def loss_plot(rows: list[Row], folder: Path) -> tuple | None:
    trained = [row for row in rows if row.data.cost.train and row.data.cost.train.losses]
    if not trained:
        return None
    stats = [row.data.cost.train for row in trained]
    path = loss_curves([row.label for row in trained], [t.losses for t in stats], [t.validation_losses for t in stats],
                       [t.epochs_run for t in stats], folder / "plots" / "fine_tuning_loss.png")
    return image(path, folder, "Fine-tuning: training loss by epoch, and the held-out loss after each epoch.")
