"""Reports from stored results: report.md, a self-contained report.html, plots/*.png and scores.csv.

`write_report` renders one run (the pipeline calls it after scoring); `write_comparison` renders several runs
side by side (`ftrag compare`). Both read only scores.json and predictions/*.jsonl: nothing is recomputed, and
every number shown is a value of scores.json (or, for differences without a stored paired test, the
difference of two of them). Keys that older or newer scores.json files lack are skipped, never required.

A report is built once as a list of blocks (heading, paragraph, list, table, image, code) and rendered to
both Markdown and HTML, so the two always say the same thing.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import json
import math
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench import plots
from bench.arms import ARMS
from bench.cache import atomic_write_text
from bench.config import resolve_config
from bench.plots import has_value
from bench.scoring import ALL_DEFINITIONS, FAMILY_METRICS, read_predictions
from bench.tasks import read_spec, tasks_dir

FAMILY_NOTES = {
    "qa": "Answerable items only (unanswerable ones are scored under hallucination).",
    "choice": "Each item is answered by choosing a label from the task's label set.",
    "drafting": "Drafts are scored against a reference text.",
}
ARM_TITLES = {"base": "the base model", "fewshot": "few-shot prompting", "rag": "RAG", "ft": "fine-tuning",
              "ft_rag": "fine-tuning + RAG"}
EXAMPLES_PER_RUN = 4
# The hallucination measure the verdict names, first found: the most direct sign of made-up answers per family.
HALLUCINATION_HEADLINES = ["abstain_on_unanswerable", "contradicted", "confident_errors"]


# ----------------------------------------------------------------------------- stored runs

@dataclass
class Run:
    path: Path
    scores: dict
    _predictions: dict[str, list[dict]] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return f"{self.scores['task']['name']}/{self.path.name}"

    def predictions(self, arm: str) -> list[dict]:
        """The arm's stored per-item records; none when the run folder kept only scores.json."""
        if arm not in self._predictions:
            path = self.path / "predictions" / f"{arm}.jsonl"
            self._predictions[arm] = read_predictions(path) if path.exists() else []
        return self._predictions[arm]


@dataclass
class Row:
    """One arm of one run: a row of every table. `label` is the arm, or `<task>/<run_id>:<arm>` across runs."""
    label: str
    run: Run
    arm: str

    @property
    def data(self) -> dict:
        return self.run.scores["arms"][self.arm]


def load_run(path: Path) -> Run:
    return Run(path, json.loads((path / "scores.json").read_text(encoding="utf-8")))


def rows_of(runs: list[Run]) -> list[Row]:
    prefix = len(runs) > 1
    return [Row(f"{run.name}:{arm}" if prefix else arm, run, arm) for run in runs for arm in run.scores["arms"]]


def family(scores: dict) -> str:
    """The metric family; runs scored before scores.json named it are recognised by their headline metric."""
    if "family" in scores:
        return scores["family"]
    first = next(iter(scores["arms"].values()))["accuracy"]
    return next(name for name, metrics in FAMILY_METRICS.items() if metrics[0] in first)


def metric_names(scores: dict) -> list[str]:
    return list(scores.get("metrics") or FAMILY_METRICS[family(scores)])


def headline(scores: dict) -> str:
    return metric_names(scores)[0]


def definitions(all_scores: list[dict]) -> dict[str, dict]:
    """The definitions stored with each run, over the current code's (which fill in for older runs)."""
    merged = dict(ALL_DEFINITIONS)
    for scores in all_scores:
        merged.update(scores.get("definitions") or {})
    return merged


def label_of(defs: dict, key: str) -> str:
    return defs.get(key, {}).get("label", key)


# ----------------------------------------------------------------------------- number formats

def pct(ci: dict | None) -> str:
    if not has_value(ci):
        return "–"
    return f"{100 * ci['mean']:.1f} [{100 * ci['low']:.1f}, {100 * ci['high']:.1f}]"


def pct_words(ci: dict) -> str:
    return f"{100 * ci['mean']:.1f}% (95% CI {100 * ci['low']:.1f} to {100 * ci['high']:.1f})"


def pct_brief(ci: dict) -> str:
    return f"{100 * ci['mean']:.1f}% [{100 * ci['low']:.1f}, {100 * ci['high']:.1f}]"


def points(fraction: float) -> str:
    return f"{round(100 * fraction, 1) + 0.0:.1f}"  # + 0.0 turns -0.0 (a negated zero difference) into 0.0


def usd(value: float) -> str:
    """Three significant digits without exponent: per-query costs of a small model are fractions of a cent."""
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.2f}"
    decimals = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}"


def pvalue(p: float | None) -> str:
    if p is None:
        return "–"
    # 1 / bootstrap_resamples is the smallest bootstrap p-value there is: say "at most", not "equal"
    return "≤ 0.001" if p <= 0.001 else f"{p:.3f}"


def number(value, fmt: str = ",.0f", scale: float = 1.0) -> str:
    return "–" if value is None else format(value * scale, fmt)


def title(arm: str) -> str:
    return ARM_TITLES.get(arm, f"`{arm}`")


def capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


# ----------------------------------------------------------------------------- verdict

@dataclass(frozen=True)
class Diff:
    """Arm a minus arm b on one metric, as fractions. With a stored paired test, low/high bound the difference;
    without one, ci_a and ci_b are the two arms' own intervals and only their overlap can be judged."""
    a: str
    b: str
    mean: float
    low: float | None = None
    high: float | None = None
    p: float | None = None
    ci_a: dict | None = None
    ci_b: dict | None = None

    @property
    def paired(self) -> bool:
        return self.low is not None

    @property
    def significant(self) -> bool:
        if self.paired:
            return self.low > 0 or self.high < 0
        return self.ci_a["low"] > self.ci_b["high"] or self.ci_b["low"] > self.ci_a["high"]

    def leader_first(self) -> Diff:
        if self.mean >= 0:
            return self
        return Diff(self.b, self.a, -self.mean, None if self.high is None else -self.high,
                    None if self.low is None else -self.low, self.p, self.ci_b, self.ci_a)


