"""The README's "Add your own domain task" section, followed literally: its files, its YAML, its commands."""
import json
import re
import shutil
import textwrap
from pathlib import Path

import pytest

from bench.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
SECTION = README[README.index("## Add your own domain task"):README.index("## Development")]


def readme_files() -> dict[str, str]:
    """{file name: contents} for every '**tasks/my_task/<file>**' heading followed by a code block."""
    blocks = re.findall(r"\*\*tasks/my_task/([\w.]+)\*\*.*?```\w*\n(.*?)```", SECTION, flags=re.S)
    return {name: textwrap.dedent(body) for name, body in blocks}


def test_readme_shows_every_file_a_task_needs():
    assert set(readme_files()) == {"corpus.jsonl", "train.jsonl", "test.jsonl", "task.yaml"}


def test_task_built_from_the_readme_validates_and_runs(tiny_model_dir, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "tasks" / "my_task"
    folder.mkdir(parents=True)
    for name, text in readme_files().items():
        (folder / name).write_text(text)
    monkeypatch.setenv("FTRAG_TASKS_DIR", str(tmp_path / "tasks"))
    assert main(["validate", "my_task"]) == 0
    assert "my_task: OK (qa; 2 corpus documents, 2 train, 2 test items)" in capsys.readouterr().out
    assert main(["run", "my_task", "--model", str(tiny_model_dir), "finetune.epochs=1", "finetune.corpus_epochs=1",
                 "finetune.raft_epochs=1", "generation.max_new_tokens=4"]) == 0
    (run,) = (tmp_path / "results" / "my_task").iterdir()
    assert json.loads((run / "scores.json").read_text())["items"] == {"all": 2}


@pytest.mark.parametrize("kind", ["qa", "classification", "drafting"])
def test_new_task_templates_validate_and_refuse_to_overwrite(kind, tmp_path, monkeypatch, capsys):
    tasks = tmp_path / "tasks"
    (tasks / "_template").mkdir(parents=True)
    template = Path(__file__).resolve().parents[1] / "tasks" / "_template" / kind
    shutil.copytree(template, tasks / "_template" / kind)
    monkeypatch.setenv("FTRAG_TASKS_DIR", str(tasks))
    assert main(["new-task", "mine", "--kind", kind]) == 0
    assert main(["validate", "mine"]) == 0 and f"mine: OK ({kind};" in capsys.readouterr().out
    assert main(["new-task", "mine", "--kind", kind]) == 2 and "already exists" in capsys.readouterr().err
