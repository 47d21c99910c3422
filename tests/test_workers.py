"""Worker processes and their supervision: atomic claims, heartbeats, stop, forced stop, dead workers."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import ROOT

import core.runs.database
import core.training.job
from core.datasets.described import load_described
from core.exchange.bundle import import_bundle
from core.model.presets import presets_for
from core.runs.database import StoreBusy
from core.runs.pool import WorkerPool
from core.runs.queue import enqueue, eta_seconds, queue_waits, queued_record
from core.runs.store import RunStore, owner_pid
from core.training.worker import WORKER_OOM_SCORE, Worker

SMALL = {"id": "digits_8x8", "settings": {}, "limit": 64}
LARGE = {"id": "digits_8x8", "settings": {}, "limit": 1000}


def queue(store: RunStore, count: int = 1, workspace: str = "w", long: bool = False) -> list[str]:
    """Queue small runs (or long ones: 200 epochs of an LSTM in batches of 8)."""
    description = LARGE if long else SMALL
    dataset = load_described(description)
    spec = presets_for(dataset.signature)["LSTM" if long else "CNN"]
    settings = {"epochs": 200, "batch_size": 8} if long else {"epochs": 1, "batch_size": 32}
    records = [
        queued_record(description, dataset.info, dataset.signature, spec, settings) for _ in range(count)
    ]
    return enqueue(store, records, workspace)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.2)


def worker_process(database: Path, *args: str, **environment: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "core", "worker", *args],
        cwd=ROOT,
        env={**os.environ, "RUNS_DB": str(database), **environment},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_two_workers_train_six_queued_runs_each_exactly_once(tmp_path):
    database = tmp_path / "runs.db"
    store = RunStore(database)
    ids = queue(store, 6)
    workers = [worker_process(database, "--once") for _ in range(2)]
    errors = [worker.communicate(timeout=300)[1] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], errors
    trained = [int(re.search(r"(\d+) run\(s\) trained", error).group(1)) for error in errors]
    assert sum(trained) == 6
    runs = store.runs(ids=ids)
    assert [run["status"] for run in runs] == ["completed"] * 6
    assert all(len(run["history"]) == 1 and run["metrics"]["accuracy"] >= 0 for run in runs)
    assert {owner_pid(run["owner"]) for run in runs} <= {worker.pid for worker in workers}


@pytest.mark.slow
def test_a_worker_replaces_itself_after_its_run_limit(tmp_path):
    database = tmp_path / "runs.db"
    store = RunStore(database)
    ids = queue(store, 2)
    worker = worker_process(database, CNNRNN_WORKER_RUNS="1")
    try:
        wait_until(lambda: all(run["status"] == "completed" for run in store.runs(ids=ids)), "both ran")
    finally:
        worker.terminate()
        error = worker.communicate(timeout=30)[1]
    assert "replaces itself after 1 run(s)" in error
    assert {owner_pid(run["owner"]) for run in store.runs(ids=ids)} == {worker.pid}  # same pid, fresh image


@pytest.mark.slow
def test_a_killed_worker_marks_its_run_and_a_new_worker_takes_the_queue(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    [long] = queue(store, long=True)
    [short] = queue(store)
    pool = WorkerPool(store, count=1)
    try:
        pool.ensure()
        wait_until(lambda: len(store.run(long)["history"]) >= 1, "the long run finished an epoch")
        [pid] = pool.pids()
        assert Path(f"/proc/{pid}/oom_score_adj").read_text().strip() == str(WORKER_OOM_SCORE)
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: store.run(short)["status"] == "completed", "a new worker trained the next run")
        assert pid not in pool.pids()
    finally:
        pool.close()
    killed = store.run(long)
    assert killed["status"] == "interrupted"
    assert "stopped unexpectedly" in killed["reason"] and len(killed["history"]) >= 1


@pytest.mark.slow
def test_stop_ends_a_run_after_its_batch_and_an_unresponsive_worker_is_ended(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    first, second = queue(store, 2, long=True)
    [after] = queue(store)
    pool = WorkerPool(
        store, count=1, force_stop_after=120
    )  # a polite stop may take its time on a busy machine

    def training(run_id: str) -> bool:
        return store.runs(ids=[run_id], live=True)[0]["progress"].get("batch", 0) >= 1

    try:
        pool.ensure()
        wait_until(lambda: training(first), "the first run trains")
        assert store.request_stop([first], "w") == 1
        wait_until(lambda: store.run(first)["status"] == "stopped", "the first run stopped", timeout=60)
        stopped = store.run(first)
        assert "stopped by request" in stopped["reason"] and "accuracy" in stopped["metrics"]

        wait_until(lambda: training(second), "the second run trains")
        [pid] = pool.pids()
        pool.force_stop_after = 2
        os.kill(pid, signal.SIGSTOP)  # a worker stuck in a batch: it cannot answer the request
        store.request_stop([second], "w")
        wait_until(lambda: store.run(second)["status"] == "stopped", "the forced stop", timeout=30)
        assert "did not stop within 2 s and was ended" in store.run(second)["reason"]
        wait_until(lambda: store.run(after)["status"] == "completed", "a fresh worker took the queue")
        assert pid not in pool.pids()
    finally:
        pool.close()


def test_visitors_cancel_and_stop_only_their_own_runs(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    [mine] = queue(store, workspace="mine")
    [theirs] = queue(store, workspace="theirs")
    assert store.cancel_queued([mine, theirs], "mine") == 1
    assert store.run(mine)["status"] == "stopped" and store.run(theirs)["status"] == "queued"
    store.claim_run("someone")
    store.claim_run("someone")
    assert store.request_stop([theirs], "mine") == 0
    assert store.runs(ids=[theirs], live=True)[0]["stop_requested"] is None


def test_a_crash_inside_a_run_is_one_sentence(tmp_path, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("kernel exploded\nwith a second line")

    monkeypatch.setattr(core.training.job, "evaluate", explode)
    store = RunStore(tmp_path / "runs.db")
    [run_id] = queue(store)
    assert Worker(store).serve(once=True) == 1
    failed = store.run(run_id)
    assert failed["status"] == "failed"
    assert failed["reason"] == "training stopped with RuntimeError: kernel exploded"


def test_a_run_whose_upload_is_gone_fails_with_a_sentence(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    [run_id] = queue(store)
    record = store.run(run_id)
    record["config"]["dataset"] = {
        "id": "upload:notes.csv",
        "settings": {},
        "upload": {"kind": "text", "name": "notes.csv", "options": {}, "sha256": "0" * 64},
    }
    store.save_run(record, "w")
    Worker(store).serve(once=True)
    assert store.run(run_id)["status"] == "failed"
    assert (
        store.run(run_id)["reason"]
        == "The uploaded file notes.csv is gone; upload it again on the Data page."
    )


def test_queued_runs_know_their_place_and_wait(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    [earlier] = queue(store)
    store.claim_run("elsewhere")
    store.add_epoch(earlier, {"epoch": 1, "seconds": 4.0})
    store.end_run(earlier, "completed", "")
    running, second, third = queue(store, 3)
    assert queue_waits(store, workers=1)[running] == (1, 0.0)
    assert queue_waits(store, workers=0)[running] == (1, None)  # no worker up yet: nobody knows when
    store.claim_run("elsewhere")
    assert queue_waits(store, workers=1) == {second: (1, None), third: (2, None)}  # no pace yet
    progress = {"epochs": 4, "batches": 10, "first_batch_seconds": 1.0, "first_epoch_seconds": 4.0}
    store.set_progress(running, {**progress, "epochs_done": 2, "last_epoch_end": 10.0, "fit_seconds": 10.0})
    assert queue_waits(store, workers=1) == {second: (1, 12.0), third: (2, 16.0)}
    assert queue_waits(store, workers=2) == {second: (1, 0.0), third: (2, 4.0)}


@pytest.mark.slow
def test_workers_end_with_a_dashboard_that_was_killed(tmp_path):
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, subprocess, sys, time\n"
            "command = [sys.executable, '-m', 'core', 'worker', '--parent', str(os.getpid())]\n"
            "worker = subprocess.Popen(command)\n"
            "print(worker.pid, flush=True)\n"
            "time.sleep(600)\n",
        ],
        cwd=ROOT,
        env={**os.environ, "RUNS_DB": str(tmp_path / "runs.db")},
        stdout=subprocess.PIPE,
        text=True,
    )
    worker = int(server.stdout.readline())
    server.kill()
    server.wait()

    def gone() -> bool:
        status = Path(f"/proc/{worker}/status")
        return not status.exists() or "\nState:\tZ" in status.read_text()

    wait_until(gone, "the orphaned worker ended", timeout=30)


@pytest.mark.slow
def test_a_store_that_still_refuses_after_waiting_fails_the_run_and_keeps_it_in_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNRNN_STORE_PATIENCE", "1")
    monkeypatch.setenv("CNNRNN_UNSAVED", str(tmp_path / "unsaved"))
    store = RunStore(tmp_path / "runs.db")
    refused, after = queue(store, 2)

    def disk_full(run_id: str, data: bytes) -> None:
        raise StoreBusy("database or disk is full")

    monkeypatch.setattr(store, "save_model", disk_full)
    assert Worker(store).serve(once=True) == 2  # the worker goes on to the next run
    failed = store.run(refused)
    kept = tmp_path / "unsaved" / f"run-{refused}.json"
    assert failed["status"] == "failed" and len(failed["history"]) == 1
    assert failed["reason"] == (
        f"the results could not be saved to {store.path} (database or disk is full); the run is kept in "
        f"{kept} (import it on Compare)"
    )
    [saved] = import_bundle(kept.read_bytes(), "w")
    assert saved["name"] == "CNN" and saved["status"] == "completed" and saved["metrics"]["accuracy"] >= 0
    assert store.run(after)["status"] == "failed"  # the same store refuses it too, and says so


def test_epochs_the_store_refused_are_written_once_it_accepts(tmp_path, monkeypatch):
    store = RunStore(tmp_path / "runs.db")
    [run_id] = queue(store)
    write_epoch, refusals = store.add_epoch, []

    def locked_once(run_id: str, entry: dict) -> None:
        if not refusals:
            refusals.append(entry["epoch"])
            raise StoreBusy("database is locked")
        write_epoch(run_id, entry)

    monkeypatch.setattr(store, "add_epoch", locked_once)
    Worker(store).serve(once=True)
    record = store.run(run_id)
    assert refusals == [1] and record["status"] == "completed" and record["reason"] == ""
    assert [entry["epoch"] for entry in record["history"]] == [1]


@pytest.mark.slow
def test_a_lock_held_longer_than_the_busy_timeout_delays_the_run_but_loses_nothing(tmp_path, monkeypatch):
    """Another process holds the store's write lock for five busy timeouts (as one held for 50 s once
    failed a run with 0 of its epochs); the run completes with every epoch once the lock goes."""
    monkeypatch.setattr(core.runs.database, "BUSY_TIMEOUT", 1.0)
    database = tmp_path / "runs.db"
    store = RunStore(database)
    description = {**SMALL, "limit": 64}
    dataset = load_described(description)
    spec = presets_for(dataset.signature)["CNN"]
    record = queued_record(description, dataset.info, dataset.signature, spec, {"epochs": 3})
    [run_id] = enqueue(store, [record], "w")
    holder = sqlite3.connect(database, isolation_level=None, check_same_thread=False)

    def hold_while_it_trains() -> None:
        wait_until(lambda: RunStore(database).running() == [run_id], "the run started", timeout=60)
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE runs SET reason = reason")
        time.sleep(5)
        holder.execute("COMMIT")

    other = threading.Thread(target=hold_while_it_trains)
    other.start()
    Worker(store).serve(once=True)
    other.join()
    done = RunStore(database).run(run_id)
    assert done["status"] == "completed" and [entry["epoch"] for entry in done["history"]] == [1, 2, 3]


def test_no_time_is_promised_before_enough_of_the_run_has_been_timed():
    first_epoch = {"progress": 0.2, "fit_seconds": 3.0, "epochs": 4, "batches": 10, "batch": 8}
    assert eta_seconds(first_epoch) is None  # no first batch timed
    first_epoch["first_batch_seconds"] = 1.0
    assert eta_seconds(first_epoch) is None  # several epochs: wait for the first to end
    assert eta_seconds({**first_epoch, "epochs": 1}) == pytest.approx(2 * 2.0 / 7)  # one epoch: its batches
    after_one = {**first_epoch, "epochs_done": 1, "first_epoch_seconds": 4.0, "last_epoch_end": 4.0}
    after_one.update(fit_seconds=4.0, batch=0)
    assert eta_seconds(after_one) == pytest.approx(3 * 3.0 * 10 / 9)  # the first epoch, less its first batch
    validated = {**after_one, "first_validation": {"batches": 5, "first_batch_seconds": 0.6, "seconds": 1.0}}
    per_epoch = (4.0 - 1.0 - 1.0) * 10 / 9 + (1.0 - 0.6) * 5 / 4  # both less their tracing
    assert eta_seconds(validated) == pytest.approx(3 * per_epoch)
    probed = {**validated, "first_probe_seconds": 0.5, "first_epoch_seconds": 4.5, "last_epoch_end": 4.5}
    assert eta_seconds({**probed, "fit_seconds": 4.5}) == pytest.approx(3 * per_epoch)  # first probe left out
    # the epoch's last batch ended before its validation and probe: nothing of the next is done yet
    assert eta_seconds({**probed, "fit_seconds": 3.0}) == pytest.approx(3 * per_epoch)
    later = {**after_one, "epochs_done": 3, "last_epoch_end": 10.0, "fit_seconds": 11.0}
    assert eta_seconds(later) == pytest.approx(3.0 - 1.0)  # the pace of epochs 2-3, less what is done
    assert eta_seconds({**later, "phase": "evaluating"}) is None


def test_the_time_left_leaves_out_a_first_call_of_several_batches():
    one_epoch = {"epochs": 1, "batches": 20, "first_batch_seconds": 2.0, "first_call_batches": 4}
    assert eta_seconds({**one_epoch, "batch": 4, "fit_seconds": 2.0}) is None  # only the tracing call
    # batches 5-12 took 8 - 2 = 6 s: 0.75 s a batch for the 8 left
    assert eta_seconds({**one_epoch, "batch": 12, "fit_seconds": 8.0}) == pytest.approx(8 * 0.75)
    after_one = {**one_epoch, "epochs": 3, "batch": 0, "epochs_done": 1, "fit_seconds": 11.0}
    after_one.update(first_epoch_seconds=11.0, last_epoch_end=11.0)
    after_one["first_validation"] = {
        "batches": 6,
        "first_batch_seconds": 0.9,
        "first_call_batches": 3,
        "seconds": 1.2,
    }
    per_epoch = (11.0 - 1.2 - 2.0) * 20 / 16 + (1.2 - 0.9) * 6 / 3  # both calls of 4 and 3 batches left out
    assert eta_seconds(after_one) == pytest.approx(2 * per_epoch)
    single_call = {**after_one, "batches": 4}  # the whole epoch was its tracing call: no pace yet
    assert eta_seconds(single_call) is None
    assert eta_seconds({**single_call, "epochs_done": 2, "last_epoch_end": 14.0}) == pytest.approx(3.0)