def ci_of(scores: dict, arm: str, metric: str, stratum: str = "all") -> dict | None:
    """An arm's interval for an accuracy metric or hallucination measure, overall or in one stratum."""
    accuracy = scores["arms"][arm]["accuracy"]
    if stratum != "all":
        return accuracy.get("by_stratum", {}).get(stratum, {}).get(metric)
    return accuracy.get(metric) or (scores["arms"][arm].get("hallucination") or {}).get(metric)


def ranked(scores: dict, arms: list[str], metric: str, lower_is_better: bool = False) -> list[str]:
    """Arms with a value on the metric, best first (ties keep their scores.json order)."""
    scored = [a for a in arms if has_value(ci_of(scores, a, metric))]
    return sorted(scored, key=lambda a: ci_of(scores, a, metric)["mean"] * (1 if lower_is_better else -1))


def paired_diff(scores: dict, a: str, b: str, metric: str, stratum: str) -> Diff | None:
    """The stored paired comparison of a and b, turned to read a minus b whichever way it was stored."""
    for c in scores.get("comparisons") or []:
        if c["metric"] != metric or c.get("stratum", "all") != stratum:
            continue
        d = c["diff"]
        if (c["a"], c["b"]) == (a, b):
            return Diff(a, b, d["mean"], d["low"], d["high"], c.get("p_bootstrap"))
        if (c["a"], c["b"]) == (b, a):
            return Diff(a, b, -d["mean"], -d["high"], -d["low"], c.get("p_bootstrap"))
    return None


def difference(scores: dict, a: str, b: str, metric: str, stratum: str = "all") -> Diff:
    found = paired_diff(scores, a, b, metric, stratum)
    if found:
        return found
    ci_a, ci_b = ci_of(scores, a, metric, stratum), ci_of(scores, b, metric, stratum)
    return Diff(a, b, ci_a["mean"] - ci_b["mean"], ci_a=ci_a, ci_b=ci_b)


def mid_sentence(text: str) -> str:
    """A sentence continued after a colon: "Fine-tuning scores" -> "fine-tuning scores"; "RAG scores" stays."""
    return text[0].lower() + text[1:] if text[1:2].islower() else text


def diff_sentence(d: Diff, metric: str, where: str = "") -> str:
    """Plain words for a difference: who is ahead, by how many points, and whether that is more than noise."""
    d = d.leader_first()
    a, b = title(d.a), title(d.b)
    if math.isnan(d.mean):
        return f"No difference on {metric}{where} between {a} and {b}: no item has a score from both."
    if d.paired:
        p = "" if d.p is None else f", paired bootstrap p {'' if d.p <= 0.001 else '= '}{pvalue(d.p)}"
        interval = f"95% CI {points(d.low)} to {points(d.high)}{p}"
        if d.significant:
            return f"{capitalized(a)} scores {points(d.mean)} points higher than {b} on {metric}{where} ({interval})."
        return f"No significant difference between {a} and {b} on {metric}{where}: {points(d.mean)} points ({interval})."
    both = f"{pct_brief(d.ci_a)} vs {pct_brief(d.ci_b)}"
    if d.significant:
        return f"{capitalized(a)} scores {points(d.mean)} points higher than {b} on {metric}{where} ({both}; the 95% intervals do not overlap)."
    return f"No clear difference between {a} and {b} on {metric}{where} ({both}; the 95% intervals overlap)."


def fine_tune_vs_retrieval(scores: dict, metric: str) -> tuple[str, str] | None:
    """The best arm that only fine-tunes and the best that only retrieves: the question the benchmark answers.
    The arm doing both (ft_rag) competes in the best-arm sentence instead."""
    arms = [a for a in scores["arms"] if a in ARMS]
    tuned = ranked(scores, [a for a in arms if ARMS[a].weights != "base" and ARMS[a].context != "retrieval"], metric)
    retrieving = ranked(scores, [a for a in arms if ARMS[a].weights == "base" and ARMS[a].context == "retrieval"], metric)
    return (tuned[0], retrieving[0]) if tuned and retrieving else None


def secondary_metric_sentences(scores: dict, pair: tuple[str, str], defs: dict) -> list[str]:
    """Other metrics of the family on which the pair's order clearly flips (e.g. RAG's verbose answers fail
    exact match but contain the right answer): the headline alone would mislead there."""
    metrics = metric_names(scores)
    leader = difference(scores, *pair, metrics[0]).leader_first().a
    lines = []
    for metric in metrics[1:]:
        if all(has_value(ci_of(scores, arm, metric)) for arm in pair):
            d = difference(scores, *pair, metric)
            if d.significant and d.leader_first().a != leader:
                lines.append(f"On {label_of(defs, metric)} the order flips: " + mid_sentence(diff_sentence(d, label_of(defs, metric))))
    return lines


def tied_leaders(scores: dict, order: list[str], metric: str) -> list[str]:
    """The arms sharing the first place of a ranking."""
    top = ci_of(scores, order[0], metric)["mean"]
    return [arm for arm in order if ci_of(scores, arm, metric)["mean"] == top]


def best_arm_sentence(scores: dict, metric: str, defs: dict) -> list[str]:
    order = ranked(scores, list(scores["arms"]), metric)
    if not order:
        return []
    tied = tied_leaders(scores, order, metric)
    if len(tied) > 1:
        return [f"No single best arm on {label_of(defs, metric)}: {', '.join(map(title, tied))} tie at {points(ci_of(scores, tied[0], metric)['mean'])}%."]
    text = f"Best arm on {label_of(defs, metric)}: {title(order[0])}, {pct_words(ci_of(scores, order[0], metric))}."
    if len(order) > 1:
        text += " " + diff_sentence(difference(scores, order[0], order[1], metric), label_of(defs, metric))
    return [text]


