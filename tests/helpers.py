"""What many tests share: the project root, small slices of the built-in datasets (loaded once per
session), constructed run records, and helpers that run the command line, an exported script or an
AppTest in a fresh process."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from core.datasets import Dataset, load_dataset

ROOT = Path(__file__).resolve().parents[1]
MODALITY_DATASETS = ("digits_8x8", "rotten_tomatoes", "shakespeare", "sunspots")


_CACHE: dict[str, Dataset] = {}


def small(dataset_id: str, count: int = 96) -> Dataset:
    """A built-in dataset cut to a few samples, loaded once per test session."""
    if dataset_id not in _CACHE:
        _CACHE[dataset_id] = load_dataset(dataset_id)
    return _CACHE[dataset_id].head(count)


def finished_run(
    run_id: str,
    name: str,
    dataset: str,
    task: str,
    metrics: dict[str, Any],
    *,
    family: str = "cnn",
    model: dict[str, Any] | None = None,
    train: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    history: list[dict[str, Any]] | None = None,
    params: int = 100,
    train_seconds: float = 1.0,
) -> dict[str, Any]:
    """A completed run record as the store keeps it, made of the few fields a test is about."""
    return {
        "id": run_id,
        "name": name,
        "family": family,
        "dataset": dataset,
        "task": task,
        "status": "completed",
        "reason": "",
        "params": params,
        "train_seconds": train_seconds,
        "created": 1.0,
        "config": {
            "dataset": {"id": dataset, "settings": settings or {}},
            "model": model if model is not None else {},
            "train": train or {},
        },
        "history": history
        if history is not None
        else [{"epoch": 1, "seconds": 1.0, "wall_seconds": 1.0, "samples_per_second": 10.0}],
        "metrics": metrics,
    }


def assert_web_process_stays_light(script: str, timeout: int = 120) -> None:
    """Run an AppTest ``script`` in a fresh Python process (``at`` is the app after its first run) and
    assert that it passes and never imports TensorFlow or Keras.
    """
    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({str(ROOT / 'dashboard.py')!r}, default_timeout=60).run()\n"
        f"{script}\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-3000:]


def cli_with_store(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m core ARGS`` run in this process, where the process itself is not under test (it
    saves a TensorFlow start per call), with its run store in ``tmp_path`` and its output captured."""
    from core.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    previous = os.environ.get("RUNS_DB")
    os.environ["RUNS_DB"] = str(tmp_path / "runs.db")
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(list(args))
    finally:
        os.environ.pop("RUNS_DB") if previous is None else os.environ.update(RUNS_DB=previous)
    return subprocess.CompletedProcess(
        ["python", "-m", "core", *args], code, stdout.getvalue(), stderr.getvalue()
    )


def cli_process(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m core ARGS`` in a process of its own (for what configures a process: Ray, devices),
    with its run store in ``tmp_path``."""
    env = {**os.environ, "RUNS_DB": str(tmp_path / "runs.db")}
    return subprocess.run(
        [sys.executable, "-m", "core", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def script_result(record: dict, signature, folder: Path) -> float:
    """Export ``record``'s plain-Keras script, run it, and return the metric it prints last."""
    from core.exchange.script import reproduce_script, script_name

    script = folder / script_name(record)
    script.write_text(reproduce_script(record, signature))
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return float(result.stdout.strip().splitlines()[-1].split()[-1])


def sweep_file(tmp_path: Path, text: str, name: str = "sweep.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def shown(markdown: str) -> str:
    """Markdown source as it reads on screen once its backslash escapes are resolved."""
    return re.sub(r"\\(.)", r"\1", markdown)


PYTHON_JARGON = re.compile(
    r"Error:|Exception|NoneType|object has no attribute|<class |'(dict|list|str|int|float)'|Errno|codec"
)


def assert_one_sentence(message: str) -> None:
    """A person-facing message: one line, ending as a sentence ends, in no words of Python's own."""
    assert "\n" not in message, message
    assert message.rstrip(")").endswith((".", "?")), message
    assert not PYTHON_JARGON.search(message), message


def block_training(monkeypatch: Any) -> None:
    """Make training unreachable: Keras, TensorFlow and every loaded module of ``core.training`` that
    holds them fail to import, so a command that gets as far as training raises ImportError naming it
    (the worker module, which loads TensorFlow only with its first run, stays)."""
    holding_keras = [
        name
        for name, module in list(sys.modules.items())
        if name.startswith("core.training.")
        and module is not None
        and any(
            getattr(value, "__name__", "").split(".")[0] in ("keras", "tensorflow")
            for value in vars(module).values()
        )
    ]
    for name in ["keras", "tensorflow", "core.training.job", *holding_keras]:
        monkeypatch.setitem(sys.modules, name, None)


def debian_install(package: str) -> None:
    """Install a Debian package with apt-get where that is possible (root on Debian); else nothing."""
    if shutil.which("apt-get") and Path("/etc/debian_version").exists() and os.geteuid() == 0:
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", package],
            check=False,
            capture_output=True,
            timeout=900,
            env=environment,
        )
