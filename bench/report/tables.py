"""The report's tables, each a block ("table", head, rows) built from scores.json values.

A block is a tuple: ("h", level, text), ("p", text), ("list", items), ("table", head, rows), ("img", path, caption)
or ("code", text). Text may use `code` and **bold**, which both renderers understand.
"""
from __future__ import annotations

from bench.report.formats import Data, code, number, pct, points, pvalue, usd
from bench.report.runs import Row, Run, label_of

ARROWS = {"higher": " ↑", "lower": " ↓"}


def accuracy_table(rows: list[Row], defs: dict) -> tuple:
    """Every accuracy figure of each arm: the family's metrics (headline first), then whole-sample ones (macro-F1)."""
    names = list(dict.fromkeys(m for row in rows for m in [*row.run.scores.metrics, *row.data.accuracy]))
    head = ["arm"] + [label_of(defs, m) for m in names]
    return ("table", head, [[Data(row.label)] + [pct(row.data.accuracy.get(m)) for m in names] for row in rows])


def strata_of(rows: list[Row]) -> list[str]:
    return list(dict.fromkeys(s for row in rows for s in row.data.by_stratum))


def stratum_table(rows: list[Row], defs: dict) -> tuple:
    """The headline metric in each stratum (e.g. seen vs corpus_only: where fine-tuning and retrieval each win)."""
    strata = strata_of(rows)
    body = [[Data(row.label), label_of(defs, row.run.scores.headline)]
            + [pct(row.run.scores.interval(row.arm, row.run.scores.headline, s)) for s in strata] for row in rows]
    return ("table", ["arm", "metric"] + [Data(s) for s in strata], body)


def seeds_table(rows: list[Row], defs: dict) -> tuple | None:
    """Fine-tuning repeated over seeds: mean ± standard deviation of each metric, and the values per seed."""
    seeded = [(row, row.run.scores.seeds[row.arm]) for row in rows if row.arm in (row.run.scores.seeds or {})]
    if not seeded:
        return None
    metrics = list(dict.fromkeys(m for _, spread in seeded for m in spread.metrics))
    body = []
    for row, spread in seeded:
        cells = [f"{points(s.mean)} ± {points(s.std)} ({', '.join(points(v) for v in s.values)})"
                 if (s := spread.metrics.get(m)) else "–" for m in metrics]
        body.append([Data(row.label), ", ".join(str(seed) for seed in spread.seeds)] + cells)
    return ("table", ["arm", "seeds"] + [f"{label_of(defs, m)} mean ± sd (per seed)" for m in metrics], body)


def comparisons_table(runs: list[Run], defs: dict) -> tuple | None:
    """The paired tests on each run's headline metric (the other metrics' tests are in scores.csv)."""
    prefix = len(runs) > 1
    body = []
    for run in runs:
        for c in (c for c in run.scores.comparisons if c.metric == run.scores.headline):
            a, b = (f"{run.name}:{arm}" if prefix else arm for arm in (c.a, c.b))
            d = c.diff
            body.append([Data(f"{a} − {b}"), label_of(defs, c.metric), Data(c.stratum), f"{points(d.mean)} [{points(d.low)}, {points(d.high)}]",
                         c.test, pvalue(c.p), pvalue(c.p_holm), "yes" if c.significant else "no"])
    if not body:
        return None
    body.sort(key=lambda cells: cells[2] != "all")  # every pair overall first, then the per-stratum tests
    return ("table", ["a − b", "metric", "stratum", "difference, points [95% CI]", "test", "p", "p, Holm (verdict's tests)",
                      "significant at 5%"], body)


def arrow(defs: dict, key: str) -> str:
    return ARROWS[defs[key].better] if key in defs else ""


