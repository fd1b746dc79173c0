"""The verdict: the headline findings in plain words, every number a value of scores.json (or a difference of two)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from bench.eval.claims import ft_read_the_corpus
from bench.eval.comparisons import fine_tune_vs_retrieval, ranked
from bench.records.scores import Interval, ScoresFile
from bench.report.experiments import curve_sentences, forgetting_summary, update_sentences
from bench.report.formats import capitalized, code, has_value, literal, mid_sentence, pct_brief, pct_words, points, pvalue, title, usd
from bench.report.runs import Run, label_of

# The hallucination measure the verdict names, first found: the most direct sign of made-up answers per family.
HALLUCINATION_HEADLINES = ["abstain_on_unanswerable", "contradicted", "confident_errors"]


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
    ci_a: Interval | None = None
    ci_b: Interval | None = None
    test: str = ""
    p_holm: float | None = None  # the verdict's comparisons: adjusted over all of them

    @property
    def paired(self) -> bool:
        return self.low is not None

    @property
    def significant(self) -> bool:
        if self.paired:
            return (self.p_holm if self.p_holm is not None else self.p) < 0.05
        return self.ci_a.low > self.ci_b.high or self.ci_b.low > self.ci_a.high

    def leader_first(self) -> Diff:
        if self.mean >= 0:
            return self
        return Diff(self.b, self.a, -self.mean, None if self.high is None else -self.high,
                    None if self.low is None else -self.low, self.p, self.ci_b, self.ci_a, self.test, self.p_holm)


def paired_diff(scores: ScoresFile, a: str, b: str, metric: str, stratum: str) -> Diff | None:
    """The stored paired comparison of a and b, turned to read a minus b whichever way it was stored."""
    for c in scores.comparisons:
        if c.metric != metric or c.stratum != stratum:
            continue
        d = c.diff
        if (c.a, c.b) == (a, b):
            return Diff(a, b, d.mean, d.low, d.high, c.p, test=c.test, p_holm=c.p_holm)
        if (c.a, c.b) == (b, a):
            return Diff(a, b, -d.mean, -d.high, -d.low, c.p, test=c.test, p_holm=c.p_holm)
    return None


def difference(scores: ScoresFile, a: str, b: str, metric: str, stratum: str = "all") -> Diff:
    found = paired_diff(scores, a, b, metric, stratum)
    if found:
        return found
    ci_a, ci_b = scores.interval(a, metric, stratum), scores.interval(b, metric, stratum)
    return Diff(a, b, ci_a.mean - ci_b.mean, ci_a=ci_a, ci_b=ci_b)


def diff_sentence(d: Diff, metric: str, where: str = "") -> str:
    """Plain words for a difference: who is ahead, by how many points, and whether that is more than noise."""
    d = d.leader_first()
    a, b = title(d.a), title(d.b)
    if math.isnan(d.mean):
        return f"No difference on {metric}{where} between {a} and {b}: no item has a score from both."
    if d.paired:
        p = f", {d.test} p {'' if d.p <= 0.001 else '= '}{pvalue(d.p)}"
        p += "" if d.p_holm is None else f", Holm-adjusted {'' if d.p_holm <= 0.001 else '= '}{pvalue(d.p_holm)}"
        interval = f"95% CI {points(d.low)} to {points(d.high)}{p}"
        if d.significant:
            return f"{capitalized(a)} scores {points(d.mean)} points higher than {b} on {metric}{where} ({interval})."
        # an interval that excludes zero beside "no significant difference" needs its reason said
        after_holm = " after Holm adjustment" if d.p_holm is not None and d.p < 0.05 else ""
        return f"No significant difference{after_holm} between {a} and {b} on {metric}{where}: {points(d.mean)} points ({interval})."
    both = f"{pct_brief(d.ci_a)} vs {pct_brief(d.ci_b)}"
    if d.significant:
        return f"{capitalized(a)} scores {points(d.mean)} points higher than {b} on {metric}{where} ({both}; the 95% intervals do not overlap)."
    return f"No clear difference between {a} and {b} on {metric}{where} ({both}; the 95% intervals overlap)."


def secondary_metric_sentences(scores: ScoresFile, pair: tuple[str, str], defs: dict) -> list[str]:
    """Other metrics of the family on which the pair's order clearly flips (e.g. RAG's verbose answers fail
    exact match but contain the right answer): the headline alone would mislead there."""
    leader = difference(scores, *pair, scores.headline).leader_first().a
    lines = []
    for metric in scores.metrics[1:]:
        if all(has_value(scores.interval(arm, metric)) for arm in pair):
            d = difference(scores, *pair, metric)
            if d.significant and d.leader_first().a != leader:
                lines.append(f"On {label_of(defs, metric)} the order flips: " + mid_sentence(diff_sentence(d, label_of(defs, metric))))
    return lines


def tied_leaders(scores: ScoresFile, order: list[str], metric: str) -> list[str]:
    """The arms sharing the first place of a ranking."""
    top = scores.interval(order[0], metric).mean
    return [arm for arm in order if scores.interval(arm, metric).mean == top]


def best_arm_sentence(scores: ScoresFile, metric: str, defs: dict) -> list[str]:
    order = ranked(scores, list(scores.arms), metric)
    if not order:
        return []
    tied = tied_leaders(scores, order, metric)
    if len(tied) > 1:
        return [f"No single best arm on {label_of(defs, metric)}: {', '.join(map(title, tied))} tie at {points(scores.interval(tied[0], metric).mean)}%."]
    text = f"Best arm on {label_of(defs, metric)}: {title(order[0])}, {pct_words(scores.interval(order[0], metric))}."
    if len(order) > 1:
        text += " " + diff_sentence(difference(scores, order[0], order[1], metric), label_of(defs, metric))
    return [text]


def hallucination_sentence(scores: ScoresFile, defs: dict) -> list[str]:
    """The arm doing best on the family's main hallucination measure."""
    present = [m for arm in scores.arms.values() for m in arm.hallucination]
    measure = next((m for m in HALLUCINATION_HEADLINES if m in present), present[0] if present else None)
    if measure not in defs:
        return []
    better = defs[measure].better
    order = ranked(scores, list(scores.arms), measure, lower_is_better=better == "lower")
    if not order:
        return []
    tied = tied_leaders(scores, order, measure)
    if len(tied) > 1:
        return [f"On {label_of(defs, measure)} ({better} is better), {', '.join(map(title, tied))} tie at {pct_words(scores.interval(tied[0], measure))}."]
    return [f"On {label_of(defs, measure)} ({better} is better), {title(order[0])} does best: "
            f"{pct_words(scores.interval(order[0], measure))}{saying_less_clause(scores, order[0], defs)}."]


