"""Checks across a task's parts once each is read: unique ids, gold documents that exist, labels that match the
data. Each problem names the record (file and line) or the task.yaml field, and the fix."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.data.spec import DataPart, TaskSpec
from bench.data.textfile import capped

SCORED_PROBES = ("unanswerable", "general")  # scored together with the test items
KNOWN_PROBES = (*SCORED_PROBES, "update")  # the update probe needs its own corpus and runs apart


@dataclass
class Part:
    """One loaded data part: `origins[i]` says where `items[i]` (a Doc or an Example) came from."""

    name: str  # corpus, train, probes.unanswerable...
    where: str  # "<task.yaml>: data.corpus"
    spec: DataPart
    items: list[Any] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)
    source: str = ""  # the file (or dataset) it was read from


def duplicate_ids(parts: list[Part]) -> list[str]:
    """Ids repeated within a part, and across the test items and the scored probes (which are scored together)."""
    problems = []
    for part in parts:
        if part.name != "paraphrases":  # a paraphrase shares the id of the document it rephrases
            problems += _repeats([part], "Give each record its own id")
    scored = [p for p in parts if p.name == "test" or p.name.removeprefix("probes.") in SCORED_PROBES]
    if len(scored) > 1:
        problems += _repeats(scored, "Ids must be unique across data.test and the scored probes", across=True)
    return problems


def _repeats(parts: list[Part], fix: str, across: bool = False) -> list[str]:
    seen: dict[str, tuple[str, str]] = {}
    problems = []
    for part in parts:
        for item, origin in zip(part.items, part.origins):
            first = seen.setdefault(item.id, (part.name, origin))
            if first[1] != origin and (not across or first[0] != part.name):
                problems.append(f"{origin}: id '{item.id}' is used again (first at {first[1]}). {fix}.")
    return capped(problems, parts[-1].source)


def dangling_references(parts: dict[str, Part], spec: TaskSpec) -> list[str]:
    """Gold document ids and paraphrased document ids that name no corpus document."""
    corpus = parts.get("corpus")
    if corpus is None and spec.data.corpus is not None:
        return []  # the corpus did not load: its own problems say why
    ids = {doc.id for doc in corpus.items} if corpus else set()
    problems = []
    for part in parts.values():
        if part.name == "corpus" or (part.name != "paraphrases" and not part.spec.fields.gold_docs):
            continue
        if corpus is None:
            problems.append(f"{part.where}: {'paraphrases need' if part.name == 'paraphrases' else 'fields.gold_docs needs'} "
                            f"a corpus, and the task has none. Add data.corpus, or remove this.")
            continue
        if part.name == "paraphrases" and not part.spec.fields.id:
            problems.append(f"{part.where}.fields.id: is not set, and each paraphrase needs the id of the document it "
                            f"rephrases. Set fields.id to that column.")
            continue
        found = []
        for item, origin in zip(part.items, part.origins):
            missing = [item.id] if part.name == "paraphrases" else [d for d in item.gold_docs if d not in ids]
            if missing and (part.name != "paraphrases" or item.id not in ids):
                found.append(f"{origin}: {'paraphrased' if part.name == 'paraphrases' else 'gold'} document "
                             f"{', '.join(repr(d) for d in missing)} is not in the corpus ({corpus.source}). "
                             f"Fix the id, or add that document to the corpus.")
        problems += capped(found, part.source)
    return problems


def label_problems(spec: TaskSpec, where: str) -> list[str]:
    """The label list itself: present when needed, no empty or repeated label."""
    if spec.labels is None:
        if spec.kind == "classification" and not spec.labels_file:
            return [f"{where}: labels: a classification task must list its labels (or name a labels_file)."]
        return []
    if not spec.labels:
        return [f"{where}: labels: is empty. List the labels, e.g. labels: [billing, delivery], or remove the key."]
    problems = [f"{where}: labels: entry {n} is empty. Write the label or remove the entry."
                for n, label in enumerate(spec.labels, 1) if not label.strip()]
    problems += [f"{where}: labels: '{label}' is listed {spec.labels.count(label)} times. List each label once."
                 for label in sorted(set(spec.labels)) if spec.labels.count(label) > 1]
    if spec.kind == "drafting":
        problems.append(f"{where}: labels: a drafting task has no fixed answer set. Remove labels, or use kind: classification.")
    return problems


def target_problems(spec: TaskSpec, parts: dict[str, Part], where: str) -> list[str]:
    """Targets that are not labels, labels no item uses, a qa test without any answer."""
    problems = []
    test = parts["test"].items if "test" in parts else []
    for name in ("train", "validation", "test") if spec.kind != "qa" else ():
        if name in parts and not parts[name].spec.fields.target:
            needed = "the label" if spec.kind == "classification" else "the reference text"
            problems.append(f"{where}: data.{name}.fields.target: a {spec.kind} task needs {needed} of every item. "
                            f"Set fields.target to the column that holds it.")
    if spec.kind == "qa" and test and not any(ex.answerable for ex in test):
        problems.append(f"{where}: data.test: no item has a target answer; set data.test.fields.target to the answer column.")
    if not spec.labels or spec.kind == "drafting":
        return problems
    labelled = [name for name in ("train", "validation", "test") if name in parts]
    for name in labelled:
        unknown = sorted({t for ex in parts[name].items for t in ex.targets} - set(spec.labels))
        if unknown:
            problems.append(f"{where}: data.{name}: targets not in labels: {', '.join(unknown[:10])}. Add them to labels or fix the data.")
    used = {t for name in labelled for ex in parts[name].items for t in ex.targets}
    unused = [label for label in spec.labels if label not in used and label.strip()]
    if used and unused:
        problems.append(f"{where}: labels: {', '.join(unused[:10])} appear in no train or test item. Check the spelling or remove them.")
    return problems


def probe_problems(spec: TaskSpec, where: str) -> list[str]:
    return [f"{where}: probes.{name}: unknown probe. Use one of: {', '.join(KNOWN_PROBES)}."
            for name in spec.probes if name not in KNOWN_PROBES]
