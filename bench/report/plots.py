"""The report's PNG plots. Each function takes plain numbers (no scores.json knowledge) and writes one file.

Figures are built with matplotlib's object API (`Figure`, rendered by the Agg canvas): no pyplot global state,
no display needed, so reports can be written from any thread or a headless machine.
"""
from __future__ import annotations

import os
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bench.records.scores import Interval as CI  # fractions 0..1
from bench.report.formats import has_value

COLORS = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C", "#CCB974", "#64B5CD"]
# after the colours run out (many runs compared), the next rounds differ by marker, hatch or line style
MARKERS, HATCHES, LINES = "osD^v", ["", "//", "..", "xx", "\\\\"], ["-", "--", ":", "-."]
MANY = 6  # more legend entries than this go beside the plot, and points are no longer labelled in place


def look(j: int, kinds: list[str]) -> str:
    return kinds[(j // len(COLORS)) % len(kinds)]


def place_legend(axes, entries: int, beside: bool = False) -> None:
    """Inside the axes when short; beside them when long, or for bars, which leave no reliably empty corner."""
    if beside or entries > MANY:
        axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    else:
        axes.legend(fontsize=8, loc="best")


def whiskers(cis: list[CI | None]) -> list[list[float]]:
    """Percent error-bar lengths below and above each mean (0 where there is no value)."""
    below = [100 * (c.mean - c.low) if has_value(c) else 0.0 for c in cis]
    above = [100 * (c.high - c.mean) if has_value(c) else 0.0 for c in cis]
    return [below, above]


def new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save(figure: Figure, path: Path) -> Path:
    """Written beside its place and renamed into it: a killed writer leaves no half picture."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    figure.savefig(tmp, format="png")
    os.replace(tmp, path)
    return path


def titled(axes, xlabel: str, ylabel: str, title: str) -> None:
    """Axis labels, title and a light grid: how every plot here is finished."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(alpha=0.3)


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both cost (lower) and score (higher), cheapest first."""
    front = [i for i, (cost, score) in enumerate(points)
             if not any(c <= cost and s >= score and (c, s) != (cost, score) for c, s in points)]
    return sorted(front, key=lambda i: points[i])


def accuracy_vs_cost(labels: list[str], usd_per_1k: list[float], scores: list[CI], tasks: list[str], metric: str, path: Path) -> Path:
    """Headline score against per-query cost, one point per arm. A Pareto front per task joins the arms worth
    choosing (arms of different tasks are not alternatives to each other)."""
    keep = [i for i, ci in enumerate(scores) if has_value(ci)]
    figure = new_figure(7.5 if len(keep) <= MANY else 11, 4.8)
    axes = figure.add_subplot()
    for j, i in enumerate(keep):
        point = (usd_per_1k[i], 100 * scores[i].mean)
        axes.errorbar(*point, yerr=whiskers([scores[i]]), fmt=look(j, MARKERS), color=COLORS[j % len(COLORS)], capsize=4, label=labels[i])
        if len(keep) <= MANY:
            axes.annotate(labels[i], point, textcoords="offset points", xytext=(6, 4), fontsize=8)
    groups = list(dict.fromkeys(tasks[i] for i in keep))
    for g, group in enumerate(groups):
        members = [i for i in keep if tasks[i] == group]
        points = [(usd_per_1k[i], 100 * scores[i].mean) for i in members]
        front = [points[k] for k in pareto_front(points)]
        axes.step([c for c, _ in front], [m for _, m in front], where="post", color="black", linestyle=LINES[1 + g % 3],
                  linewidth=1, label="Pareto front" + (f" ({group})" if len(groups) > 1 else ""))
    costs = [usd_per_1k[i] for i in keep]
    if costs and min(costs) > 0 and max(costs) / min(costs) > 20:  # e.g. CPU and GPU runs side by side
        axes.set_xscale("log")
    axes.set_xlabel("USD per 1,000 queries")
    axes.set_ylabel(f"{metric} (%)")
    axes.set_title(f"{metric} versus per-query cost (95% CI whiskers)")
    axes.grid(alpha=0.3)
    place_legend(axes, len(keep) + len(groups))
    return save(figure, path)


def grouped_bars(groups: list[str], series: dict[str, list[CI | None]], ylabel: str, title: str, path: Path) -> Path:
    """Bars with CI whiskers: one cluster per group, one bar per series within it."""
    figure = new_figure(max(9, 0.45 * len(groups) * max(len(series), 1) + 3), 4.8)
    axes = figure.add_subplot()
    width = 0.8 / max(len(series), 1)
    for j, (name, cis) in enumerate(series.items()):
        xs = [g + (j - (len(series) - 1) / 2) * width for g in range(len(groups))]
        heights = [100 * c.mean if has_value(c) else 0.0 for c in cis]
        axes.bar(xs, heights, width, yerr=whiskers(cis), capsize=3, color=COLORS[j % len(COLORS)], hatch=look(j, HATCHES),
                 edgecolor="white", label=name)
    crowded = len(groups) > 4 and max(len(g) for g in groups) > 10  # long labels side by side would overlap
    axes.set_xticks(range(len(groups)), groups, rotation=20 if crowded else 0, ha="right" if crowded else "center")
    axes.set_ylim(0, 105)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(axis="y", alpha=0.3)
    place_legend(axes, len(series), beside=True)
    return save(figure, path)


def hallucination_bars(arms: list[str], measures: dict[str, list[CI | None]], path: Path) -> Path:
    """Each hallucination measure per arm, with its 95% CI."""
    return grouped_bars(arms, measures, "%", "Hallucination measures per arm (95% CI whiskers)", path)


def stratum_bars(strata: list[str], arms: dict[str, list[CI | None]], metric: str, path: Path) -> Path:
    """The headline score in each stratum, one bar per arm."""
    return grouped_bars(strata, arms, f"{metric} (%)", f"{metric} per stratum (95% CI whiskers)", path)


def cumulative_cost(labels: list[str], one_off_usd: list[float], usd_per_query: list[float],
                    break_evens: list[tuple[str, float, float]], path: Path) -> Path:
    """Total spend as query volume grows (one-off + queries x per-query), with each break-even point marked.

    break_evens: (caption, queries, USD at that volume).
    """
    # wide enough to show every crossing clearly, and 10,000 queries when there is none
    horizon = max(100, 3 * max(q for _, q, _ in break_evens)) if break_evens else 10_000
    figure = new_figure(7.5 if len(labels) <= MANY else 11, 4.8)
    axes = figure.add_subplot()
    for j, (label, fixed, per_query) in enumerate(zip(labels, one_off_usd, usd_per_query)):
        axes.plot([0, horizon], [fixed, fixed + horizon * per_query], color=COLORS[j % len(COLORS)], linestyle=look(j, LINES), label=label)
    for caption, queries, usd in break_evens:
        axes.plot([queries], [usd], marker="o", markersize=9, markerfacecolor="none", color="black")
        axes.annotate(f"{caption}: {queries:,.0f} queries", (queries, usd), textcoords="offset points", xytext=(8, 8), fontsize=8)
    axes.set_xlim(0, horizon)
    axes.set_ylim(bottom=0)
    axes.set_xlabel("queries served")
    axes.set_ylabel("cumulative USD")
    axes.set_title("Cumulative cost: one-off (training, index) + queries x per-query cost")
    axes.grid(alpha=0.3)
    place_legend(axes, len(labels))
    return save(figure, path)


def loss_curves(labels: list[str], losses: list[list[float]], validation: list[list[float]], epochs: list[int], path: Path) -> Path:
    """Each adapter's training loss over its epochs (a line) and its held-out loss after each epoch (points)."""
    figure = new_figure(7.5, 4.2)
    axes = figure.add_subplot()
    for j, (label, train, held_out, n_epochs) in enumerate(zip(labels, losses, validation, epochs)):
        color = COLORS[j % len(COLORS)]
        axes.plot([(i + 0.5) / len(train) * n_epochs for i in range(len(train))], train, color=color, linestyle=look(j, LINES),
                  label=f"{label}: training")
        if held_out:
            axes.plot(range(1, len(held_out) + 1), held_out, marker="o", color=color, linestyle="none", label=f"{label}: held-out")
    axes.set_xlabel("epoch")
    axes.set_ylabel("answer loss")
    axes.set_title("Fine-tuning loss: training (line) and held-out (points)")
    axes.grid(alpha=0.3)
    place_legend(axes, 2 * len(labels))
    return save(figure, path)
