"""The experiments' sections of the report: forgetting and knowledge update, each a paragraph of findings, tables
and a plot, every number a value of scores.json."""
from __future__ import annotations

from pathlib import Path

from bench.records.scores import Curve, Forgetting, Interval, Update
from bench.report.experiment_plots import freshness_vs_cost, gain_vs_loss, learning_curve
from bench.report.figures import image
from bench.report.formats import Data, code, has_value, pct, pct_brief, points, pvalue, usd
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
        gain = f"a domain gain over {code(v.gain_over)} of {signed(v.domain_gain)}" if has_value(v.domain_gain) else "no domain score"
        lines.append(f"{code(v.name)} ({v.method}): {gain}; general knowledge {signed(v.general_change)} over {items} probe items "
                     f"against the base model (McNemar p = {pvalue(v.general_p)}): {reading(v.general_change, v.general_p)}.")
    return lines


def forgetting_tables(f: Forgetting) -> list[tuple]:
    probes = list(f.probes)
    accuracy = [[Data("base"), "–", "–"] + [pct(f.base[p].accuracy) for p in probes]]
    accuracy += [[Data(v.name), v.method, pct(v.domain)] + [pct(v.probes[p].accuracy) for p in probes] for v in f.variants]
    titles = [f.probes[p].title for p in probes]
    changes = [[Data(v.name), f"{pts(v.domain_gain)} over {v.gain_over}" if v.gain_over else "–", pts(v.general_change), pvalue(v.general_p)]
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
             + ". Changes are against the base model on the same items (McNemar's mid-p test, Newcombe's interval); the domain "
               "gain is the task's headline score on the test items minus the base model's (closed-book arms) or RAG's (arms that "
               "retrieve: the same context without fine-tuning)."),
            ("list", forgetting_sentences(f)), *forgetting_tables(f),
            image(plot, folder, "Each adapter's domain gain against its change in general-knowledge accuracy (95% intervals).")]


def update_sentences(u: Update) -> list[str]:
    """Who stays current: the freshest variant, the cheapest one as fresh within the intervals, and what staleness costs."""
    measured = [v for v in u.variants if has_value(v.current)]
    if not measured:
        return ["No variant of the update answered a changed fact."]
    best = max(measured, key=lambda v: (v.current.mean, -v.update_usd))
    lines = [f"Most current after the revision: {code(best.name)}, answering {pct_brief(best.current)} of the {u.changed_items} "
             f"changed facts with their new value, for an update cost of {best.update_seconds:,.0f} s ({usd(best.update_usd)} USD)."]
    as_fresh = [v for v in measured if v.current.high >= best.current.low]  # intervals overlap the best's
    cheapest = min(as_fresh, key=lambda v: v.update_usd)
    if cheapest.update_usd < best.update_usd:
        lines.append(f"As current within the intervals and cheaper: {code(cheapest.name)} ({pct_brief(cheapest.current)}, "
                     f"{cheapest.update_seconds:,.0f} s, {usd(cheapest.update_usd)} USD).")
    as_they_were = [v for v in u.variants if v.how.startswith("stale") and has_value(v.stale)]
    stale = [f"{code(v.name)} {pct_brief(v.stale)}" for v in as_they_were if v.stale.mean > 0]
    if stale:
        lines.append("Left as they were, arms keep giving the old value: " + "; ".join(stale) + " of the changed facts.")
    never = [code(v.name) for v in as_they_were if v.stale.mean == 0]  # e.g. ft_rag, reading the re-indexed corpus
    if never:
        lines.append(f"Left as it was, {', '.join(never)} gave the old value for none of the changed facts.")
    return lines


def forgetting_summary(f: Forgetting) -> str:
    """One line for the verdict: each adapter's change in general knowledge."""
    parts = [f"{code(v.name)} ({v.method}) {pts(v.general_change)} points, {reading(v.general_change, v.general_p)}" for v in f.variants]
    items = sum(info.items for info in f.probes.values())
    return f"Forgetting, general-knowledge accuracy against the base model on {items} probe items: " + "; ".join(parts) + "."


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


def claim_blocks(runs: list[Run]) -> list[tuple]:
    """The published claims each run's figures bear on, with the finding its paired tests support."""
    several = len(runs) > 1
    rows = [[Data(run.name)] * several + [Data(c.source), Data(c.claim), c.finding, Data(c.figures)]
            for run in runs for c in run.scores.claims]
    if not rows:
        return []
    head = ["run"] * several + ["source", "claim", "finding", "figures"]
    return [("h", 2, "Published claims, checked against this run"),
            ("p", "Each finding comes from this run's own paired tests at 5% (each claim on its own): \"agrees\" or "
                  "\"disagrees\" when the difference is significant, \"not measured\" when the run lacks what the claim needs."),
            ("table", head, rows)]


def curve_sentences(c: Curve, metric: str) -> list[str]:
    lines = []
    for arm, examples in c.matches_rag.items():
        if examples is None:
            lines.append(f"{code(arm)} stays significantly below RAG at every size measured, up to {c.training_examples[arm]} examples.")
        else:
            lines.append(f"{code(arm)} matches RAG on {metric} (not significantly below it) from {examples} of the "
                         f"{c.training_examples[arm]} training examples on.")
    return lines


def curve_blocks(run: Run, folder: Path, prefix: str = "") -> list[tuple]:
    c = run.scores.curve
    if c is None:
        return []
    metric = run.scores.definitions[c.metric].label if c.metric in run.scores.definitions else c.metric
    series: dict[str, list] = {}
    for pt in c.points:
        series.setdefault(pt.arm, []).append((pt.examples, pt.score))
    whole = ", ".join(f"{arm}: {n}" for arm, n in c.training_examples.items())
    plot = learning_curve(series, c.rag, metric, folder / "plots" / f"{prefix}learning_curve.png")
    body = [[Data(pt.arm), str(pt.examples), pct(pt.score), pts(pt.vs_rag), pvalue(pt.p), f"{pt.train_seconds:,.0f}"] for pt in c.points]
    return [("h", 2, "Learning curve: how many labeled examples fine-tuning needs"),
            ("p", f"Each fine-tuned arm trained again on seeded, label-balanced parts of its training examples ({whole}) "
                  f"(the corpus unchanged), answering the same test items; RAG, which needs none, scores {pct(c.rag)}."),
            ("list", curve_sentences(c, metric)),
            ("table", ["arm", "training examples", metric, "minus RAG (points)", "p", "training s"], body),
            image(plot, folder, "Headline score against the number of training examples (95% bands); RAG as a flat line.")]
