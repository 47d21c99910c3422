"""`python -m core sweep FILE --ray`: a grid trained as Ray tasks on a local Ray, and its mistakes."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from helpers import ROOT, cli_process, small, sweep_file

from core.model.spec import ModelSpec
from core.runs.queue import queued_record
from core.runs.store import RunStore
from core.training.ray_sweep import connected, train_on_ray

GRID = """
workspace: ray
datasets: [digits_8x8]
limit: 64
models:
  - {name: Tiny CNN, layers: [{kind: Conv2D, filters: 4}, {kind: Flatten}]}
  - {name: Tiny GRU, layers: [{kind: GRU, units: 8}]}
seeds: [1]
train: {epochs: 1, batch_size: 32}
"""


@pytest.fixture(autouse=True)
def no_usage_stats(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")


@pytest.mark.slow
def test_a_local_ray_trains_the_grid_into_the_store(tmp_path):
    result = cli_process(tmp_path, "sweep", str(sweep_file(tmp_path, GRID)), "--ray", "--ray-cpus", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2/2 runs" in result.stderr and "2 of 2 runs completed" in result.stdout
    store = RunStore(tmp_path / "runs.db")
    runs = store.runs("ray")
    assert sorted((run["name"], run["config"]["train"]["seed"], run["status"]) for run in runs) == [
        ("Tiny CNN", 1, "completed"),
        ("Tiny GRU", 1, "completed"),
    ]
    for run in runs:
        [epoch] = run["history"]
        assert epoch["epoch"] == 1 and epoch["loss"] > 0
        assert 0 <= run["metrics"]["accuracy"] <= 1
        assert run["config"]["dataset"] == {"id": "digits_8x8", "settings": {}, "limit": 64}
        assert store.model(run["id"]).startswith(b"PK")  # a .keras zip


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--ray", "ray://127.0.0.1:9"], "error: No Ray cluster could be reached at ray://127.0.0.1:9"),
        (["--ray", "127.0.0.1:6379"], "error: '127.0.0.1:6379' is not a Ray address"),
        (["--ray", "--distribute"], "error: --ray trains each run in a Ray task of its own"),
        (["--ray", "auto", "--ray-cpus", "2"], "error: A number of CPUs can be set for a local Ray only"),
    ],
)
def test_ray_mistakes_get_one_sentence_quickly(tmp_path, options, message):
    start = time.monotonic()
    result = cli_process(tmp_path, "sweep", str(sweep_file(tmp_path, GRID)), *options)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [result.stderr.strip()] and result.stderr.startswith(message)
    assert time.monotonic() - start < 15
    assert not (tmp_path / "runs.db").exists() or not RunStore(tmp_path / "runs.db").runs()


def test_without_ray_installed_the_sweep_says_what_to_install(tmp_path):
    code = (
        "import sys; sys.modules['ray'] = None; from core.cli import main; "  # makes `import ray` fail
        f"sys.exit(main(['sweep', {str(sweep_file(tmp_path, GRID))!r}, '--ray']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert result.stderr == "error: Ray is not installed; run pip install -r requirements-scale.txt.\n"


@pytest.mark.slow
def test_a_run_whose_task_fails_is_kept_as_failed_and_the_others_go_on(tmp_path):
    dataset = small("digits_8x8", 64)
    spec = ModelSpec.from_dict({"name": "Tiny GRU", "layers": [{"kind": "GRU", "units": 8}]})
    good, gone = (
        queued_record(
            {"id": "digits_8x8", "settings": {}, "limit": 64}, dataset.info, dataset.signature, spec
        )
        for _ in range(2)
    )
    gone["config"]["dataset"] = {"id": "nope", "settings": {}}  # a dataset the worker cannot find
    store = RunStore(tmp_path / "runs.db")
    seen = []
    with connected(cpus=1):
        finished = train_on_ray([good, gone], store, "ray", listener=lambda record, done: seen.append(done))
    assert seen == [1, 2] and len(finished) == 2
    runs = {run["id"]: run for run in store.runs("ray")}
    assert runs[good["id"]]["status"] == "completed" and store.model(good["id"])
    assert runs[gone["id"]]["status"] == "failed" and store.model(gone["id"]) is None
    assert runs[gone["id"]]["reason"].startswith("There is no dataset called 'nope'")
