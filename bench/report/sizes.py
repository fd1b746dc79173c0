"""Model size, across runs of one task with different generators (`ftrag sweep`, or `ftrag compare` of such runs):
every arm's headline, hallucination and cost against the generator's parameter count, with the spread over
fine-tuning seeds where a run repeated them."""
from __future__ import annotations

from pathlib import Path

from bench.report.experiment_plots import by_model_size
from bench.report.figures import image
from bench.report.formats import Data, code, pct, usd
from bench.report.runs import Run, label_of
from bench.report.verdict import HALLUCINATION_HEADLINES


def generator(run: Run) -> str:
    return str(run.scores.config.get("model", {}).get("generator", "?"))


def size_groups(runs: list[Run]) -> dict[str, list[Run]]:
    """Per task, its runs with a known parameter count, smallest model first, when they use two generators or more."""
    groups = {}
    for task in dict.fromkeys(run.scores.task.name for run in runs):
        group = sorted((r for r in runs if r.scores.task.name == task and r.scores.n_params), key=lambda r: r.scores.n_params)
        if len({generator(r) for r in group}) > 1:
            groups[task] = group
    return groups


def seed_spread(run: Run, arm: str) -> str:
    spread = (run.scores.seeds or {}).get(arm)
    metric = spread.metrics.get(run.scores.headline) if spread else None
    return f"± {100 * metric.std:.1f} over {len(spread.seeds)} seeds" if metric else "–"


def size_blocks(runs: list[Run], defs: dict, folder: Path) -> list[tuple]:
    blocks = []
    for n, (task, group) in enumerate(size_groups(runs).items()):
        headline = group[0].scores.headline
        measure = next((m for m in HALLUCINATION_HEADLINES if any(m in r.scores.arms[a].hallucination for r in group for a in r.scores.arms)), None)
        body, series = [], {}
        for run in group:
            for arm, data in run.scores.arms.items():
                body.append([Data(generator(run)), f"{run.scores.n_params / 1e6:,.0f}M", Data(arm), pct(data.accuracy.get(headline)),
                             seed_spread(run, arm), pct(data.hallucination.get(measure)) if measure else "–", usd(data.cost.usd_per_1k_queries)])
                series.setdefault(arm, []).append((run.scores.n_params, data.accuracy.get(headline)))
        plot = by_model_size(series, label_of(defs, headline), folder / "plots" / f"model_size-{n}.png")
        head = ["model", "parameters", "arm", label_of(defs, headline), "seed spread"]
        head += [label_of(defs, measure) if measure else "hallucination", "USD / 1k queries"]
        blocks += [("h", 2, f"Model size: {code(task)}"),
                   ("p", f"The same task and settings with {len(group)} generators, smallest first. Different runs share no "
                         "paired test: read differences across models by their intervals."),
                   ("table", head, body), image(plot, folder, "Each arm's headline score against the generator's parameters.")]
    return blocks
