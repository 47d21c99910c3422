"""The fair queue: workers take runs round-robin across workspaces, oldest first within each."""

from __future__ import annotations

import json
import time

from helpers import cli_with_store, finished_run

from core.runs.fairness import fair_order
from core.runs.pool import WorkerPool
from core.runs.queue import queue_waits
from core.runs.store import RunStore


def queued_run(run_id: str, created: float) -> dict:
    """A queued run of a small CNN, created at ``created``."""
    record = finished_run(run_id, "CNN", "digits_8x8", "classification", {}, train={"epochs": 1})
    return {**record, "status": "queued", "created": created, "metrics": {}, "history": []}


def test_a_visitors_first_run_goes_before_another_visitors_second(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    for number, (run_id, workspace) in enumerate([("a1", "A"), ("a2", "A"), ("a3", "A"), ("b1", "B")]):
        store.save_run(queued_run(run_id, 100.0 + number), workspace)
    assert store.queued() == ["a1", "b1", "a2", "a3"]
    assert [store.claim_run("w1")["id"], store.claim_run("w2")["id"]] == ["a1", "b1"]
    assert store.queued() == ["a2", "a3"]


def test_runs_started_recently_count_against_their_workspace():
    queued = [("a5", "A", 5.0), ("b1", "B", 6.0), ("c1", "C", 7.0), ("a6", "A", 8.0)]
    assert fair_order(queued, {"A": 3, "B": 1}) == ["c1", "b1", "a5", "a6"]
    assert fair_order(queued, {}) == ["a5", "b1", "c1", "a6"]  # none started: oldest first, in turns
    assert fair_order([], {"A": 2}) == []


def test_the_queue_position_follows_the_fair_order(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    now = time.time()
    for number in range(40):
        store.save_run(queued_run(f"a{number:02}", now + number), "forty")
    store.save_run(queued_run("b00", now + 100), "one")
    waits = queue_waits(store, workers=1)
    assert waits["a00"][0] == 1 and waits["b00"][0] == 2 and waits["a39"][0] == 41


def test_train_no_wait_queues_and_runs_json_tells_who_took_each_run(tmp_path):
    options = ["--dataset", "digits_8x8", "--model", "CNN", "--epochs", "1", "--seeds", "1,2", "--no-wait"]
    queued = cli_with_store(tmp_path, "train", *options)
    assert queued.returncode == 0, queued.stderr[-2000:]
    ids = queued.stdout.split()
    assert len(ids) == 2 and RunStore(tmp_path / "runs.db").queued() == ids
    RunStore(tmp_path / "runs.db").claim_run("gpu-box:4242")
    listed = {run["id"]: run for run in json.loads(cli_with_store(tmp_path, "runs", "--json").stdout)}
    first, second = listed[ids[0]], listed[ids[1]]
    assert (first["status"], first["worker"], second["status"], second["worker"]) == (
        "running",
        "gpu-box",
        "queued",
        None,
    )
    assert first["created"] <= first["started"] and first["finished"] is None
    both = cli_with_store(tmp_path, "train", *options, "--out", str(tmp_path / "run.json"))
    assert both.returncode == 2 and "with --no-wait nothing has finished yet" in both.stderr


def test_a_dashboard_without_local_workers_leaves_the_queue_to_workers_elsewhere(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNRNN_WORKERS", "0")
    store = RunStore(tmp_path / "runs.db")
    store.save_run(queued_run("a1", 1.0), "A")
    pool = WorkerPool(store)
    pool.ensure()
    assert pool.count == 0 and pool.workers == [] and store.queued() == ["a1"]
