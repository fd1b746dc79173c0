"""The experiments' PNG plots: domain gain against general loss (forgetting), and freshness against update cost
(knowledge update). Plain numbers in, one file out, as in plots.py."""
from __future__ import annotations

from pathlib import Path

from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

from bench.records.scores import Interval as CI
from bench.report.formats import has_value
from bench.report.plots import COLORS, MARKERS, look, new_figure, place_legend, save, titled, whiskers


def labelled_points(axes, labels: list[str], xs: list[CI | None], ys: list[CI | None], x_scale: float = 100.0) -> None:
    """One point per label with its intervals as error bars (x in percent unless told), missing values left out."""
    for j, (label, x, y) in enumerate(zip(labels, xs, ys)):
        if not (has_value(x) and has_value(y)):
            continue
        xerr = [[x_scale * (x.mean - x.low)], [x_scale * (x.high - x.mean)]] if x_scale == 100.0 else None
        axes.errorbar([x_scale * x.mean], [100 * y.mean], xerr=xerr, yerr=[[w[0]] for w in whiskers([y])],
                      fmt=look(j, list(MARKERS)), color=COLORS[j % len(COLORS)], capsize=3, label=label)


def gain_vs_loss(labels: list[str], gains: list[CI | None], changes: list[CI | None], path: Path) -> Path:
    """Forgetting: each adapter's domain gain (x: over the base model, or over RAG for an arm that retrieves) against
    its general-knowledge change (y)."""
    figure = new_figure(6.5, 4.5)
    axes = figure.add_subplot()
    labelled_points(axes, labels, gains, changes)
    axes.axhline(0, color="grey", linewidth=0.8)
    axes.axvline(0, color="grey", linewidth=0.8)
    titled(axes, "domain gain (points; over the base model, over RAG for arms that retrieve)", "general-knowledge change (points)",
           "Task gain against general-knowledge change")
    place_legend(axes, len(labels))
    return save(figure, path)


def freshness_vs_cost(labels: list[str], usd: list[float], current: list[CI], path: Path) -> Path:
    """Knowledge update: each way of updating, its cost (x, USD, symlog so a free update shows) and freshness (y)."""
    figure = new_figure(6.5, 4.5)
    axes = figure.add_subplot()
    costs = [CI(mean=value, low=value, high=value, n=1) for value in usd]
    labelled_points(axes, labels, costs, current, x_scale=1.0)
    smallest = min([value for value in usd if value > 0] or [1e-6])
    axes.set_xscale("symlog", linthresh=smallest)
    axes.set_ylim(-2, 102)
    titled(axes, "cost of the update (USD, measured seconds x the hour rate)", "changed facts answered with the new value (%)",
           "Staying current: freshness against update cost")
    place_legend(axes, len(labels), beside=True)
    return save(figure, path)


def learning_curve(series: dict[str, list[tuple[int, CI]]], rag: CI | None, metric: str, path: Path) -> Path:
    """Each fine-tuned arm's headline against its training examples (line, 95% band); RAG flat, needing none."""
    figure = new_figure(6.5, 4.5)
    axes = figure.add_subplot()
    for j, (arm, points) in enumerate(series.items()):
        xs, cis = [n for n, _ in points], [c for _, c in points]
        color = COLORS[j % len(COLORS)]
        axes.plot(xs, [100 * c.mean for c in cis], marker=look(j, list(MARKERS)), color=color, label=arm)
        axes.fill_between(xs, [100 * c.low for c in cis], [100 * c.high for c in cis], color=color, alpha=0.15)
    if has_value(rag):
        axes.axhline(100 * rag.mean, color="black", linestyle="--", label="rag (no training examples)")
        axes.axhspan(100 * rag.low, 100 * rag.high, color="black", alpha=0.08)
    axes.set_xscale("log")
    plain_log_ticks(axes)
    titled(axes, "labeled training examples", f"{metric} (%)", "Learning curve: fine-tuning against retrieval")
    place_legend(axes, len(series) + 1)
    return save(figure, path)


def plain_log_ticks(axes) -> None:
    """A log x axis labelled 10, 20, 50, 100 rather than 2 x 10^1: counts of examples read as counts."""
    axes.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    axes.xaxis.set_major_formatter(ScalarFormatter())
    axes.xaxis.set_minor_formatter(NullFormatter())


def by_model_size(series: dict[str, list[tuple[int, CI | None]]], metric: str, path: Path) -> Path:
    """Each arm's headline (95% interval) against the generator's parameter count (log scale)."""
    figure = new_figure(6.5, 4.5)
    axes = figure.add_subplot()
    for j, (arm, points) in enumerate(series.items()):
        shown = [(n, c) for n, c in points if has_value(c)]
        if shown:
            axes.errorbar([n for n, _ in shown], [100 * c.mean for _, c in shown], yerr=whiskers([c for _, c in shown]),
                          marker=look(j, list(MARKERS)), color=COLORS[j % len(COLORS)], capsize=3, label=arm)
    axes.set_xscale("log")
    sizes = sorted({n for points in series.values() for n, _ in points})
    axes.set_xticks(sizes, [f"{n / 1e6:,.0f}M" for n in sizes])  # the models' own sizes, not 1.4 x 10^8 ... 2.6 x 10^8
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.margins(x=0.1)
    titled(axes, "generator parameters", f"{metric} (%)", "Every arm against model size")
    place_legend(axes, len(series), beside=True)  # six arms' lines cross the whole plot: no corner stays empty
    return save(figure, path)
