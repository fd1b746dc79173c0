"""All three synth tasks, written from one seed."""
from __future__ import annotations

from pathlib import Path

from bench.data.synth.cls import write_cls_task
from bench.data.synth.draft import write_draft_task
from bench.data.synth.qa import write_qa_task


def write_all_tasks(tasks_root: Path, seed: int = 0) -> list[Path]:
    """Write synth_qa, synth_cls and synth_draft under tasks_root; return the three folders."""
    writers = {"synth_qa": write_qa_task, "synth_cls": write_cls_task, "synth_draft": write_draft_task}
    for name, writer in writers.items():
        writer(tasks_root / name, seed)
    return [tasks_root / name for name in writers]