def hallucination_sentence(scores: dict, defs: dict) -> list[str]:
    """The arm doing best on the family's main hallucination measure, when its better direction is known."""
    present = [m for arm in scores["arms"].values() for m in (arm.get("hallucination") or {})]
    measure = next((m for m in HALLUCINATION_HEADLINES if m in present), present[0] if present else None)
    better = defs.get(measure, {}).get("better")
    if better not in ("higher", "lower"):
        return []
    order = ranked(scores, list(scores["arms"]), measure, lower_is_better=better == "lower")
    if not order:
        return []
    tied = tied_leaders(scores, order, measure)
    if len(tied) > 1:
        return [f"On {label_of(defs, measure)} ({better} is better), {', '.join(map(title, tied))} tie at {pct_words(ci_of(scores, tied[0], measure))}."]
    return [f"On {label_of(defs, measure)} ({better} is better), {title(order[0])} does best: {pct_words(ci_of(scores, order[0], measure))}."]


def majority_sentence(scores: dict, metric: str) -> list[str]:
    """Label choice has a floor: always answering the most frequent label. Which arms clear it beyond noise?"""
    floor = scores.get("majority")  # stored for label-choice runs only, whose headline is accuracy
    if not floor:
        return []
    above = [title(arm) for arm in scores["arms"] if has_value(ci := ci_of(scores, arm, metric)) and ci["low"] > floor["accuracy"]]
    clears = f"arms whose 95% interval lies wholly above it: {', '.join(above)}" if above else "no arm's 95% interval lies wholly above it"
    return [f"Always answering `{floor['label']}` scores {100 * floor['accuracy']:.1f}%; {clears}."]


def break_even_sentence(scores: dict) -> list[str]:
    be = scores.get("break_even")
    if not be or not all(a in scores["arms"] for a in be.get("arms", [])):
        return []
    ft, rag = (title(a) for a in be["arms"])
    assumptions = f" Assumptions: {be['assumptions']}" if be.get("assumptions") else ""
    if be["queries"] is None:
        return [f"{capitalized(ft)} is not cheaper per query than {rag}, so it never repays its one-off cost.{assumptions}"]
    if be["extra_one_off_usd"] <= 0:
        return [f"{capitalized(ft)} costs no more than {rag} up front and less per query: it is cheaper from the first query.{assumptions}"]
    return [f"{capitalized(ft)} costs {usd(be['extra_one_off_usd'])} USD more up front and saves {usd(be['saving_per_query_usd'])} USD "
            f"per query, so it breaks even with {rag} after about {be['queries']:,.0f} queries.{assumptions}"]


def cheaper_per_query(scores: dict, pair: tuple[str, str]) -> str:
    return min(pair, key=lambda arm: scores["arms"][arm]["cost"]["usd_per_1k_queries"])


def cheaper_but_worse_sentence(scores: dict, pair: tuple[str, str], d: Diff, metric: str) -> list[str]:
    """A break-even compares cost alone: say so when the cheaper arm is also significantly less accurate."""
    if not all("usd_per_1k_queries" in scores["arms"][arm]["cost"] for arm in pair):
        return []
    d, cheaper = d.leader_first(), cheaper_per_query(scores, pair)
    if not d.significant or d.b != cheaper:
        return []
    return [f"Cost alone favours {title(cheaper)}, but it scores {points(d.mean)} points lower on {metric}."]


def cost_sentences(scores: dict, pair: tuple[str, str] | None) -> list[str]:
    if pair is None:
        return []
    (a, ca), (b, cb) = ((arm, scores["arms"][arm]["cost"]) for arm in pair)
    keys = ("usd_per_1k_queries", "one_off_usd")
    if not all(k in c for c in (ca, cb) for k in keys):
        return []
    cheaper = cheaper_per_query(scores, pair)
    return [f"{capitalized(title(cheaper))} is cheaper per query: {title(a)} {usd(ca['usd_per_1k_queries'])} vs {title(b)} "
            f"{usd(cb['usd_per_1k_queries'])} USD per 1,000 queries; one-off (training, index): {usd(ca['one_off_usd'])} vs "
            f"{usd(cb['one_off_usd'])} USD."] + break_even_sentence(scores)


def verdict(scores: dict) -> list[str]:
    """The headline findings in plain words, each number a scores.json value (or a difference of two)."""
    defs, metric = definitions([scores]), headline(scores)
    lines = best_arm_sentence(scores, metric, defs) + majority_sentence(scores, metric)
    pair = fine_tune_vs_retrieval(scores, metric)
    if pair:
        pair_diff = difference(scores, *pair, metric)
        lines.append(diff_sentence(pair_diff, label_of(defs, metric)))
        lines += secondary_metric_sentences(scores, pair, defs)
        strata = list(scores["arms"][pair[0]]["accuracy"].get("by_stratum", {}))
        for stratum in strata if len(strata) > 1 else []:
            if has_value(ci_of(scores, pair[0], metric, stratum)) and has_value(ci_of(scores, pair[1], metric, stratum)):
                lines.append(diff_sentence(difference(scores, *pair, metric, stratum), label_of(defs, metric), f" among {stratum} items"))
    caveat = cheaper_but_worse_sentence(scores, pair, pair_diff, label_of(defs, metric)) if pair else []
    return lines + hallucination_sentence(scores, defs) + cost_sentences(scores, pair) + caveat


def cross_run_verdict(runs: list[Run], defs: dict) -> list[str]:
    """For each task compared over several runs: the best arm of each run, the top two set against each other.
    Different runs share no paired test, so this reads interval overlap only."""
    lines = []
    for task in dict.fromkeys(run.scores["task"]["name"] for run in runs):
        group = [run for run in runs if run.scores["task"]["name"] == task]
        metric = headline(group[0].scores)
        if len(group) < 2 or any(headline(run.scores) != metric for run in group):
            continue
        bests = [(f"{run.name}:{order[0]}", ci_of(run.scores, order[0], metric))
                 for run in group if (order := ranked(run.scores, list(run.scores["arms"]), metric))]
        bests.sort(key=lambda best: -best[1]["mean"])
        if len(bests) >= 2:
            (a, ci_a), (b, ci_b) = bests[:2]
            lines.append(f"Across the {len(group)} {task} runs, comparing each run's best arm: "
                         + diff_sentence(Diff(a, b, ci_a["mean"] - ci_b["mean"], ci_a=ci_a, ci_b=ci_b), label_of(defs, metric)))
    return lines