def saying_less_clause(scores: ScoresFile, leader: str, defs: dict) -> str:
    """A hallucination measure rewards saying less (declining, stating fewer values): where the arm doing best on it
    is plainly less accurate than the best arm (their intervals apart), say so beside it. synth_draft's few-shot arm
    was "best" on confidently wrong drafts while stating 0.8% of the facts asked for."""
    metric = scores.headline
    best = ranked(scores, list(scores.arms), metric)
    if not best or best[0] == leader or not has_value(mine := scores.interval(leader, metric)):
        return ""
    top = scores.interval(best[0], metric)
    if mine.high >= top.low:
        return ""
    return (f", but it scores {pct_brief(mine)} on {label_of(defs, metric)} against {pct_brief(top)} for "
            f"{title(best[0])}: a hallucination measure rewards saying less, so read it beside accuracy")


def majority_sentence(scores: ScoresFile, metric: str) -> list[str]:
    """Label choice has a floor: always answering the most frequent label. Which arms clear it beyond noise?"""
    floor = scores.majority  # stored for label-choice runs only, whose headline is accuracy
    if not floor:
        return []
    above = [title(arm) for arm in scores.arms if has_value(ci := scores.interval(arm, metric)) and ci.low > floor.accuracy]
    clears = f"arms whose 95% interval lies wholly above it: {', '.join(above)}" if above else "no arm's 95% interval lies wholly above it"
    return [f"Always answering {code(floor.label)} scores {100 * floor.accuracy:.1f}%; {clears}."]


# an arm that gives one label to at least this share of the items barely tells them apart
ONE_LABEL_SHARE = 0.9


