"""Items where the arms disagree, with each arm's answer and the chunks it was given."""
from __future__ import annotations

from bench.records.scores import ScoredItem
from bench.report.formats import Data, code, literal, short
from bench.report.runs import Row, label_of

Group = list[tuple[Row, ScoredItem]]  # one item as each arm answered it


def outcome(item: ScoredItem, metric: str) -> str:
    """What an item's score says, comparable across arms: the metric value, or whether an unanswerable item was declined."""
    value = item.scores.get(metric)
    if value is not None and value == value:
        return f"{value:.2f}"
    if "abstain_on_unanswerable" in item.scores:
        return "declined" if item.scores["abstain_on_unanswerable"] else "answered"
    return "–"


def disagreements(rows: list[Row], limit: int) -> list[Group]:
    """Items the arms score differently, most distinct outcomes first, taken in turn from each stratum."""
    answers: dict[tuple[str, str], Group] = {}
    for row in rows:
        for item in row.run.items(row.arm):
            answers.setdefault((row.run.scores.task.name, item.id), []).append((row, item))
    distinct = lambda group: len({outcome(item, row.run.scores.headline) for row, item in group})
    split = sorted((group for group in answers.values() if distinct(group) > 1), key=lambda group: -distinct(group))
    by_stratum: dict[str, list[Group]] = {}
    for group in split:
        by_stratum.setdefault(group[0][1].stratum, []).append(group)
    chosen, queues = [], list(by_stratum.values())
    while queues and len(chosen) < limit:
        chosen += [queue.pop(0) for queue in queues][: limit - len(chosen)]
        queues = [queue for queue in queues if queue]
    return chosen


def example_blocks(rows: list[Row], defs: dict, limit: int) -> list[tuple]:
    blocks = []
    for group in disagreements(rows, limit):
        first = group[0][1]
        metric = group[0][0].run.scores.headline
        gold = " | ".join(literal(short(g, 300)) for g in first.gold) or "(none: the right answer is to decline)"
        blocks += [("h", 3, f"{code(first.id)} ({literal(first.stratum)})"),
                   ("p", f"**Input:** {literal(short(first.input, 400))}"), ("p", f"**Gold:** {gold}"),
                   ("table", ["arm", "answer", label_of(defs, metric), "retrieved chunks"],
                    [[Data(row.label), Data(short(item.output, 300)), outcome(item, metric), Data(", ".join(item.retrieved) or "–")]
                     for row, item in group])]
    return blocks or [("p", "No stored predictions where the arms disagree.")]
