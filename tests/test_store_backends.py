"""The same run store over an SQLite file and a real PostgreSQL server: runs, the fair queue's claims
under contention, dead workers, migrations, refusals, and workers on one shared server.

PostgreSQL comes from Debian's package (apt-get), started by the fixture on a unix socket. Where it
cannot be had (not root, not Debian) its half of these tests skips, except under CI=true.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from helpers import ROOT, finished_run
from postgres import new_database, postgres_server, server_programs

from core.datasets.described import load_described
from core.errors import UserError
from core.model.presets import presets_for
from core.runs.database import APPLICATION_ID
from core.runs.queue import enqueue, queued_record
from core.runs.store import MIGRATIONS, SCHEMA, SCHEMA_VERSION, RunStore

SMALL = {"id": "digits_8x8", "settings": {}, "limit": 64}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A PostgreSQL server for this module; its admin URL."""
    programs = server_programs()
    if programs is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is required under CI but could not be installed with apt-get")
        pytest.skip("PostgreSQL is not available (Debian's apt-get installs it); its store tests skipped")
    with postgres_server(programs) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path) -> str:
    """Where a fresh store lives: an SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "runs.db")
    return new_database(request.getfixturevalue("server"))


def queued(run_id: str, workspace_order: float) -> dict:
    record = finished_run(run_id, "CNN", "digits_8x8", "classification", {}, train={"epochs": 1})
    return {**record, "status": "queued", "created": workspace_order, "metrics": {}, "history": []}


def test_runs_histories_models_uploads_and_workspaces_are_kept(location):
    store = RunStore(location)
    history = [{"epoch": 1, "loss": 0.5, "seconds": 1.5}, {"epoch": 2, "loss": 0.25, "seconds": 1.0}]
    run = finished_run("r1", "CNN", "digits_8x8", "classification", {"accuracy": 0.75}, history=history)
    store.save_record(run, "team")
    store.save_record(finished_run("r2", "GRU", "digits_8x8", "classification", {}), "other")
    store.save_model("r1", b"\x00model")
    store.save_model("r1", b"\x00newer")
    digest = store.put_upload(b"a,b\n1,2\n")
    assert store.put_upload(b"a,b\n1,2\n") == digest and store.upload(digest) == b"a,b\n1,2\n"
    store.save_workspace("team", {"choice": {"id": "digits_8x8"}})
    again = RunStore(location)  # another process's view
    [found] = again.runs(workspace="team")
    assert found["metrics"] == {"accuracy": 0.75} and found["history"] == history
    assert again.model("r1") == b"\x00newer" and again.workspace("team") == {"choice": {"id": "digits_8x8"}}
    again.delete(["r1"], "team")
    assert again.run_ids("team") == [] and again.run_ids("other") == ["r2"]


def test_a_published_comparison_is_frozen_and_can_be_withdrawn(location):
    store = RunStore(location)
    run = finished_run(
        "r1", "CNN", "digits_8x8", "classification", {"accuracy": 0.75}, history=[{"epoch": 1}]
    )
    store.save_record(run, "team")
    token = store.publish("team", "CNN on digits", store.runs(workspace="team"))
    store.delete(["r1"], "team")
    shown = RunStore(location).publication(token)
    assert shown["title"] == "CNN on digits" and shown["withdrawn"] is None
    assert [(r["id"], r["metrics"], r["history"]) for r in shown["runs"]] == [
        ("r1", {"accuracy": 0.75}, [{"epoch": 1}])
    ]
    assert store.publications("team") == [
        {"token": token, "title": "CNN on digits", "created": shown["created"], "runs": 1}
    ]
    assert not store.withdraw(token, "someone-else") and store.withdraw(token, "team")
    assert store.publication(token)["withdrawn"] is not None and store.publications("team") == []
    assert store.publication("no-such-token") is None


def test_claims_are_fair_and_atomic_under_contention(location):
    store = RunStore(location)
    for number in range(12):
        store.save_run(queued(f"a{number:02}", 100.0 + number), "A")
    for number in range(3):
        store.save_run(queued(f"b{number:02}", 200.0 + number), "B")
    assert store.queued()[:4] == ["a00", "b00", "a01", "b01"]
    claimed: list[str] = []

    def claim_all() -> None:
        mine = RunStore(location)  # a connection of its own, as another process has
        while (run := mine.claim_run(f"claimer-{threading.get_ident()}")) is not None:
            claimed.append(run["id"])

    threads = [threading.Thread(target=claim_all) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(claimed) == Counter(f"a{n:02}" for n in range(12)) + Counter(f"b{n:02}" for n in range(3))
    assert store.claim_run("late") is None and store.queued() == []


def test_a_run_whose_remote_worker_stopped_beating_is_interrupted(location):
    store = RunStore(location)
    store.save_run(queued("r1", 1.0), "w")
    store.claim_run("gpu-box-elsewhere:4242")
    with RunStore(location)._database.atomic() as execute:
        execute("UPDATE runs SET heartbeat = ? WHERE id = 'r1'", (time.time() - 3600,))
    assert RunStore(location).run("r1")["status"] == "interrupted"  # judged dead by its heartbeat


def test_workers_on_any_machine_say_they_are_alive(location):
    store = RunStore(location)
    store.worker_seen("gpu-box:7")
    store.worker_seen("laptop:3")
    assert store.workers_alive() == ["gpu-box:7", "laptop:3"]
    with store._database.atomic() as execute:
        execute("UPDATE workers SET seen = ? WHERE owner = 'laptop:3'", (time.time() - 3600,))
    assert RunStore(location).workers_alive() == ["gpu-box:7"]


def test_an_older_store_is_migrated(location):
    """A version 4 store (before workspaces and publications) opens as the newest version, runs kept."""
    config = json.dumps({"dataset": {"id": "digits_8x8", "settings": {}}, "model": {}, "train": {}})
    old_run = (
        "INSERT INTO runs (id, workspace, name, family, dataset, task, status, owner, config) VALUES "
        f"('old', 'w', 'CNN', 'cnn', 'digits_8x8', 'classification', 'completed', 'x', '{config}')"
    )
    scripts = [SCHEMA, *(MIGRATIONS[version] for version in (2, 3, 4))]
    statements = [part for script in scripts for part in script.split(";") if part.strip()]
    if location.startswith("postgresql"):
        import psycopg

        with psycopg.connect(location, autocommit=True) as db:
            for statement in statements:
                db.execute(statement.replace(" REAL", " DOUBLE PRECISION").replace("BLOB", "BYTEA"))
            db.execute("CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.execute(f"INSERT INTO store_meta VALUES ('application', '{APPLICATION_ID}'), ('version', '4')")
            db.execute(old_run)
    else:
        with sqlite3.connect(location) as db:
            for statement in statements:
                db.execute(statement)
            db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            db.execute("PRAGMA user_version=4")
            db.execute(old_run)
    store = RunStore(location)
    assert store.run_ids("w") == ["old"] and SCHEMA_VERSION == 7
    store.save_workspace("w", {"kept": True})
    assert RunStore(location).workspace("w") == {"kept": True}


def test_a_foreign_or_newer_postgres_database_is_refused_untouched(server):
    import psycopg

    foreign = new_database(server)
    with psycopg.connect(foreign, autocommit=True) as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with pytest.raises(UserError, match="holds other tables and is not a run store of this app"):
        RunStore(foreign)
    newer = new_database(server)
    RunStore(newer)
    with psycopg.connect(newer, autocommit=True) as db:
        db.execute("UPDATE store_meta SET value = '99' WHERE key = 'version'")
    with pytest.raises(UserError, match=r"newer version of this app \(store version 99\)"):
        RunStore(newer)
    with psycopg.connect(foreign, autocommit=True) as db:
        tables = [row[0] for row in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    assert tables == ["invoices"]
    unreachable = server.replace("/postgres?", "/no_such_database?")
    with pytest.raises(UserError, match="cannot be reached"):
        RunStore(unreachable)


def _worker(location: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "core", "worker", "--once"],
        cwd=ROOT,
        env={**os.environ, "RUNS_DB": location, "CUDA_VISIBLE_DEVICES": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_workers_on_one_postgres_store_train_each_run_exactly_once(server):
    location = new_database(server)
    store = RunStore(location)
    dataset = load_described(SMALL)
    spec = presets_for(dataset.signature)["CNN"]
    records = [
        queued_record(SMALL, dataset.info, dataset.signature, spec, {"epochs": 1, "batch_size": 32})
        for _ in range(6)
    ]
    ids = enqueue(store, records, "class")
    first, second = _worker(location), _worker(location)
    deadline = time.monotonic() + 240
    while store.running() == [] and store.queued() == ids and time.monotonic() < deadline:
        time.sleep(0.2)
    third = _worker(location)  # joins later
    for worker in (first, second, third):
        assert worker.wait(timeout=300) == 0, worker.stderr.read()[-2000:]
    runs = store.runs()
    assert sorted(run["id"] for run in runs) == sorted(ids)
    assert all(run["status"] == "completed" and len(run["history"]) == 1 for run in runs)
    owners = Counter(run["owner"] for run in runs)
    assert sum(owners.values()) == 6 and len(owners) >= 2  # shared between the workers, each run once
    assert set(owners) <= set(store.workers_alive())  # each said it was alive