def hallucination_table(rows: list[Row], defs: dict) -> tuple | None:
    measures = list(dict.fromkeys(m for row in rows for m in row.data.hallucination))
    retrieval = any(row.data.retrieval for row in rows)
    if not measures and not retrieval:
        return None
    head = ["arm"] + [label_of(defs, m) + arrow(defs, m) for m in measures]
    head += [label_of(defs, "recall_at_k") + ARROWS["higher"]] if retrieval else []
    body = []
    for row in rows:
        found, ret = row.data.hallucination, row.data.retrieval
        cells = [pct(found.get(m)) for m in measures]
        cells += [f"{pct(ret.recall_at_k)} (k={ret.k}, {ret.method})" if ret else "–"] if retrieval else []
        body.append([Data(row.label)] + cells)
    return ("table", head, body)


def one_off_cost_table(rows: list[Row]) -> tuple:
    head = ["arm", "training s", "training CPU share %", "training tokens", "training FLOPs", "training peak RSS MB",
            "index build s", "index chunks", "index size KB", "one-off s", "one-off USD"]
    body = []
    for row in rows:
        cost = row.data.cost
        train, index = cost.train, cost.index
        body.append([Data(row.label), number(train and train.seconds), number(train and train.cpu_share, ".0f", 100),
                     number(train and train.tokens), number(train and train.flops, ".2e"),
                     number(train and train.peak_rss_mb), number(index and index.build_seconds, ".1f"), number(index and index.chunks),
                     number(index and index.size_bytes, ",.0f", 1 / 1024), number(cost.one_off_seconds, ",.1f"), usd(cost.one_off_usd)])
    return ("table", head, body)


def query_cost_table(rows: list[Row]) -> tuple:
    head = ["arm", "device", "s/query p50", "s/query p95", "s/query mean", "CPU share %", "prompt tokens",
            "output tokens", "GFLOPs/query", "peak memory MB", "USD / 1k queries"]
    body = []
    for row in rows:
        cost = row.data.cost
        body.append([Data(row.label), cost.device, number(cost.query_seconds_p50, ".3f"), number(cost.query_seconds_p95, ".3f"),
                     number(cost.query_seconds_mean, ".3f"), number(cost.cpu_share, ".0f", 100),
                     number(cost.prompt_tokens_mean), number(cost.output_tokens_mean, ".1f"),
                     number(cost.query_flops, ",.1f", 1e-9), number(cost.peak_memory_mb), usd(cost.usd_per_1k_queries)])
    return ("table", head, body)


def definitions_table(runs: list[Run], rows: list[Row], defs: dict) -> tuple:
    """Every figure the report shows, with the definition its run stored."""
    used = [m for run in runs for m in run.scores.metrics]
    used += [k for row in rows for k in row.data.accuracy]
    used += [m for row in rows for m in row.data.hallucination]
    used += ["recall_at_k"] * any(row.data.retrieval for row in rows) + ["usd_per_1k_queries", "one_off_usd", "break_even"]
    body = [[code(m), Data(label_of(defs, m)), Data(defs[m].definition) if m in defs else "(no definition stored)",
             defs[m].better if m in defs else "–"] for m in dict.fromkeys(used)]
    return ("table", ["name", "label", "definition", "better"], body)


def fit_table(rows: list[Row], defs: dict) -> tuple | None:
    """Has each adapter learned? Its fit on its own training questions, and how its training went."""
    trained = [row for row in rows if row.data.cost.train]
    if not trained:
        return None
    body = []
    for row in trained:
        t = row.data.cost.train
        held_out = ", ".join(f"{v:.2f}" for v in t.validation_losses) or "–"
        body.append([Data(row.label), pct(row.data.fit), f"{t.epochs_run} of {t.epochs_planned}", str(t.best_epoch), str(t.validation_pairs),
                     f"{t.first_loss:.2f} → {t.last_loss:.2f}", held_out, t.precision])
    return ("table", ["arm", label_of(defs, "fit"), "epochs run", "epoch kept", "held-out pairs", "training loss first → last",
                      "held-out loss by epoch", "precision"], body)