# ----------------------------------------------------------------------------- tables
# A block is a tuple: ("h", level, text), ("p", text), ("list", items), ("table", head, rows), ("img", path, caption)
# or ("code", text). Text may use `code` and **bold**, which both renderers understand.

def accuracy_table(rows: list[Row], defs: dict) -> tuple:
    names = list(dict.fromkeys(m for row in rows for m in metric_names(row.run.scores)))
    names += ["macro_f1"] if any("macro_f1" in row.data["accuracy"] for row in rows) else []
    head = ["arm"] + [label_of(defs, m) for m in names]
    return ("table", head, [[row.label] + [pct(row.data["accuracy"].get(m)) for m in names] for row in rows])


def strata_of(rows: list[Row]) -> list[str]:
    return list(dict.fromkeys(s for row in rows for s in row.data["accuracy"].get("by_stratum", {})))


def stratum_table(rows: list[Row], defs: dict) -> tuple:
    """The headline metric in each stratum (e.g. seen vs corpus_only: where fine-tuning and retrieval each win)."""
    strata = strata_of(rows)
    body = [[row.label, label_of(defs, headline(row.run.scores))]
            + [pct(ci_of(row.run.scores, row.arm, headline(row.run.scores), s)) for s in strata] for row in rows]
    return ("table", ["arm", "metric"] + strata, body)


def seeds_table(rows: list[Row], defs: dict) -> tuple | None:
    """Fine-tuning repeated over seeds: mean ± standard deviation of each metric, and the values per seed."""
    seeded = [(row, row.run.scores["seeds"][row.arm]) for row in rows if row.arm in (row.run.scores.get("seeds") or {})]
    if not seeded:
        return None
    metrics = list(dict.fromkeys(m for _, block in seeded for m in block if m != "seeds"))
    body = []
    for row, block in seeded:
        cells = [f"{points(block[m]['mean'])} ± {points(block[m]['std'])} ({', '.join(points(v) for v in block[m]['values'])})"
                 if m in block else "–" for m in metrics]
        body.append([row.label, ", ".join(str(s) for s in block.get("seeds", []))] + cells)
    return ("table", ["arm", "seeds"] + [f"{label_of(defs, m)} mean ± sd (per seed)" for m in metrics], body)


def comparisons_table(runs: list[Run], defs: dict) -> tuple | None:
    """The paired tests on each run's headline metric (the other metrics' tests are in scores.csv)."""
    prefix = len(runs) > 1
    body = []
    for run in runs:
        for c in (c for c in run.scores.get("comparisons") or [] if c["metric"] == headline(run.scores)):
            a, b = (f"{run.name}:{arm}" if prefix else arm for arm in (c["a"], c["b"]))
            d = c["diff"]
            significant = d["low"] > 0 or d["high"] < 0
            body.append([f"{a} − {b}", label_of(defs, c["metric"]), c.get("stratum", "all"),
                         f"{points(d['mean'])} [{points(d['low'])}, {points(d['high'])}]",
                         pvalue(c.get("p_bootstrap")), pvalue(c.get("p_mcnemar")), "yes" if significant else "no"])
    if not body:
        return None
    body.sort(key=lambda cells: cells[2] != "all")  # every pair overall first, then the per-stratum tests
    return ("table", ["a − b", "metric", "stratum", "difference, points [95% CI]", "p (paired bootstrap)", "p (McNemar)",
                      "significant (CI excludes 0)"], body)


def hallucination_table(rows: list[Row], defs: dict) -> tuple | None:
    measures = list(dict.fromkeys(m for row in rows for m in (row.data.get("hallucination") or {})))
    retrieval = any(row.data.get("retrieval") for row in rows)
    if not measures and not retrieval:
        return None
    arrows = {"higher": " ↑", "lower": " ↓"}
    head = ["arm"] + [label_of(defs, m) + arrows.get(defs.get(m, {}).get("better"), "") for m in measures]
    head += [label_of(defs, "recall_at_k") + arrows["higher"]] if retrieval else []
    body = []
    for row in rows:
        found, ret = row.data.get("hallucination") or {}, row.data.get("retrieval")
        cells = [pct(found.get(m)) for m in measures]
        cells += [f"{pct(ret['recall_at_k'])} (k={ret.get('k', '?')})" if ret else "–"] if retrieval else []
        body.append([row.label] + cells)
    return ("table", head, body)


def one_off_cost_table(rows: list[Row]) -> tuple:
    head = ["arm", "training s", "training tokens", "training FLOPs", "training peak RSS MB", "index build s",
            "index chunks", "index size KB", "one-off s", "one-off USD"]
    body = []
    for row in rows:
        cost = row.data["cost"]
        train, index = cost.get("train") or {}, cost.get("index") or {}
        body.append([row.label, number(train.get("seconds")), number(train.get("tokens")), number(train.get("flops"), ".2e"),
                     number(train.get("peak_rss_mb")), number(index.get("build_seconds"), ".1f"), number(index.get("chunks")),
                     number(index.get("size_bytes"), ",.0f", 1 / 1024), number(cost.get("one_off_seconds"), ",.1f"),
                     usd(cost["one_off_usd"]) if "one_off_usd" in cost else "–"])
    return ("table", head, body)


