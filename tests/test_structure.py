"""The house's walls: packages along the web/worker seam, import contracts, and run statuses named in one
place only."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from helpers import ROOT

from core.runs.record import RunStatus, WorkStatus

STATUS_WORDS = {status.value for status in (*RunStatus, *WorkStatus)}
KERAS_IMPORT = re.compile(r"^\s*(import|from) (keras|tensorflow)\b", re.MULTILINE)


def python_files(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def test_core_is_a_handful_of_packages_and_at_most_eight_files():
    files = sorted(path.name for path in (ROOT / "core").iterdir() if path.suffix == ".py")
    packages = {path.name for path in (ROOT / "core").iterdir() if (path / "__init__.py").exists()}
    assert len(files) <= 8, files
    assert {"datasets", "tasks", "model", "runs", "training", "compare", "exchange", "lab"} <= packages


def test_only_the_training_package_imports_keras_or_tensorflow():
    found = [
        str(path.relative_to(ROOT))
        for path in python_files("core", "app_pages")
        if KERAS_IMPORT.search(path.read_text()) and "core/training/" not in path.as_posix()
    ]
    assert found == []


def test_the_import_contracts_hold():
    """Layers, Keras only in core.training, no circles (pyproject.toml's [tool.importlinter])."""
    result = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def status_literals(path: Path) -> list[str]:
    """Where a file spells a run or work status as a string of its own (docstrings aside)."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in STATUS_WORDS and id(node) not in docstrings
    ]


def test_statuses_are_spelled_only_by_the_record_module():
    """Everywhere else names them as RunStatus or WorkStatus members (the store's SQL holds them inside
    longer statements, which this check does not count)."""
    record = ROOT / "core" / "runs" / "record.py"
    found = [
        hit for path in python_files("core", "app_pages") if path != record for hit in status_literals(path)
    ]
    assert found == []
    assert status_literals(record)  # the check does see a literal where there is one


def test_a_worker_process_starts_without_tensorflow():
    """TensorFlow loads with a worker's first run or measurement, not when the dashboard starts it."""
    code = "import sys, core.training.worker; assert not {'keras', 'tensorflow'} & set(sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
