"""The report as one list of blocks, section by section: title, verdict, accuracy, paired comparisons,
hallucination, cost, examples, reproducibility, definitions. Every number shown is a value of scores.json (or,
for differences without a stored paired test, the difference of two of them)."""
from __future__ import annotations

from pathlib import Path

from bench.eval.cost import SHARED_CORES, shared_cores
from bench.report.examples import example_blocks
from bench.report.experiments import claim_blocks, curve_blocks, forgetting_blocks, update_blocks
from bench.report.formats import Data, code, literal
from bench.report.figures import accuracy_cost_plot, cumulative_cost_plot, hallucination_plot, loss_plot, stratum_plot
from bench.report.reproduce import reproducibility_blocks
from bench.report.sizes import size_blocks
from bench.report.runs import Row, Run, definitions, rows_of
from bench.report.tables import (accuracy_table, comparisons_table, definitions_table, fit_table, hallucination_table,
                                 one_off_cost_table, query_cost_table, seeds_table, strata_of, stratum_table)
from bench.report.verdict import break_even_sentence, cross_run_verdict, verdict

FAMILY_NOTES = {
    "qa": "Answerable items only (unanswerable ones are scored under hallucination).",
    "choice": "Each item is answered by choosing a label from the task's label set.",
    "drafting": "Drafts are scored against a reference text.",
}
EXAMPLES_PER_RUN = 4
MEMORY_NOTE = ("Peak memory: on GPU, the arm's own peak allocation; on CPU, the arm's own peak resident memory (Linux's "
               "peak is reset at each stage; on other systems, the process's peak so far, which bounds it from above).")
CPU_SHARE_NOTE = ("CPU share: the share of its threads' time the process ran on a CPU while the arm trained or "
                  "answered (on a GPU, –). Near 100% the cores were its own; about 50% means another busy process "
                  "shared them and stretched the seconds that cost is priced from.")


def run_prefix(run: Run, runs: list[Run]) -> str:
    return f"{code(run.name)}: " if len(runs) > 1 else ""


def title_blocks(runs: list[Run]) -> list[tuple]:
    if len(runs) > 1:
        return [("h", 1, f"ftrag comparison: {len(runs)} runs"),
                ("list", [f"{code(run.name)}: {run.scores.task.kind} task, generator {code(run.scores.config.get('model', {}).get('generator', '–'))}, "
                          f"config hash {code(run.scores.config_hash)}" for run in runs])]
    s = runs[0].scores
    model = s.config.get("model", {})
    items = ", ".join(f"{n} {literal(stratum)}" for stratum, n in s.items.items())
    return [("h", 1, f"ftrag report: {literal(s.task.name)} ({s.task.kind})"), ("p", Data(s.task.description)),
            ("p", f"Model {code(model.get('generator', '–'))}, embedder {code(model.get('embedder', '–'))}; test items: {items}; "
                  f"{s.task.train_examples} training examples; {s.task.corpus_documents} corpus documents.")]


def verdict_blocks(runs: list[Run], defs: dict) -> list[tuple]:
    blocks: list[tuple] = [("h", 2, "Verdict")]
    if len(runs) == 1:
        blocks.append(("list", verdict(runs[0].scores, definitions(runs))))
    else:
        for run in runs:
            blocks += [("p", f"**{literal(run.name)}**"), ("list", verdict(run.scores, definitions([run])))]
        across = cross_run_verdict(runs, defs)
        blocks += [("p", "**Across runs**"), ("list", across)] if across else []
    return blocks + [("p", verdict_basis(runs))]


def verdict_basis(runs: list[Run]) -> str:
    """How the verdict judged significance: paired tests where scores.json has them, interval overlap elsewhere."""
    paired = [run.name for run in runs if run.scores.comparisons]
    if len(paired) == len(runs):
        basis = "Differences within a run come from the paired tests stored in its scores.json."
    elif not paired:
        basis = "scores.json holds no paired tests: differences are judged by whether the arms' 95% intervals overlap, a cautious reading."
    else:
        basis = (f"Paired tests are stored for {', '.join(code(name) for name in paired)} only; the other runs are judged by "
                 "whether the arms' 95% intervals overlap, a cautious reading.")
    if len(runs) > 1:
        basis += " Different runs share no paired test: across runs only interval overlap is read."
    return basis


def accuracy_blocks(runs: list[Run], rows: list[Row], defs: dict, folder: Path) -> list[tuple]:
    notes = " ".join(dict.fromkeys(FAMILY_NOTES[run.scores.family] for run in runs))
    notes += "".join(f" {run_prefix(run, runs)}Always answering the most frequent label, {code(m.label)}, would score "
                     f"{100 * m.accuracy:.1f}% on these {m.items} items." for run in runs if (m := run.scores.majority))
    blocks = [("h", 2, "Accuracy"), ("p", f"Percentages with 95% confidence intervals in brackets (Wilson for rates, a percentile bootstrap for means such as F1). {notes}"),
              accuracy_table(rows, defs)]
    if len(strata_of(rows)) > 1:
        blocks += [("h", 3, "By stratum"), stratum_table(rows, defs), stratum_plot(rows, defs, folder)]
    blocks += [accuracy_cost_plot(rows, defs, folder)]
    seeds = seeds_table(rows, defs)
    blocks += [("h", 3, "Across fine-tuning seeds"), seeds] if seeds else []
    return [b for b in blocks if b]