def query_cost_table(rows: list[Row]) -> tuple:
    head = ["arm", "device", "s/query p50", "s/query p95", "s/query mean", "prompt tokens", "output tokens", "GFLOPs/query",
            "peak memory MB", "USD / 1k queries"]
    body = []
    for row in rows:
        cost = row.data["cost"]
        body.append([row.label, cost.get("device", "–"), number(cost.get("query_seconds_p50"), ".3f"),
                     number(cost.get("query_seconds_p95"), ".3f"), number(cost.get("query_seconds_mean"), ".3f"),
                     number(cost.get("prompt_tokens_mean")), number(cost.get("output_tokens_mean"), ".1f"),
                     number(cost.get("query_flops"), ",.1f", 1e-9), number(cost.get("peak_memory_mb", cost.get("peak_rss_mb"))),
                     usd(cost["usd_per_1k_queries"]) if "usd_per_1k_queries" in cost else "–"])
    return ("table", head, body)


def definitions_table(runs: list[Run], rows: list[Row], defs: dict) -> tuple:
    used = [m for run in runs for m in metric_names(run.scores)]
    used += [k for row in rows for k in row.data["accuracy"] if k not in ("by_stratum",)]
    used += [m for row in rows for m in (row.data.get("hallucination") or {})]
    used += ["recall_at_k"] * any(row.data.get("retrieval") for row in rows) + ["usd_per_1k_queries", "one_off_usd", "break_even"]
    body = [[f"`{m}`", label_of(defs, m), defs.get(m, {}).get("definition", "(no definition stored)"), defs.get(m, {}).get("better", "–")]
            for m in dict.fromkeys(used)]
    return ("table", ["name", "label", "definition", "better"], body)


# ----------------------------------------------------------------------------- plots

def metric_axis_label(rows: list[Row], defs: dict) -> str:
    names = {headline(row.run.scores) for row in rows}
    return label_of(defs, names.pop()) if len(names) == 1 else "headline metric"


def accuracy_cost_plot(rows: list[Row], defs: dict, folder: Path) -> tuple | None:
    priced = [row for row in rows if "usd_per_1k_queries" in row.data["cost"]]
    if not priced:
        return None
    path = plots.accuracy_vs_cost([row.label for row in priced], [row.data["cost"]["usd_per_1k_queries"] for row in priced],
                                  [row.data["accuracy"].get(headline(row.run.scores)) for row in priced],
                                  [row.run.scores["task"]["name"] for row in priced], metric_axis_label(rows, defs), folder / "plots" / "accuracy_vs_cost.png")
    return ("img", path.relative_to(folder).as_posix(), "Headline score against per-query cost; the dashed line is the Pareto front.")


def stratum_plot(rows: list[Row], defs: dict, folder: Path) -> tuple | None:
    strata = strata_of(rows)
    if len(strata) < 2:
        return None
    series = {row.label: [ci_of(row.run.scores, row.arm, headline(row.run.scores), s) for s in strata] for row in rows}
    path = plots.stratum_bars(strata, series, metric_axis_label(rows, defs), folder / "plots" / "accuracy_by_stratum.png")
    return ("img", path.relative_to(folder).as_posix(), "Headline score per stratum.")


def hallucination_plot(rows: list[Row], defs: dict, folder: Path) -> tuple | None:
    found = [row for row in rows if row.data.get("hallucination")]
    measures = list(dict.fromkeys(m for row in found for m in row.data["hallucination"]))
    if not measures:
        return None
    arrows = {"higher": " (↑ better)", "lower": " (↓ better)"}
    series = {label_of(defs, m) + arrows.get(defs.get(m, {}).get("better"), ""): [row.data["hallucination"].get(m) for row in found]
              for m in measures}
    path = plots.hallucination_bars([row.label for row in found], series, folder / "plots" / "hallucination.png")
    return ("img", path.relative_to(folder).as_posix(), "Hallucination measures per arm.")


def break_even_marks(runs: list[Run]) -> list[tuple[str, float, float]]:
    """(caption, queries, cumulative USD of the fine-tuned arm there) for each run with a finite break-even."""
    marks = []
    for run in runs:
        be = run.scores.get("break_even")
        if not be or not be.get("queries") or be["arms"][0] not in run.scores["arms"]:
            continue  # never (None), or cheaper from the first query (0): no crossing to mark
        cost = run.scores["arms"][be["arms"][0]]["cost"]
        caption = (f"{run.name}: " if len(runs) > 1 else "") + f"{be['arms'][0]} breaks even with {be['arms'][1]}"
        marks.append((caption, be["queries"], cost["one_off_usd"] + be["queries"] * cost["usd_per_1k_queries"] / 1000))
    return marks


def cumulative_cost_plot(runs: list[Run], rows: list[Row], folder: Path) -> tuple | None:
    priced = [row for row in rows if {"one_off_usd", "usd_per_1k_queries"} <= set(row.data["cost"])]
    if not priced:
        return None
    path = plots.cumulative_cost([row.label for row in priced], [row.data["cost"]["one_off_usd"] for row in priced],
                                 [row.data["cost"]["usd_per_1k_queries"] / 1000 for row in priced], break_even_marks(runs),
                                 folder / "plots" / "cumulative_cost.png")
    return ("img", path.relative_to(folder).as_posix(), "Cumulative cost by query volume; circles mark break-even points.")


# ----------------------------------------------------------------------------- examples

def outcome(record: dict, metric: str) -> str:
    """What an item's score says, comparable across arms: the metric value, or whether an unanswerable item was declined."""
    scores = record.get("scores", {})
    if metric in scores and scores[metric] == scores[metric]:
        return f"{scores[metric]:.2f}"
    if "abstained" in scores:
        return "declined" if scores["abstained"] else "answered"
    return "–"