def one_label_sentence(scores: ScoresFile) -> list[str]:
    """Label choice: which arms give one label to nearly every item, where the gold labels vary more? Their accuracy
    comes to about the share of items whose gold label that is, not to a reading of the items (a small model copying
    a few-shot example's label: SmolLM2-135M on banking77, 99 of 100 items)."""
    floor = scores.majority
    if not floor:
        return []
    stuck = [(arm, m, data.items) for arm, data in scores.arms.items() if (m := data.modal_answer)
             and m.count >= ONE_LABEL_SHARE * data.items and m.count / data.items > floor.accuracy]
    if not stuck:
        return []
    said = "; ".join(f"{title(arm)} answers {code(m.label)} for {m.count} of {items} items (the gold label of "
                     f"{m.gold_count})" for arm, m, items in stuck)
    share = f"{100 * ONE_LABEL_SHARE:.0f}%"
    return [f"{capitalized(said)}: an arm that gives one label to {share} of the items or more barely tells them "
            "apart, and its accuracy comes to about the share of items whose gold label that is."]


def break_even_sentence(scores: ScoresFile) -> list[str]:
    be = scores.break_even
    if not be or not all(a in scores.arms for a in be.arms):
        return []
    ft, rag = (title(a) for a in be.arms)
    assumptions = f" Assumptions: {be.assumptions}" if be.assumptions else ""
    if be.queries is None:
        return [f"{capitalized(ft)} is not cheaper per query than {rag}, so it never repays its one-off cost.{assumptions}"]
    if be.extra_one_off_usd <= 0:
        return [f"{capitalized(ft)} costs no more than {rag} up front and less per query: it is cheaper from the first query.{assumptions}"]
    return [f"{capitalized(ft)} costs {usd(be.extra_one_off_usd)} USD more up front and saves {usd(be.saving_per_query_usd)} USD "
            f"per query, so it breaks even with {rag} after about {be.queries:,.0f} queries.{assumptions}"]


def cheaper_per_query(scores: ScoresFile, pair: tuple[str, str]) -> str:
    return min(pair, key=lambda arm: scores.arms[arm].cost.usd_per_1k_queries)


def cheaper_but_worse_sentence(scores: ScoresFile, pair: tuple[str, str], d: Diff, metric: str) -> list[str]:
    """A break-even compares cost alone: say so when the cheaper arm is also significantly less accurate."""
    d, cheaper = d.leader_first(), cheaper_per_query(scores, pair)
    if not d.significant or d.b != cheaper:
        return []
    return [f"Cost alone favours {title(cheaper)}, but it scores {points(d.mean)} points lower on {metric}."]


def cost_sentences(scores: ScoresFile, pair: tuple[str, str] | None) -> list[str]:
    if pair is None:
        return []
    (a, ca), (b, cb) = ((arm, scores.arms[arm].cost) for arm in pair)
    cheaper = cheaper_per_query(scores, pair)
    return [f"{capitalized(title(cheaper))} is cheaper per query: {title(a)} {usd(ca.usd_per_1k_queries)} vs {title(b)} "
            f"{usd(cb.usd_per_1k_queries)} USD per 1,000 queries; one-off (training, index): {usd(ca.one_off_usd)} vs "
            f"{usd(cb.one_off_usd)} USD."] + break_even_sentence(scores)


def verdict(scores: ScoresFile, defs: dict) -> list[str]:
    """The headline findings in plain words, each number a scores.json value (or a difference of two)."""
    metric = scores.headline
    lines = best_arm_sentence(scores, metric, defs) + majority_sentence(scores, metric) + one_label_sentence(scores)
    pair = fine_tune_vs_retrieval(scores, metric)
    caveat = []
    if pair:
        pair_diff = difference(scores, *pair, metric)
        lines.append(diff_sentence(pair_diff, label_of(defs, metric)))
        lines += secondary_metric_sentences(scores, pair, defs)
        strata = list(scores.arms[pair[0]].by_stratum)
        for stratum in strata if len(strata) > 1 else []:
            if has_value(scores.interval(pair[0], metric, stratum)) and has_value(scores.interval(pair[1], metric, stratum)):
                lines.append(diff_sentence(difference(scores, *pair, metric, stratum), label_of(defs, metric), f" among {literal(stratum)} items"))
        caveat = cheaper_but_worse_sentence(scores, pair, pair_diff, label_of(defs, metric))
    return lines + corpus_sentence(scores) + augmentation_sentence(scores, defs) + fit_sentence(scores, defs) \
        + hallucination_sentence(scores, defs) + cost_sentences(scores, pair) + caveat + experiment_sentences(scores)


