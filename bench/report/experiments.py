"""The experiments' sections of the report: forgetting and knowledge update, each a paragraph of findings, tables
and a plot, every number a value of scores.json."""
from __future__ import annotations

from pathlib import Path

from bench.records.scores import Forgetting, Interval, Update
from bench.report.experiment_plots import freshness_vs_cost, gain_vs_loss
from bench.report.figures import image
from bench.report.formats import Data, code, has_value, pct, points, pvalue, usd
from bench.report.runs import Run


def pts(ci: Interval | None) -> str:
    """A difference in percentage points with its interval."""
    if not has_value(ci):
        return "–"
    return f"{points(ci.mean)} [{points(ci.low)}, {points(ci.high)}]"


def signed(ci: Interval) -> str:
    return ("+" if ci.mean > 0 else "") + f"{points(ci.mean)} points (95% CI {points(ci.low)} to {points(ci.high)})"


def reading(ci: Interval, p: float | None) -> str:
    """How a change reads: a loss or a gain when its test says so at 5%, else no clear difference."""
    if p is None or p >= 0.05 or not has_value(ci):
        return "no clear difference"
    return "a significant loss" if ci.mean < 0 else "a significant gain"


def forgetting_sentences(f: Forgetting) -> list[str]:
    items = sum(info.items for info in f.probes.values())
    lines = []
    for v in f.variants:
        gain = f"a domain gain of {signed(v.domain_gain)}" if has_value(v.domain_gain) else "no domain score"
        lines.append(f"{code(v.name)} ({v.method}): {gain}; general knowledge {signed(v.general_change)} over {items} probe items "
                     f"against the base model (McNemar p = {pvalue(v.general_p)}): {reading(v.general_change, v.general_p)}.")
    return lines


def forgetting_tables(f: Forgetting) -> list[tuple]:
    probes = list(f.probes)
    accuracy = [[Data("base"), "–", "–"] + [pct(f.base[p].accuracy) for p in probes]]
    accuracy += [[Data(v.name), v.method, pct(v.domain)] + [pct(v.probes[p].accuracy) for p in probes] for v in f.variants]
    titles = [f.probes[p].title for p in probes]
    changes = [[Data(v.name), pts(v.domain_gain), pts(v.general_change), pvalue(v.general_p)]
               + [f"{pts(v.probes[p].change)} (p {pvalue(v.probes[p].p)})" for p in probes] for v in f.variants]
    return [("table", ["model", "method", "domain headline"] + [f"{t} accuracy" for t in titles], accuracy),
            ("table", ["adapter", "domain gain (points)", "general change (points)", "p"] + [f"{t} change" for t in titles], changes)]


def forgetting_blocks(run: Run, folder: Path, prefix: str = "") -> list[tuple]:
    f = run.scores.forgetting
    if f is None:
        return []
    probes = "; ".join(f"{info.title}: {info.items} items, chance {100 * info.chance:.1f}%, {info.scoring} ({info.license})"
                       for info in f.probes.values())
    plot = gain_vs_loss([v.name for v in f.variants], [v.domain_gain for v in f.variants], [v.general_change for v in f.variants],
                        folder / "plots" / f"{prefix}forgetting.png")
    return [("h", 2, "Forgetting: what fine-tuning cost in general knowledge"),
            ("p", "The base model and each adapter answered the same general-knowledge questions, never trained on: " + probes
             + ". Changes are against the base model on the same items (McNemar's exact test, Newcombe's interval); the domain "
               "gain is the task's headline score minus the base model's on the test items."),
            ("list", forgetting_sentences(f)), *forgetting_tables(f),
            image(plot, folder, "Each adapter's domain gain against its change in general-knowledge accuracy (95% intervals).")]


def update_sentences(u: Update) -> list[str]:
    best = max(u.variants, key=lambda v: (v.current.mean, -v.update_usd))
    lines = [f"Most current: {code(best.name)} answers {100 * best.current.mean:.1f}% of the {u.changed_items} changed facts "
             f"with their new value, at an update cost of {best.update_seconds:,.0f} s ({usd(best.update_usd)} USD)."]
    for v in u.variants:
        if v.how == "stale":
            lines.append(f"{code(v.name)}, left as it was: {100 * v.stale.mean:.1f}% of the changed facts answered with the old value.")
    return lines


def update_blocks(run: Run, folder: Path, prefix: str = "") -> list[tuple]:
    u = run.scores.update
    if u is None:
        return []
    body = [[Data(v.name), v.how, pct(v.current), pct(v.stale), pct(v.unchanged), f"{v.update_seconds:,.1f}", usd(v.update_usd)]
            for v in u.variants]
    plot = freshness_vs_cost([v.name for v in u.variants], [v.update_usd for v in u.variants], [v.current for v in u.variants],
                             folder / "plots" / f"{prefix}update.png")
    return [("h", 2, "Knowledge update: who stays current, at what cost"),
            ("p", f"The task's revision changes {u.changed_items} facts. RAG re-indexes the revised corpus; each fine-tuned arm is "
                  f"measured as it stands (stale), further trained on what changed (continued), and retrained from scratch on the "
                  f"revised data (retrained). Unchanged: {u.unchanged_items} test items the revision left alone (collateral damage)."),
            ("list", update_sentences(u)),
            ("table", ["variant", "how", "current value %", "stale value %", "unchanged facts %", "update s", "update USD"], body),
            image(plot, folder, "Share of changed facts answered with the new value against the cost of the update.")]