def short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def disagreements(rows: list[Row], limit: int) -> list[list[tuple[Row, dict]]]:
    """Items the arms score differently, most distinct outcomes first, taken in turn from each stratum."""
    answers: dict[tuple[str, str], list[tuple[Row, dict]]] = {}
    for row in rows:
        for record in row.run.predictions(row.arm):
            answers.setdefault((row.run.scores["task"]["name"], record["id"]), []).append((row, record))
    distinct = lambda group: len({outcome(record, headline(row.run.scores)) for row, record in group})
    split = sorted((group for group in answers.values() if distinct(group) > 1), key=lambda group: -distinct(group))
    by_stratum: dict[str, list] = {}
    for group in split:
        by_stratum.setdefault(group[0][1].get("stratum", ""), []).append(group)
    chosen, queues = [], list(by_stratum.values())
    while queues and len(chosen) < limit:
        chosen += [queue.pop(0) for queue in queues][: limit - len(chosen)]
        queues = [queue for queue in queues if queue]
    return chosen


def example_blocks(rows: list[Row], defs: dict, limit: int) -> list[tuple]:
    blocks = []
    for group in disagreements(rows, limit):
        first = group[0][1]
        metric = headline(group[0][0].run.scores)
        gold = " | ".join(short(g, 300) for g in first.get("gold", [])) or "(none: the right answer is to decline)"
        blocks += [("h", 3, f"`{first['id']}` ({first.get('stratum', '')})"),
                   ("p", f"**Input:** {short(first.get('input', ''), 400)}"), ("p", f"**Gold:** {gold}"),
                   ("table", ["arm", "answer", label_of(defs, metric), "retrieved chunks"],
                    [[row.label, short(r.get("output", ""), 300), outcome(r, metric), ", ".join(r.get("retrieved") or []) or "–"]
                     for row, r in group])]
    return blocks or [("p", "No stored predictions where the arms disagree.")]


# ----------------------------------------------------------------------------- reproducibility

def flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def override_value(value) -> str:
    """A value as the command line's YAML parser reads it back unchanged."""
    if isinstance(value, str) and value and yaml.safe_load(value) == value:
        return value
    return json.dumps(value)


def run_command(run: Run) -> tuple[str, list[str]]:
    """`ftrag run` with every setting that differs from what the task resolves to on its own, plus notes on
    anything that keeps it from reproducing the stored config hash with the current code."""
    task, stored_hash = run.scores["task"]["name"], run.scores.get("config_hash")
    stored = {k: v for k, v in flat(run.scores.get("config") or {}).items() if k != "task"}
    task_file = tasks_dir() / task / "task.yaml"
    task_overrides = read_spec(task_file).overrides if task_file.is_file() else {}
    baseline = flat(resolve_config(task, task_overrides).model_dump())
    overrides = [f"{k}={override_value(v)}" for k, v in stored.items() if k in baseline and baseline[k] != v]
    words = ["ftrag", "run", task, *overrides]
    if run.path.name != f"{Path(str(stored.get('model.generator', ''))).name}-{stored_hash}":
        words += ["--run-id", run.path.name]
    notes = [] if task_file.is_file() else [f"task `{task}` is not in {tasks_dir()}: its own overrides could not be read"]
    retired = [f"`{k}={v}`" for k, v in stored.items() if k not in baseline]
    notes += [f"settings this code no longer has: {', '.join(retired)}"] if retired else []
    digest = resolve_config(task, task_overrides, overrides).digest()
    if digest != stored_hash:
        notes.append(f"with the current code this command resolves to config hash `{digest}`, not the run's `{stored_hash}` "
                     "(settings or their defaults changed since the run)")
    return " ".join(shlex.quote(w) for w in words), notes


def reproducibility_blocks(run: Run) -> list[tuple]:
    s, config = run.scores, run.scores.get("config") or {}
    task, env, model = s["task"], s.get("environment") or {}, config.get("model") or {}
    seeds = config.get("seeds") or sorted({seed for block in (s.get("seeds") or {}).values() for seed in block.get("seeds", [])})
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in (s.get("timings") or {}).items())
    command, notes = run_command(run)
    caveat = [("p", "Note: " + "; ".join(notes) + ".")] if notes else []
    return [("code", command)] + caveat + [("list", [
        f"run folder `{run.path}`; config hash `{s.get('config_hash', '–')}`",
        f"generator `{model.get('generator', '–')}` (loaded from `{s.get('generator_path', '–')}`); embedder `{model.get('embedder', '–')}`",
        f"data: {task.get('source', '–')} License: {task.get('license', '–')}. Data hash `{task.get('data_hash', '–')}`; "
        f"{task.get('train_examples', '–')} training examples, {task.get('corpus_documents', '–')} corpus documents",
        "test items: " + ", ".join(f"{n} {stratum}" for stratum, n in (s.get("items") or {}).items()),
        f"seed {config.get('seed', '–')}" + (f"; fine-tuning repeated over seeds {', '.join(map(str, seeds))}" if seeds else ""),
        f"Python {env.get('python', '–')} on {env.get('machine', '–')}; GPU: {env.get('cuda') or 'none'}",
        "packages: " + ", ".join(f"{k} {v}" for k, v in (env.get("packages") or {}).items()),
        f"stage timings: {timings or '–'}",
    ])]


# ----------------------------------------------------------------------------- the document

def title_blocks(runs: list[Run]) -> list[tuple]:
    if len(runs) > 1:
        return [("h", 1, f"ftrag comparison: {len(runs)} runs"),
                ("list", [f"`{run.name}`: {run.scores['task']['kind']} task, generator `{(run.scores.get('config') or {}).get('model', {}).get('generator', '–')}`, "
                          f"config hash `{run.scores.get('config_hash', '–')}`" for run in runs])]
    s = runs[0].scores
    task, model = s["task"], (s.get("config") or {}).get("model", {})
    items = ", ".join(f"{n} {stratum}" for stratum, n in (s.get("items") or {}).items())
    return [("h", 1, f"ftrag report: {task['name']} ({task['kind']})"), ("p", task.get("description", "")),
            ("p", f"Model `{model.get('generator', '–')}`, embedder `{model.get('embedder', '–')}`; test items: {items}; "
                  f"{task.get('train_examples', '–')} training examples; {task.get('corpus_documents', '–')} corpus documents.")]


