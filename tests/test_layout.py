"""The package's architecture, checked: layers import only downwards, no import cycle, no import hidden in a
function to dodge one, files small enough to read, and scoring and reporting free of torch."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bench"
# Each layer and the layers it may import (itself included). Bottom to top, as bench/__init__.py draws them.
ALLOWED = {
    "records": {"records"},
    "data": {"records", "data"},
    "models": {"records", "models"},
    "retrieval": {"records", "retrieval"},
    "arms": {"records", "data", "models", "retrieval", "arms"},
    "training": {"records", "data", "models", "retrieval", "arms", "training"},
    "eval": {"records", "data", "eval"},
    "report": {"records", "data", "eval", "report"},
    "run": {"records", "data", "models", "retrieval", "arms", "training", "eval", "report", "run"},
    "experiments": {"records", "data", "models", "retrieval", "arms", "training", "eval", "report", "run", "experiments"},
    "cli": {"records", "data", "models", "retrieval", "arms", "training", "eval", "report", "run", "experiments", "cli"},
}
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ALLOWED) else "cli"


def imports(path: Path) -> list[tuple[str, bool]]:
    """(bench module imported, whether the import sits inside a function) for every import of the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_function = {id(node) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                   for node in ast.walk(fn) if node is not fn}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from bench.x import y` imports the module bench.x.y when there is one
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module for a in node.names]
        else:
            continue
        found += [(name, id(node) in in_function) for name in names if name == "bench" or name.startswith("bench.")]
    return found


GRAPH = {module: sorted({name for name, _ in imports(path) if name != module}) for module, path in MODULES.items()}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_module_imports_only_its_own_or_lower_layers(module):
    upward = [name for name in GRAPH[module] if layer(name) not in ALLOWED[layer(module)]]
    assert upward == [], f"{module} ({layer(module)}) reaches up to {upward}"


def test_there_is_no_import_cycle():
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for name in GRAPH.get(module, []):
            assert state.get(name) != "open", "import cycle: " + " -> ".join(trail + [module, name])
            if name not in state:
                visit(name, trail + [module])
        state[module] = "done"

    for module in MODULES:
        if module not in state:
            visit(module, [])


def test_no_package_import_is_hidden_inside_a_function():
    """Except in the two entry points, the CLI and `run/launch.py`, which load torch, scipy and matplotlib only when a
    command needs them (start-up time: an unchanged re-run needs none of them), never to hide a cycle."""
    hidden = [(module, name) for module, path in MODULES.items() for name, inside in imports(path)
              if inside and module not in ("bench.cli", "bench.run.launch")]
    assert hidden == []


def test_no_source_file_is_too_long_to_hold_in_ones_head():
    long = {module: n for module, path in MODULES.items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_scoring_reporting_and_the_light_commands_never_load_torch():
    code = ("import sys, bench.cli, bench.run.launch, bench.eval.scoring, bench.eval.migrate, bench.report, bench.data.synth; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'peft', 'faiss')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