def experiment_sentences(scores: ScoresFile) -> list[str]:
    """The experiments' findings, where they have run: who stays current at what cost, what fine-tuning forgot."""
    lines = update_sentences(scores.update)[:2] if scores.update else []
    lines += [forgetting_summary(scores.forgetting)] if scores.forgetting else []
    curve = scores.curve
    return lines + (["Learning curve: " + " ".join(curve_sentences(curve, scores.definitions[curve.metric].label))] if curve else [])


def corpus_sentence(scores: ScoresFile) -> list[str]:
    """A closed-book arm trained without the corpus was never given the facts RAG reads: say so in the verdict."""
    if "ft" not in scores.arms or not scores.task.corpus_documents or ft_read_the_corpus(scores):
        return []  # (ft_plain runs only where ft reads the corpus)
    return [f"{capitalized(title('ft'))} trained on the training examples alone "
            f"(`finetune.corpus_epochs: 0`): it never read the {scores.task.corpus_documents:,} corpus documents RAG "
            "retrieves from, so RAG against it sets retrieval against a model never given their facts; set "
            "`finetune.corpus_epochs` to 1 or more to compare them on the same knowledge."]


def augmentation_sentence(scores: ScoresFile, defs: dict) -> list[str]:
    """What training on the corpus's paraphrases bought (ft) over the corpus alone (ft_plain)."""
    if not {"ft", "ft_plain"} <= set(scores.arms):
        return []
    metric = label_of(defs, scores.headline)
    return ["Paraphrase augmentation: " + mid_sentence(diff_sentence(difference(scores, "ft", "ft_plain", scores.headline), metric))]


def fit_sentence(scores: ScoresFile, defs: dict) -> list[str]:
    """Whether each adapter learned its own training questions: a comparison with an unfit adapter is premature,
    unless its held-out loss had already turned, when more epochs would only overfit."""
    fits = {arm: data.fit for arm, data in scores.arms.items() if data.fit is not None and data.fit.has_value}
    if not fits:
        return []
    said = "; ".join(f"{title(arm)} {pct_words(fit)}" for arm, fit in fits.items())
    low = {arm: scores.arms[arm].cost.train for arm, fit in fits.items() if fit.mean < 0.8}
    turned = {arm: t for arm, t in low.items() if t and t.validation_losses and t.best_epoch < t.epochs_run}
    unfit = [title(arm) for arm in low if arm not in turned]
    warning = (f" Below 80% ({', '.join(unfit)}), the adapter has not learned its training data: train longer before "
               "trusting its comparison.") if unfit else ""
    if turned:
        where = ", ".join(f"{title(arm)} at epoch {t.best_epoch} of the {t.epochs_run} it ran"
                          for arm, t in turned.items())
        warning += (f" Below 80% with its held-out loss lowest before its last epoch ({where}): more epochs would fit "
                    "its training questions better and held-out ones worse, so its comparison is this model's best on "
                    "these training examples; more examples or a larger model may do better.")
    return [f"{label_of(defs, 'fit').capitalize()}: {said}.{warning}"]


def cross_run_verdict(runs: list[Run], defs: dict) -> list[str]:
    """For each task compared over several runs: the best arm of each run, the top two set against each other.
    Different runs share no paired test, so this reads interval overlap only."""
    lines = []
    for task in dict.fromkeys(run.scores.task.name for run in runs):
        group = [run for run in runs if run.scores.task.name == task]
        metric = group[0].scores.headline
        if len(group) < 2 or any(run.scores.headline != metric for run in group):
            continue
        bests = [(f"{run.name}:{order[0]}", run.scores.interval(order[0], metric))
                 for run in group if (order := ranked(run.scores, list(run.scores.arms), metric))]
        bests.sort(key=lambda best: -best[1].mean)
        if len(bests) >= 2:
            (a, ci_a), (b, ci_b) = bests[:2]
            lines.append(f"Across the {len(group)} {literal(task)} runs, comparing each run's best arm: "
                         + diff_sentence(Diff(a, b, ci_a.mean - ci_b.mean, ci_a=ci_a, ci_b=ci_b), label_of(defs, metric)))
    return lines