def verdict_blocks(runs: list[Run], defs: dict) -> list[tuple]:
    blocks: list[tuple] = [("h", 2, "Verdict")]
    if len(runs) == 1:
        blocks.append(("list", verdict(runs[0].scores)))
    else:
        for run in runs:
            blocks += [("p", f"**{run.name}**"), ("list", verdict(run.scores))]
        across = cross_run_verdict(runs, defs)
        blocks += [("p", "**Across runs**"), ("list", across)] if across else []
    return blocks + [("p", verdict_basis(runs))]


def verdict_basis(runs: list[Run]) -> str:
    """How the verdict judged significance: paired tests where scores.json has them, interval overlap elsewhere."""
    paired = [run.name for run in runs if run.scores.get("comparisons")]
    if len(paired) == len(runs):
        basis = "Differences within a run come from the paired tests stored in its scores.json."
    elif not paired:
        basis = "scores.json holds no paired tests: differences are judged by whether the arms' 95% intervals overlap, a cautious reading."
    else:
        basis = (f"Paired tests are stored for {', '.join(f'`{name}`' for name in paired)} only; the other runs are judged by "
                 "whether the arms' 95% intervals overlap, a cautious reading.")
    if len(runs) > 1:
        basis += " Different runs share no paired test: across runs only interval overlap is read."
    return basis


def accuracy_blocks(runs: list[Run], rows: list[Row], defs: dict, folder: Path) -> list[tuple]:
    notes = " ".join(dict.fromkeys(FAMILY_NOTES[family(run.scores)] for run in runs))
    notes += "".join(f" {run_prefix(run, runs)}Always answering the most frequent label, `{m['label']}`, would score "
                     f"{100 * m['accuracy']:.1f}% on these {m['items']} items." for run in runs if (m := run.scores.get("majority")))
    blocks = [("h", 2, "Accuracy"), ("p", f"Percentages with 95% bootstrap confidence intervals in brackets. {notes}"),
              accuracy_table(rows, defs)]
    if len(strata_of(rows)) > 1:
        blocks += [("h", 3, "By stratum"), stratum_table(rows, defs), stratum_plot(rows, defs, folder)]
    blocks += [accuracy_cost_plot(rows, defs, folder)]
    seeds = seeds_table(rows, defs)
    blocks += [("h", 3, "Across fine-tuning seeds"), seeds] if seeds else []
    return [b for b in blocks if b]


def comparison_blocks(runs: list[Run], defs: dict) -> list[tuple]:
    table = comparisons_table(runs, defs)
    if table is None:
        return [("h", 2, "Paired comparisons"), ("p", "scores.json holds no paired comparisons for this run.")]
    return [("h", 2, "Paired comparisons"),
            ("p", "Each test item answered by both arms is a pair. Difference in percentage points with its 95% paired-bootstrap "
                  "interval; McNemar's exact test where the metric is right/wrong per item. The headline metric is shown; "
                  "the tests on the other metrics are in scores.csv (section `comparison`)."), table]


def hallucination_blocks(rows: list[Row], defs: dict, folder: Path) -> list[tuple]:
    table = hallucination_table(rows, defs)
    if table is None:
        return [("h", 2, "Hallucination and retrieval"), ("p", "No hallucination or retrieval measures for this task.")]
    return [b for b in [("h", 2, "Hallucination and retrieval"), ("p", "↑: higher is better; ↓: lower is better."), table,
                        hallucination_plot(rows, defs, folder)] if b]


def run_prefix(run: Run, runs: list[Run]) -> str:
    return f"`{run.name}`: " if len(runs) > 1 else ""


MEMORY_NOTE = ("Peak memory: on GPU, the arm's own peak allocation; on CPU, the process's peak resident memory up to the "
               "end of the arm, fine-tuning included (the OS keeps no peak per stage), so it bounds what serving needs.")


def cost_blocks(runs: list[Run], rows: list[Row], folder: Path) -> list[tuple]:
    prices = [run_prefix(run, runs) + f"measured on {(run.scores.get('environment') or {}).get('machine', '–')}; "
              + ", ".join(f"{k} = {v}" for k, v in ((run.scores.get("config") or {}).get("prices") or {}).items()) for run in runs]
    break_evens = [run_prefix(run, runs) + line for run in runs for line in break_even_sentence(run.scores)]
    return [b for b in [("h", 2, "Cost"), ("p", "Money is measured seconds times the hour rates in the settings (`prices.*`): " + "; ".join(prices) + "."),
                        ("h", 3, "One-off"), one_off_cost_table(rows), ("h", 3, "Per query"), query_cost_table(rows),
                        ("p", MEMORY_NOTE),
                        ("list", break_evens) if break_evens else None, cumulative_cost_plot(runs, rows, folder)] if b]


def document(runs: list[Run], folder: Path) -> list[tuple]:
    rows, defs = rows_of(runs), definitions([run.scores for run in runs])
    examples = [("h", 2, "Examples where the arms disagree"),
                ("p", "Items whose score differs between arms, with each arm's answer and, for retrieval arms, the chunks it was given.")]
    examples += example_blocks(rows, defs, EXAMPLES_PER_RUN * len(runs))
    reproduce = [("h", 2, "Reproducibility")]
    for run in runs:
        reproduce += ([("h", 3, f"`{run.name}`")] if len(runs) > 1 else []) + reproducibility_blocks(run)
    return (title_blocks(runs) + verdict_blocks(runs, defs) + accuracy_blocks(runs, rows, defs, folder)
            + comparison_blocks(runs, defs) + hallucination_blocks(rows, defs, folder) + cost_blocks(runs, rows, folder)
            + examples + reproduce + [("h", 2, "Appendix: definitions"), definitions_table(runs, rows, defs)])


# ----------------------------------------------------------------------------- rendering

