"""Cost before training: the v2 -> v3 store migration, calibrations served by a worker, the history
model, the Train page's estimates and the sentence of a failed calibration.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT, shown
from scipy.optimize import nnls
from streamlit.testing.v1 import AppTest

from app_pages.parts.visitor import DEFAULT_DATASET
from core.datasets.described import load_described
from core.errors import UserError
from core.exchange.bundle import FORMAT, export_bundle, import_bundle
from core.model.presets import presets_for
from core.model.spec import ModelSpec
from core.runs import estimates
from core.runs.database import APPLICATION_ID
from core.runs.queue import enqueue, queued_record
from core.runs.schema import check_estimate
from core.runs.store import (
    CALIBRATION_WORKER_DIED,
    MIGRATIONS,
    SCHEMA,
    SCHEMA_VERSION,
    RunStore,
    this_process,
)
from core.tasks.settings import train_settings_for
from core.training import calibration
from core.training.worker import Worker

APP = str(ROOT / "dashboard.py")
TINY = {"id": "digits_8x8", "settings": {}, "limit": 64}
CALIBRATED = {  # a calibration's result, as a worker writes it
    "step_seconds": 0.01,
    "validation_step_seconds": 0.004,
    "epoch_overhead_seconds": 0.05,
    "once_seconds": 1.0,
    "peak_memory_mb": 40.0,
    "data_mb": 1.0,
}


def requests_for(description: dict, names: list[str], settings: dict | None = None) -> dict[str, dict]:
    """The calibrations the Train page asks for these presets, by key."""
    dataset = load_described(description)
    presets = presets_for(dataset.signature)
    specs = {name: presets[name] for name in names}
    return estimates.calibration_requests(specs, dataset.signature, train_settings_for(dataset, settings))


def basis(train: int, sequential: int, multiply_adds: int, batch: int = 32) -> dict:
    return {
        "multiply_adds": multiply_adds,
        "sequential_steps": sequential,
        "train_samples": train,
        "validation_samples": train // 8,
        "batch_size": batch,
        "epochs": 3,
    }


def test_a_v2_store_is_migrated_to_the_current_version_and_keeps_its_runs(tmp_path):
    path = tmp_path / "v2.db"
    with sqlite3.connect(path) as db:
        db.executescript(
            f"{SCHEMA} {MIGRATIONS[2]} PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version=2;"
        )
        db.execute(
            "INSERT INTO runs (id, workspace, name, family, dataset, task, status, owner, config) "
            "VALUES ('old', 'w', 'CNN', 'cnn', 'digits_8x8', 'classification', 'completed', 'x:1', '{}')"
        )
    store = RunStore(path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    old = store.run("old")
    assert old["status"] == "completed" and old["estimate"] is None and old["signature"] is None
    made = {"source": None, "seconds_per_epoch": None}
    store.set_estimate("old", made)
    store.save_run({**old, "estimate": None, "reason": "saved again"}, "w")  # as a worker's job does
    assert store.run("old")["estimate"] == made and store.run("old")["reason"] == "saved again"
    store.request_calibrations({"k": {"model": {}}})
    assert store.has_work() and store.calibrations(["k"])["k"]["status"] == "queued"


@pytest.mark.slow
def test_a_worker_calibrates_then_trains_with_the_estimate_kept_beside_the_run(tmp_path):
    database = tmp_path / "runs.db"
    store = RunStore(database)
    settings = {"epochs": 2, "batch_size": 16}
    [(key, request)] = requests_for(TINY, ["CNN"], settings).items()
    dataset = load_described(TINY)
    record = queued_record(
        TINY, dataset.info, dataset.signature, presets_for(dataset.signature)["CNN"], settings
    )
    [run_id] = enqueue(store, [record], "w")
    store.request_calibrations({key: request})  # asked for after the run, served before it
    worker = subprocess.run(
        [sys.executable, "-m", "core", "worker", "--once"],
        cwd=ROOT,
        env={**os.environ, "RUNS_DB": str(database)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert worker.returncode == 0 and "1 run(s) trained" in worker.stderr, worker.stderr[-2000:]
    calibration = store.calibrations([key])[key]
    assert calibration["status"] == "done", calibration["reason"]
    result = calibration["result"]
    assert result["step_seconds"] > 0 and result["validation_step_seconds"] > 0
    assert result["once_seconds"] > 0 and result["peak_memory_mb"] > 0  # the fit traces the model once
    run = store.run(run_id)
    assert run["status"] == "completed"
    made = run["estimate"]
    check_estimate(made)
    assert made["source"] == "calibration" and made["seconds_per_epoch"] > 0
    assert made["total_seconds"] >= 2 * made["seconds_per_epoch"] and made["peak_memory_mb"] > 0
    assert made["measured_peak_memory_mb"] > 0
    assert made["basis"]["train_samples"] == 64 and made["basis"]["batch_size"] == 16
    assert estimates.cost_line(run).startswith("Estimated before training from a calibration: ")
    epochs = [entry["seconds"] for entry in run["history"]]
    history = [{"estimate": made, "epoch_seconds": epochs, "train_seconds": run["train_seconds"]}]
    assert store.cost_history() == history and len(epochs) == 2


def test_the_history_model_recovers_the_costs_of_constructed_runs():
    def seconds(b: dict) -> float:
        """30 ms an epoch, 2 ms a step, 0.1 ms a recurrent step, 2 ns a multiply-add."""
        steps, validation_steps = (
            -(-b[size] // b["batch_size"]) for size in ("train_samples", "validation_samples")
        )
        samples = b["train_samples"] + b["validation_samples"] / 3
        sequential = (steps + validation_steps / 3) * b["sequential_steps"]
        work = 2e-9 * samples * b["multiply_adds"]
        return 0.03 + 0.002 * (steps + validation_steps) + 1e-4 * sequential + work

    bases = [
        basis(1000, 0, 300_000),
        basis(4000, 28, 150_000),
        basis(500, 52, 40_000, 16),
        basis(2000, 0, 9_000_000),
        basis(200, 22, 1_000, 16),
    ]
    history = [
        {
            "estimate": {"basis": b},
            "epoch_seconds": [seconds(b) + 1.2, seconds(b), seconds(b)],
            "train_seconds": 3 * seconds(b) + 1.5,  # and 0.3 s outside the epochs
        }
        for b in bases
    ]
    fitted = estimates.HistoryModel.fit(history)
    assert fitted is not None and fitted.runs == 5 and fitted.once_seconds == pytest.approx(1.5)
    new = basis(3000, 40, 500_000, 64)
    assert fitted.epoch_seconds(new) == pytest.approx(seconds(new), rel=1e-6)
    assert estimates.HistoryModel.fit(history[:3]) is None  # too few runs to fit
    assert (
        estimates.HistoryModel.fit([{**run, "epoch_seconds": run["epoch_seconds"][:1]} for run in history])
        is None
    )


def test_the_closer_source_is_chosen_by_its_record_on_earlier_runs():
    spec = ModelSpec.from_dict(
        {"name": "Dense", "layers": [{"kind": "Flatten"}, {"kind": "Dense", "units": 8}]}
    )
    dataset = load_described(TINY)
    settings = train_settings_for(dataset, {"epochs": 3})
    made = estimates.estimate(spec, dataset.signature, settings, (64, 16), CALIBRATED, [])
    assert made["source"] == "calibration" and set(made["candidates"]) == {"calibration"}
    assert made["seconds_per_epoch"] == pytest.approx(2 * 0.01 + 1 * 0.004 + 0.05)
    assert made["total_seconds"] == pytest.approx(3 * made["seconds_per_epoch"] + 1.0)

    def earlier(number: int, candidates: dict[str, float]) -> dict:
        made = {"basis": basis(1000 * number, 0, 10_000), "candidates": candidates}
        return {"estimate": made, "epoch_seconds": [2.0, 1.0, 1.0], "train_seconds": 4.0}

    said = [
        {"calibration": 2.0, "history": 1.1},
        {"calibration": 0.5, "history": 0.9},
        {"calibration": 1.9, "history": 1.05},
        {"calibration": 2.0, "history": 1.1},
    ]
    runs = [earlier(number, candidates) for number, candidates in enumerate(said, start=1)]
    record = estimates.track_record(runs)
    assert record == {"calibration": pytest.approx(np.log(2)), "history": pytest.approx(np.log(1.1))}
    assert (
        estimates.estimate(spec, dataset.signature, settings, (64, 16), CALIBRATED, runs)["source"]
        == "history"
    )
    for run in runs[:2]:  # two runs left where both were tried: too few to judge
        run["estimate"]["candidates"].pop("calibration")
    assert estimates.track_record(runs) == {}
    assert (
        estimates.estimate(spec, dataset.signature, settings, (64, 16), CALIBRATED, runs)["source"]
        == "calibration"
    )


def test_non_negative_least_squares_agrees_with_scipy():
    rng = np.random.default_rng(3)
    for _ in range(50):
        a, b = rng.standard_normal((6, 3)), rng.standard_normal(6)
        assert estimates.non_negative_least_squares(a, b) == pytest.approx(nnls(a, b)[0], abs=1e-8)


def test_a_failed_calibration_is_one_sentence(tmp_path, monkeypatch):
    def explode(request):
        raise RuntimeError("kernel exploded\nwith a second line")

    monkeypatch.setattr(calibration, "calibrate", explode)
    store = RunStore(tmp_path / "runs.db")
    requests = requests_for(TINY, ["CNN"])
    store.request_calibrations(requests)
    assert Worker(store).serve(once=True) == 0
    [failed] = store.calibrations(list(requests)).values()
    assert failed == {
        "status": "failed",
        "reason": "measuring it stopped with RuntimeError: kernel exploded",
        "result": None,
    }
    assert store.retry_calibrations(list(requests)) == 1 and store.has_work()

    store.claim_calibration(f"{socket.gethostname()}:999999999")  # a worker of this machine, gone
    [gone] = store.calibrations(list(requests)).values()
    assert gone["status"] == "failed" and gone["reason"] == CALIBRATION_WORKER_DIED


def test_a_bundle_carries_the_estimate_and_refuses_a_bad_one():
    dataset = load_described(TINY)
    record = queued_record(TINY, dataset.info, dataset.signature, presets_for(dataset.signature)["CNN"])
    made = estimates.estimate(
        presets_for(dataset.signature)["CNN"],
        dataset.signature,
        record["config"]["train"],
        (64, 16),
        CALIBRATED,
        [],
    )
    run = json.loads(export_bundle([{**record, "status": "completed", "estimate": made}]))["runs"][0]
    bundle = {"format": FORMAT, "version": 1, "runs": [run]}
    [imported] = import_bundle(json.dumps(bundle).encode(), "w")
    assert imported["estimate"] == made
    run["estimate"]["source"] = "a guess"
    with pytest.raises(
        UserError, match=r"^Run 1 of the bundle: estimate.source must be one of calibration, history\.$"
    ):
        import_bundle(json.dumps(bundle).encode(), "w")


def test_the_train_page_shows_estimates_before_any_run(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNS_DB", str(tmp_path / "runs.db"))
    store = RunStore()
    requests = requests_for(DEFAULT_DATASET, ["CNN", "LSTM"])
    cnn, lstm = requests
    store.request_calibrations(requests)
    assert {store.claim_calibration(this_process())[0] for _ in requests} == set(requests)  # being measured
    store.finish_calibration(cnn, CALIBRATED)  # the LSTM's is still being measured, here
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("app_pages/train.py").run()
    assert not at.exception and not at.error, (at.exception, at.error)
    table = at.dataframe[0].value
    # mnist_5k: 4,000 training samples in 63 batches of 64, 500 to validate in 8; 5 epochs
    assert table.to_dict("records") == [
        {
            "Model": "CNN",
            "s / epoch": "0.71",  # 63 x 0.01 + 8 x 0.004 + 0.05
            "Total s (5 epochs)": "4.6",  # 5 x 0.712 + 1
            "Peak memory MB": "52",  # 40 - 1 + 4,500 x (784 + 1) x 4 bytes
            "From": "a calibration",
        },
        {
            "Model": "LSTM",
            "s / epoch": "measuring…",
            "Total s (5 epochs)": "measuring…",
            "Peak memory MB": "measuring…",
            "From": "a calibration",
        },
    ]
    assert store.runs() == [] and not store.has_work()

    store.finish_calibration(lstm, reason="measuring it stopped with RuntimeError: kernel exploded")
    at.run()
    assert at.dataframe[0].value["From"].tolist() == ["a calibration", "nothing yet"]
    assert "LSTM: measuring it stopped with RuntimeError: kernel exploded." in [
        shown(c.value) for c in at.caption
    ]
    assert any(button.label == "Measure again" for button in at.button)
