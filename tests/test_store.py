from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import ROOT, finished_run, small

from core.errors import UserError
from core.model.presets import presets_for
from core.runs.database import APPLICATION_ID
from core.runs.record import FIELDS, VERSION_KEY, RunRecord
from core.runs.store import SCHEMA, SCHEMA_VERSION, RunStore
from core.training.job import TrainingJob


def train(store: RunStore, workspace: str = "w", epochs: int = 2) -> dict:
    dataset = small("digits_8x8", 96)
    job = TrainingJob(
        dataset, presets_for(dataset.signature)["GRU"], {"epochs": epochs}, store=store, workspace=workspace
    )
    return job.run()


def test_runs_are_written_with_history_metrics_and_model(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    record = train(store)
    [saved] = store.runs("w")
    assert saved["id"] == record["id"] and saved["status"] == "completed"
    assert [h["epoch"] for h in saved["history"]] == [1, 2]
    assert saved["metrics"]["accuracy"] == pytest.approx(record["metrics"]["accuracy"])
    assert saved["config"]["model"]["name"] == "GRU"
    assert store.model(record["id"])[:2] == b"PK"  # a .keras file is a zip archive
    assert store.runs("someone-else") == []
    assert store.integrity() == "ok"
    assert sqlite3.connect(tmp_path / "runs.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.slow
def test_deleting_a_run_keeps_other_workspaces(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    mine, theirs = train(store, "mine", 1), train(store, "theirs", 1)
    store.delete([mine["id"], theirs["id"]], "mine")
    assert store.runs("mine") == [] and [r["id"] for r in store.runs("theirs")] == [theirs["id"]]


@pytest.mark.slow
def test_a_killed_process_leaves_completed_runs_and_an_interrupted_one(tmp_path):
    database = tmp_path / "runs.db"
    env = {**os.environ, "RUNS_DB": str(database)}
    command = [sys.executable, "-m", "core", "train", "--dataset", "digits_8x8", "--model", "GRU"]
    finished = subprocess.run(
        [*command, "--epochs", "1"], cwd=ROOT, env=env, capture_output=True, timeout=300
    )
    assert finished.returncode == 0, finished.stderr
    running = subprocess.Popen(
        [*command, "--epochs", "200", "--batch-size", "8"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 240
        while time.time() < deadline:
            with sqlite3.connect(database, timeout=30) as db:
                epochs = db.execute(
                    "SELECT count(*) FROM epochs e JOIN runs r ON r.id = e.run_id WHERE r.status = 'running'"
                ).fetchone()[0]
            if epochs >= 2:
                break
            time.sleep(0.3)
        else:
            pytest.fail("the second run never got going")
    finally:
        os.kill(running.pid, signal.SIGKILL)
        running.wait()
    store = RunStore(database)
    statuses = {r["status"]: r for r in store.runs()}
    assert set(statuses) == {"completed", "interrupted"}
    assert len(statuses["completed"]["history"]) == 1 and statuses["completed"]["metrics"]["accuracy"] > 0
    assert len(statuses["interrupted"]["history"]) >= 2
    assert "stopped unexpectedly" in statuses["interrupted"]["reason"]
    assert store.integrity() == "ok"


def test_a_damaged_or_foreign_file_is_refused_and_left_alone(tmp_path):
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(UserError, match=r"cannot be read as a run store .* left untouched"):
        RunStore(garbage)
    assert garbage.read_bytes() == b"this is not a database" * 100

    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    before = foreign.read_bytes()
    with pytest.raises(UserError, match="is not a run store of this app"):
        RunStore(foreign)
    assert foreign.read_bytes() == before


def test_cli_lists_runs(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    record = train(store, "lab", 1)
    env = {**os.environ, "RUNS_DB": str(tmp_path / "runs.db")}
    result = subprocess.run(
        [sys.executable, "-m", "core", "runs", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    [row] = json.loads(result.stdout)
    assert row["id"] == record["id"] and row["metric"] == "accuracy" and row["status"] == "completed"
    assert row["value"] == record["metrics"]["accuracy"] and row["workspace"] == "lab"
    assert RunRecord.from_outside({key: row[key] for key in (*FIELDS, VERSION_KEY)}).id == record["id"]


def test_an_older_store_is_migrated_and_keeps_its_runs(tmp_path):
    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as db:
        db.executescript(f"{SCHEMA} PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version=1;")
        db.execute(
            "INSERT INTO runs (id, workspace, name, family, dataset, task, status, owner, config) "
            "VALUES ('old', 'w', 'CNN', 'cnn', 'digits_8x8', 'classification', 'completed', 'x:1', '{}')"
        )
    store = RunStore(path)
    assert store.run("old")["status"] == "completed"
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.queued() == [] and store.upload(store.put_upload(b"data")) == b"data"


@pytest.mark.parametrize(
    ("version", "tables", "message"),
    [(99, True, "newer version of this app"), (0, True, "no store version"), (1, False, "lacks the tables")],
)
def test_a_store_of_another_version_or_without_tables_is_refused_untouched(
    tmp_path, version, tables, message
):
    path = tmp_path / "odd.db"
    with sqlite3.connect(path) as db:
        db.executescript(
            (SCHEMA if tables else "CREATE TABLE notes (text TEXT);")
            + f"PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version={version};"
        )
    before = path.read_bytes()
    with pytest.raises(UserError, match=message):
        RunStore(path)
    assert path.read_bytes() == before and not Path(f"{path}-wal").exists()


def test_a_writer_waits_while_another_process_holds_the_write_lock(tmp_path):
    """The store waits for a lock held elsewhere (up to its busy timeout) instead of failing the write."""
    database = tmp_path / "runs.db"
    first, second = (
        finished_run(run_id, "CNN", "digits_8x8", "classification", {}) for run_id in ("first", "second")
    )
    writer_store = RunStore(database)
    writer_store.save_run(first, "lab")
    holder = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE runs SET reason = 'held'")
    failures: list[BaseException] = []

    def write() -> None:
        try:
            writer_store.save_run(second, "lab")
        except BaseException as error:  # handed to the test's own thread
            failures.append(error)

    writer = threading.Thread(target=write)
    writer.start()
    writer.join(timeout=1.5)
    waited = writer.is_alive()
    assert RunStore(database).run("second") is None  # not written while the lock is held
    holder.execute("COMMIT")
    holder.close()
    writer.join(timeout=30)
    assert waited and not writer.is_alive() and failures == []
    assert [run["id"] for run in RunStore(database).runs()] == ["first", "second"]


def test_a_read_only_store_is_one_sentence(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    store._database._db = sqlite3.connect(
        f"file:{tmp_path / 'runs.db'}?mode=ro", uri=True, isolation_level=None
    )
    assert store.runs() == []  # reading still works
    with pytest.raises(UserError) as refused:
        store.save_run(finished_run("r", "CNN", "digits_8x8", "classification", {}), "w")
    assert str(refused.value) == (
        f"The run store {tmp_path / 'runs.db'} is read-only, so nothing can be saved to it; set RUNS_DB to "
        "a file this user can write."
    )