def markdown_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[tuple]) -> str:
    out = []
    for block in blocks:
        match block:
            case ("h", level, text):
                out.append(f"{'#' * level} {text}")
            case ("p", text):
                out.append(text)
            case ("list", items):
                out.append("\n".join(f"- {item}" for item in items))
            case ("table", head, body):
                lines = ["| " + " | ".join(map(markdown_cell, head)) + " |", "|" + "---|" * len(head)]
                out.append("\n".join(lines + ["| " + " | ".join(map(markdown_cell, r)) + " |" for r in body]))
            case ("img", path, caption):
                out.append(f"![{caption}]({path})")
            case ("code", text):
                out.append(f"```\n{text}\n```")
    return "\n\n".join(out) + "\n"


def inline_html(text: str) -> str:
    escaped = html.escape(str(text), quote=False)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)


def embedded_png(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def html_block(block: tuple, folder: Path) -> str:
    match block:
        case ("h", level, text):
            return f"<h{level}>{inline_html(text)}</h{level}>"
        case ("p", text):
            return f"<p>{inline_html(text)}</p>"
        case ("list", items):
            return "<ul>" + "".join(f"<li>{inline_html(item)}</li>" for item in items) + "</ul>"
        case ("table", head, body):
            rows = "".join("<tr>" + "".join(f"<td>{inline_html(c)}</td>" for c in r) + "</tr>" for r in body)
            return ("<div class=scroll><table><thead><tr>" + "".join(f"<th>{inline_html(h)}</th>" for h in head)
                    + f"</tr></thead><tbody>{rows}</tbody></table></div>")
        case ("img", path, caption):
            return (f'<figure><img src="{embedded_png(folder / path)}" alt="{html.escape(caption)}">'
                    f"<figcaption>{inline_html(caption)}</figcaption></figure>")
        case ("code", text):
            return f"<pre><code>{html.escape(text)}</code></pre>"
    raise ValueError(f"unknown report block {block[0]!r}")


STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; color: #222; max-width: 1200px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.7em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; } h3 { margin-top: 1.5em; }
.scroll { overflow-x: auto; margin: 1em 0; }
table { border-collapse: collapse; font-size: 0.88em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td:first-child { white-space: nowrap; } tbody tr:nth-child(even) { background: #fafafa; }
code { background: #f3f3f3; padding: 0 3px; border-radius: 3px; }
pre { background: #f3f3f3; padding: 0.8em; overflow-x: auto; } pre code { padding: 0; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
"""


def to_html(blocks: list[tuple], folder: Path) -> str:
    """One self-contained page: inline style, plots embedded as base64 PNG, no external resources."""
    page_title = next(block[2] for block in blocks if block[0] == "h")
    body = "\n".join(html_block(block, folder) for block in blocks)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(page_title)}</title>'
            f"<style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


# ----------------------------------------------------------------------------- scores.csv

CSV_COLUMNS = ["run", "arm", "versus", "section", "metric", "stratum", "mean", "low", "high", "n", "p_bootstrap", "p_mcnemar"]


def csv_records(row: Row) -> list[dict]:
    """Every interval of one arm (accuracy overall and per stratum, hallucination, retrieval) and every numeric cost."""
    base = {"run": row.run.name, "arm": row.arm}
    interval = lambda section, metric, stratum, ci: {**base, "section": section, "metric": metric, "stratum": stratum, **ci}
    accuracy = row.data["accuracy"]
    records = [interval("accuracy", m, "all", ci) for m, ci in accuracy.items() if m != "by_stratum"]
    records += [interval("accuracy", m, s, ci) for s, block in accuracy.get("by_stratum", {}).items() for m, ci in block.items()]
    records += [interval("hallucination", m, "all", ci) for m, ci in (row.data.get("hallucination") or {}).items()]
    if row.data.get("retrieval"):
        records.append(interval("retrieval", "recall_at_k", "all", row.data["retrieval"]["recall_at_k"]))
    records += [{**base, "section": "cost", "metric": key, "stratum": "all", "mean": value}
                for key, value in flat(row.data["cost"]).items()
                if isinstance(value, (int, float)) and not isinstance(value, bool)]
    return records


def comparison_records(run: Run) -> list[dict]:
    """Each stored paired test: the difference `arm` minus `versus` as an interval, with its p-values."""
    return [{"run": run.name, "arm": c["a"], "versus": c["b"], "section": "comparison", "metric": c["metric"],
             "stratum": c.get("stratum", "all"), **c["diff"], "p_bootstrap": c.get("p_bootstrap"), "p_mcnemar": c.get("p_mcnemar")}
            for c in run.scores.get("comparisons") or []]


def to_csv(runs: list[Run]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows_of(runs):
        writer.writerows(csv_records(row))
    for run in runs:
        writer.writerows(comparison_records(run))
    return buffer.getvalue()


# ----------------------------------------------------------------------------- entry points

def write_outputs(folder: Path, runs: list[Run]) -> Path:
    blocks = document(runs, folder)  # draws the plots into folder/plots first
    atomic_write_text(folder / "report.html", to_html(blocks, folder))
    atomic_write_text(folder / "scores.csv", to_csv(runs))
    path = folder / "report.md"
    atomic_write_text(path, to_markdown(blocks))
    return path


def write_report(run_dir: Path, scores: dict) -> Path:
    """report.md, report.html, plots/ and scores.csv of one run, from its scores and stored predictions."""
    return write_outputs(run_dir, [Run(run_dir, scores)])


def comparison_dir(run_dirs: list[Path], results: Path) -> Path:
    key = hashlib.sha256("\n".join(str(p.resolve()) for p in run_dirs).encode()).hexdigest()[:10]
    return results / f"compare-{key}"


def write_comparison(run_dirs: list[Path], out_dir: Path) -> Path:
    """One report across runs (same task on several models, or several tasks); rows are `<task>/<run_id>:<arm>`."""
    return write_outputs(out_dir, [load_run(path) for path in run_dirs])
