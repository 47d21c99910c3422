from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import ROOT, cli_process, cli_with_store, sweep_file

from core.cli import main
from core.runs.record import FIELDS, FORMAT_VERSION, VERSION_KEY
from core.runs.store import RunStore
from core.tasks.settings import TRAIN_SETTINGS


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_datasets_json_lists_ids_modalities_and_tasks():
    result = cli("datasets", "--json")
    assert result.returncode == 0
    rows = json.loads(result.stdout)
    assert {"id", "modality", "task"} <= set(rows[0])
    assert {"mnist_5k", "rotten_tomatoes", "shakespeare", "co2", "imdb"} <= {row["id"] for row in rows}


def test_datasets_table_is_readable():
    result = cli("datasets")
    assert result.returncode == 0 and "co2" in result.stdout and "forecasting" in result.stdout


def test_presets_json_has_names_and_families():
    result = cli("presets", "--dataset", "co2", "--json")
    assert result.returncode == 0
    rows = json.loads(result.stdout)
    assert {row["family"] for row in rows} == {"cnn", "rnn", "hybrid"}
    assert "Stacked LSTM (Keras example)" in {row["name"] for row in rows}


@pytest.mark.slow
def test_train_prints_metrics_and_writes_the_record(tmp_path):
    out = tmp_path / "run.json"
    result = cli_with_store(
        tmp_path,
        "train",
        "--dataset",
        "digits_8x8",
        "--model",
        "CNN",
        "--epochs",
        "2",
        "--batch-size",
        "32",
        "--seed",
        "1",
        "--limit",
        "200",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert "accuracy" in result.stdout and "epoch 2/2" in result.stderr
    record = json.loads(out.read_text())
    assert set(record) == {*FIELDS, VERSION_KEY} and record[VERSION_KEY] == FORMAT_VERSION
    assert record["status"] == "completed" and len(record["history"]) == 2
    assert record["config"]["train"]["seed"] == 1 and record["config"]["dataset"]["limit"] == 200
    listed = json.loads(cli_with_store(tmp_path, "runs", "--json").stdout)
    assert [run["id"] for run in listed] == [record["id"]] and listed[0][VERSION_KEY] == FORMAT_VERSION


def test_train_has_one_option_per_training_setting(capsys):
    """Made from the settings registry, with its help text and bounds, so the two cannot drift."""
    assert main(["train", "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps the help text
    for param in TRAIN_SETTINGS:
        assert f"--{param.name.replace('_', '-')}" in shown
        assert " ".join(param.help.split()[:4]) in shown
    assert "--clipnorm X" in shown and "0.0 to 100.0" in shown


@pytest.mark.slow
def test_train_accepts_a_spec_file(tmp_path):
    spec = tmp_path / "model.json"
    spec.write_text(json.dumps({"name": "Tiny GRU", "layers": [{"kind": "GRU", "units": 8}]}))
    result = cli(
        "train", "--dataset", "sunspots", "--model", str(spec), "--epochs", "1", "--set", "window=12"
    )
    assert result.returncode == 0, result.stderr
    assert "Tiny GRU (rnn): completed" in result.stdout


@pytest.mark.slow
def test_sweep_runs_a_two_by_two_grid_into_the_store(tmp_path):
    plan = sweep_file(
        tmp_path,
        """
workspace: grid
datasets:
  - id: sunspots
    settings: {window: 12}
models:
  - GRU
  - {name: Tiny CNN, layers: [{kind: Conv1D, filters: 4}, {kind: Flatten}]}
seeds: [1, 2]
train: {epochs: 1, batch_size: 32}
""",
    )
    result = cli_with_store(tmp_path, "sweep", str(plan))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "run 4/4" in result.stderr and "4 of 4 runs completed" in result.stdout
    runs = RunStore(tmp_path / "runs.db").runs("grid")
    assert len(runs) == 4 and {r["status"] for r in runs} == {"completed"}
    assert sorted((r["name"], r["config"]["train"]["seed"]) for r in runs) == [
        ("GRU", 1),
        ("GRU", 2),
        ("Tiny CNN", 1),
        ("Tiny CNN", 2),
    ]


@pytest.mark.slow
def test_sweep_distributes_over_two_logical_cpus(tmp_path):
    plan = sweep_file(
        tmp_path,
        json.dumps({"datasets": ["digits_8x8"], "models": ["CNN"], "train": {"epochs": 1}, "limit": 256}),
        "sweep.json",
    )
    result = cli_process(tmp_path, "sweep", str(plan), "--distribute", "--cpu-devices", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "training on 2 device(s) in sync" in result.stderr
    [run] = RunStore(tmp_path / "runs.db").runs("sweep")
    assert run["status"] == "completed" and run["metrics"]["accuracy"] > 0
