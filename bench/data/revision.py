"""A task's revision, for the knowledge-update experiment: `probes.update` in task.yaml names the test items whose
answers changed (with the old answers in `fields.stale`), the revised corpus (`corpus:`) and, optionally, the
revised training pairs (`train:`), each read with the fields of the part it revises.

```yaml
probes:
  update: {path: update.jsonl, corpus: corpus_v2.jsonl, train: train_v2.jsonl,
           fields: {id: id, input: question, target: answers, stale: old_answers, gold_docs: doc_ids}}
```
"""
from __future__ import annotations

from dataclasses import dataclass

from bench.data.readers import resolve_path
from bench.data.rows import Checker
from bench.data.spec import DataPart
from bench.data.tasks import Task, load_part, read_part
from bench.records.errors import UserError
from bench.records.items import Doc, Example


@dataclass(frozen=True)
class Revision:
    changed: list[Example]  # the test items whose answer the revision changed, with their new answers
    stale: dict[str, tuple[str, ...]]  # item id -> the answers that were right before
    corpus: list[Doc]  # the whole revised corpus
    train: list[Example] | None  # the whole revised training set, when the task gives one

    def touches(self, item: Example) -> bool:
        """Whether a test item asks about a changed fact: it shares a gold document (or has none) with a changed item
        and accepts one of that item's old answers. The rest are the unchanged facts."""
        return any(set(item.targets) & set(self.stale[c.id]) and (not item.gold_docs or set(item.gold_docs) & set(c.gold_docs))
                   for c in self.changed)


def load_revision(task: Task) -> Revision:
    """The task's revision, every problem in one message (file, line or field, and the fix)."""
    task_file = task.folder / "task.yaml"
    where = f"{task_file}: probes.update"
    spec = task.spec.probes.get("update")
    if spec is None:
        raise UserError(f"{where}: task '{task.name}' declares no revision. Add probes.update with the changed test items, "
                        "the revised corpus and the old answers (see the README, 'Knowledge update').")
    problems = [] if spec.corpus else [f"{where}.corpus: missing. Name the revised corpus file (with data.corpus's fields)."]
    problems += [] if spec.fields.stale else [f"{where}.fields.stale: missing. Name the column holding each item's old answers."]
    problems += [] if task.spec.data.corpus else [f"{where}: the task has no data.corpus to revise. Add one, or drop probes.update."]
    if problems:
        raise UserError.listing(f"{len(problems)} problem(s) in {where}:", problems)
    changed, found = load_items(task, spec, where)
    corpus, more = load_revised(task, "corpus", spec.corpus, task.spec.data.corpus, f"{where}.corpus")
    found += more
    train = None
    if spec.train and task.spec.data.train:
        train, more = load_revised(task, "train", spec.train, task.spec.data.train, f"{where}.train")
        found += more
    stale, more = stale_answers(task, spec, where, changed)
    if found + more:
        raise UserError.listing(f"{len(found + more)} problem(s) in {where}:", found + more)
    return Revision(changed, stale, corpus, train)


def load_items(task: Task, spec: DataPart, where: str) -> tuple[list[Example], list[str]]:
    part, _, problems = load_part("probes.update", spec, task.folder / "task.yaml", task.spec.kind)
    return (part.items if part else []), problems


def load_revised(task: Task, name: str, path: str, original: DataPart, where: str) -> tuple[list, list[str]]:
    """The revised corpus or training set, read with the fields of the part it revises."""
    part, _, problems = load_part(name, original.model_copy(update={"path": path, "hf": None, "loader": None}),
                                  task.folder / "task.yaml", task.spec.kind)
    return (part.items if part else []), [p.replace(f"data.{name}", where) for p in problems]


def stale_answers(task: Task, spec: DataPart, where: str, changed: list[Example]) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """Each changed item's old answers, from the column fields.stale names (at least one each)."""
    path = resolve_path(task.folder, spec.path, where)
    rows, _, _ = read_part(spec, task.folder, where)
    problems: list[str] = []
    stale = {}
    for record, at, item in zip(rows.records, rows.where, changed):
        values = Checker(record, at, problems).values("stale", spec.fields.stale, "Write the old answers as a list of strings")
        if not values and len(problems) < 20:
            problems.append(f"{at}: stale ('{spec.fields.stale}') is empty. List the answers that were right before the revision.")
        stale[item.id] = values
    if not rows.records:
        problems.append(f"{where}: {path.name} holds no items.")
    return stale, problems