def fit_blocks(rows: list[Row], defs: dict, folder: Path) -> list[tuple]:
    table = fit_table(rows, defs)
    if table is None:
        return []
    return [b for b in [("h", 2, "Did fine-tuning learn?"),
                        ("p", "Before a fine-tuned arm is compared, it should answer the questions it was trained on. Each adapter "
                              "answered a sample of its own training questions. Where an adapter had held-out pairs, training stopped "
                              "when their loss stopped improving, keeping the best epoch's weights. A closed-book adapter on open "
                              "questions has none (unless the task gives data.validation) and trains every epoch on every pair: "
                              "each pair states its own fact, so pairs about other facts cannot tell it when it has learned."), table, loss_plot(rows, folder)] if b]


def comparison_blocks(runs: list[Run], defs: dict) -> list[tuple]:
    table = comparisons_table(runs, defs)
    if table is None:
        return [("h", 2, "Paired comparisons"), ("p", "scores.json holds no paired comparisons for this run.")]
    return [("h", 2, "Paired comparisons"),
            ("p", "Each test item answered by both arms is a pair. Difference in percentage points with its 95% interval: for "
                  "right/wrong scores McNemar's mid-p test and Newcombe's score interval, for other scores a paired bootstrap; "
                  "with several fine-tuning seeds, a bootstrap over seeds and items, so seed-to-seed variance counts. The "
                  "comparisons the verdict draws are Holm-adjusted together; a difference is called significant at 5% (after "
                  "that adjustment where it applies). The headline metric is shown; the other metrics' tests are in scores.csv "
                  "(section `comparison`)."), table]


def hallucination_blocks(rows: list[Row], defs: dict, folder: Path) -> list[tuple]:
    table = hallucination_table(rows, defs)
    if table is None:
        return [("h", 2, "Hallucination and retrieval"), ("p", "No hallucination or retrieval measures for this task.")]
    return [b for b in [("h", 2, "Hallucination and retrieval"), ("p", "↑: higher is better; ↓: lower is better."), table,
                        hallucination_plot(rows, defs, folder)] if b]


def cost_blocks(runs: list[Run], rows: list[Row], folder: Path) -> list[tuple]:
    prices = [run_prefix(run, runs) + f"measured on {literal(run.scores.environment.machine)}; "
              + ", ".join(f"{k} = {v}" for k, v in (run.scores.config.get("prices") or {}).items()) for run in runs]
    break_evens = [run_prefix(run, runs) + line for run in runs for line in break_even_sentence(run.scores)]
    return [b for b in [("h", 2, "Cost"), ("p", "Money is measured seconds times the hour rates in the settings (`prices.*`): " + "; ".join(prices) + "."),
                        ("h", 3, "One-off"), one_off_cost_table(rows), ("h", 3, "Per query"), query_cost_table(rows),
                        ("p", MEMORY_NOTE + " " + CPU_SHARE_NOTE), shared_cores_note(rows),
                        ("list", break_evens) if break_evens else None, cumulative_cost_plot(runs, rows, folder)] if b]


def shared_cores_note(rows: list[Row]) -> tuple | None:
    """Which arms' seconds other work stretched, and how to measure them on an idle machine."""
    busy = [f"{row.label}'s {stage} {share:.0%}" for row in rows for stage, share in shared_cores(row.data.cost)]
    if not busy:
        return None
    return ("p", f"Other work most likely shared the cores while some arms ran ({'; '.join(busy)} of their threads' "
                 f"time, where a stage alone has {SHARED_CORES:.0%} or more): their seconds, and the costs and "
                 "break-even priced from them, run high. Measure them on an idle machine, with `FTRAG_CACHE_DIR` set "
                 "to an empty folder so that cached adapters train again.")


def experiment_blocks(runs: list[Run], folder: Path) -> list[tuple]:
    """Each run's experiment sections (`ftrag update`, `ftrag forgetting`), where it has them."""
    blocks = []
    for n, run in enumerate(runs):
        prefix = f"run{n}-" if len(runs) > 1 else ""
        found = update_blocks(run, folder, prefix) + forgetting_blocks(run, folder, prefix) + curve_blocks(run, folder, prefix)
        blocks += ([("p", f"**{literal(run.name)}**")] if found and len(runs) > 1 else []) + found
    return blocks


def document(runs: list[Run], folder: Path) -> list[tuple]:
    """Every block of the report, in order; draws the plots into folder/plots on the way."""
    rows, defs = rows_of(runs), definitions(runs)
    examples = [("h", 2, "Examples where the arms disagree"),
                ("p", "Items whose score differs between arms, with each arm's answer and, for retrieval arms, the chunks it was given.")]
    examples += example_blocks(rows, defs, EXAMPLES_PER_RUN * len(runs))
    reproduce = [("h", 2, "Reproducibility")]
    for run in runs:
        reproduce += ([("h", 3, code(run.name))] if len(runs) > 1 else []) + reproducibility_blocks(run)
    return (title_blocks(runs) + verdict_blocks(runs, defs) + accuracy_blocks(runs, rows, defs, folder)
            + fit_blocks(rows, defs, folder) + comparison_blocks(runs, defs) + hallucination_blocks(rows, defs, folder) + cost_blocks(runs, rows, folder)
            + size_blocks(runs, defs, folder) + experiment_blocks(runs, folder) + claim_blocks(runs) + examples + reproduce + [("h", 2, "Appendix: definitions"), definitions_table(runs, rows, defs)])
