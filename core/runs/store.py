"""The run store: every run, its per-epoch history and its results, in one SQLite file (WAL mode) or on
a PostgreSQL server (``core.runs.database``).

It is ``$RUNS_DB``: a file path (default ``runs/runs.db`` in the project) or a ``postgresql://`` URL,
which workers on other machines can share. It is also the training queue:
the dashboard and the command line insert runs as "queued"; worker processes claim them one at a
time, write batch progress, each finished epoch, the test metrics and the trained model back, and beat
a heartbeat while they train. A run whose worker is gone becomes "interrupted" with its finished epochs.
Uploaded data is kept by its SHA-256 so that workers can read it; Keras downloads and cost calibrations
(a few timed batches of a model: ``core.runs.estimates``, ``core.lab.length_cost``) are queued here too.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import time
from pathlib import Path
from typing import Any

from core.runs.database import Execute, is_server, open_database
from core.runs.fairness import RECENT_SECONDS, fair_order
from core.runs.record import FIELDS, UNFINISHED, RunRecord, RunStatus, WorkStatus

SCHEMA_VERSION = 7
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "runs" / "runs.db"
HEARTBEAT_TIMEOUT = 60.0  # seconds without a heartbeat after which a worker on another machine is dead
WORKER_SEEN_TIMEOUT = 30.0  # seconds after a worker last said it was alive that it no longer counts
CALIBRATION_WORKER_DIED = (
    "the worker measuring it stopped unexpectedly (killed, out of memory, or a crash inside TensorFlow)"
)
WORKER_DIED = (
    "the worker training this run stopped unexpectedly (killed, out of memory, or a crash inside "
    "TensorFlow); the finished epochs are kept"
)
SCHEMA = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    workspace TEXT NOT NULL,
    name TEXT NOT NULL,
    family TEXT NOT NULL,
    dataset TEXT NOT NULL,
    task TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    params INTEGER NOT NULL DEFAULT 0,
    train_seconds REAL NOT NULL DEFAULT 0,
    created REAL,
    started REAL,
    finished REAL,
    owner TEXT NOT NULL,
    config TEXT NOT NULL,
    metrics TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX runs_by_workspace ON runs (workspace, created);
CREATE TABLE models (
    run_id TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    data BLOB NOT NULL
);
CREATE TABLE epochs (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, epoch)
);
"""
MIGRATIONS = {  # version -> the SQL that brings a store of the version before it up to it
    2: """
ALTER TABLE runs ADD COLUMN progress TEXT NOT NULL DEFAULT '{}';
ALTER TABLE runs ADD COLUMN heartbeat REAL;
ALTER TABLE runs ADD COLUMN stop_requested REAL;
CREATE INDEX runs_by_status ON runs (status, created);
CREATE TABLE uploads (sha256 TEXT PRIMARY KEY, data BLOB NOT NULL, created REAL NOT NULL);
CREATE TABLE downloads (
    dataset TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT '',
    requested REAL NOT NULL
);
""",
    3: """
ALTER TABLE runs ADD COLUMN estimate TEXT;
CREATE TABLE calibrations (
    key TEXT PRIMARY KEY,
    request TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    result TEXT,
    owner TEXT NOT NULL DEFAULT '',
    requested REAL NOT NULL
);
CREATE INDEX calibrations_by_status ON calibrations (status, requested);
""",
    4: """
ALTER TABLE runs ADD COLUMN signature TEXT;
""",
    5: """
CREATE TABLE workspaces (name TEXT PRIMARY KEY, state TEXT NOT NULL, updated REAL NOT NULL);
""",
    6: """
CREATE TABLE publications (
    token TEXT PRIMARY KEY,
    workspace TEXT NOT NULL,
    title TEXT NOT NULL,
    runs TEXT NOT NULL,
    created REAL NOT NULL,
    withdrawn REAL
);
CREATE INDEX publications_by_workspace ON publications (workspace, created);
""",
    7: """
CREATE TABLE workers (owner TEXT PRIMARY KEY, seen REAL NOT NULL);
""",
}
RUN_COLUMNS = ("workspace", "owner", *(field for field in FIELDS if field != "history"))
JSON_COLUMNS = ("config", "metrics", "estimate", "signature")  # kept as JSON text
LIVE_COLUMNS = ("progress", "heartbeat", "stop_requested")
KEPT_ON_UPDATE = ("estimate",)  # set beside a run by its worker: saving a record without it keeps it
COST_HISTORY_RUNS = 200  # the newest completed runs with an estimate that core.runs.estimates fits on


def default_location() -> Path | str:
    """``$RUNS_DB``: a file path or a PostgreSQL URL (default ``runs/runs.db`` in the project)."""
    given = os.environ.get("RUNS_DB") or str(DEFAULT_PATH)
    return given if is_server(given) else Path(given)


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_pid(owner: str) -> int | None:
    """The process id behind an owner string, when that process runs on this machine."""
    host, _, pid = owner.rpartition(":")
    return int(pid) if host == socket.gethostname() and pid.isdigit() else None


def _alive(owner: str, heartbeat: float | None) -> bool:
    pid = owner_pid(owner)
    if pid is None:  # another machine's process: judged by its heartbeat
        return heartbeat is None or time.time() - heartbeat < HEARTBEAT_TIMEOUT
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunStore:
    """Thread-safe access to one run database; refuses files that are not this app's, untouched."""

    def __init__(self, path: Path | str | None = None) -> None:
        """The store at ``path`` (a file or a ``postgresql://`` URL; default ``$RUNS_DB``)."""
        location = default_location() if path is None else path
        self.path: Path | str = location if is_server(location) else Path(location)
        self._database = open_database(self.path, _statements(SCHEMA), MIGRATION_STATEMENTS, SCHEMA_VERSION)
        self.where = self._database.where  # how sentences name it (a server's URL without its password)
        self.mark_interrupted()

    def close(self) -> None:
        self._database.close()

    def _execute(self, sql: str, parameters: tuple | list = ()) -> list[tuple]:
        return self._database.execute(sql, parameters)

    def _transaction(
        self, statements: list[tuple[str, tuple | list]], write: bool = True
    ) -> list[list[tuple]]:
        """Several statements as one transaction (``Database.atomic``); each one's rows."""
        with self._database.atomic(write) as execute:
            return [execute(sql, parameters) for sql, parameters in statements]

    # ---- writing runs ------------------------------------------------------------------------

    def save_run(self, record: dict[str, Any], workspace: str, owner: str | None = None) -> None:
        """Insert or update a run's row (its history is written epoch by epoch, see add_epoch)."""
        updates = ", ".join(
            f"{c} = COALESCE(excluded.{c}, runs.{c})" if c in KEPT_ON_UPDATE else f"{c} = excluded.{c}"
            for c in RUN_COLUMNS
            if c not in ("id", "workspace")
        )
        self._execute(*_insert_run(record, workspace, owner, f"DO UPDATE SET {updates}"))

    def import_runs(self, records: list[dict[str, Any]], workspace: str) -> int:
        """Whole runs (history included) in one transaction: all are saved, or none. Runs whose id is
        already here are left as they are; returns how many were added.
        """
        statements = []
        for record in records:
            statements.append(_insert_run(record, workspace, None, "DO NOTHING RETURNING id"))
            statements += [
                (
                    "INSERT INTO epochs (run_id, epoch, data) VALUES (?, ?, ?) "
                    "ON CONFLICT (run_id, epoch) DO NOTHING",
                    (record["id"], entry["epoch"], json.dumps(entry)),
                )
                for entry in record.get("history") or []
            ]
        results = self._transaction(statements)
        return sum(1 for rows in results if rows)

    def add_epoch(self, run_id: str, entry: dict[str, Any]) -> None:
        self._execute(
            "INSERT INTO epochs (run_id, epoch, data) VALUES (?, ?, ?) "
            "ON CONFLICT (run_id, epoch) DO UPDATE SET data = excluded.data",
            (run_id, entry["epoch"], json.dumps(entry)),
        )

    def save_record(self, record: dict[str, Any], workspace: str) -> None:
        """A whole run at once, history included (runs trained elsewhere)."""
        self.save_run(record, workspace)
        for entry in record.get("history") or []:
            self.add_epoch(record["id"], entry)

    def save_model(self, run_id: str, data: bytes) -> None:
        self._execute(
            "INSERT INTO models (run_id, data) VALUES (?, ?) "
            "ON CONFLICT (run_id) DO UPDATE SET data = excluded.data",
            (run_id, data),
        )

    def model(self, run_id: str) -> bytes | None:
        rows = self._execute("SELECT data FROM models WHERE run_id = ?", (run_id,))
        return rows[0][0] if rows else None

    def delete(self, run_ids: list[str], workspace: str) -> None:
        """Delete finished runs of a workspace (queued and running ones are cancelled or stopped first)."""
        for run_id in run_ids:
            self._execute(
                "DELETE FROM runs WHERE id = ? AND workspace = ? AND status NOT IN (?, ?)",
                (run_id, workspace, *sorted(UNFINISHED)),
            )

    # ---- the queue ---------------------------------------------------------------------------

    def claim_run(self, owner: str, only: list[str] | None = None) -> dict[str, Any] | None:
        """Atomically take the next queued run in the fair order (of ``only``, if given) for ``owner``;
        None if none.
        """
        now = time.time()
        with self._database.atomic() as execute:
            order = [run_id for run_id in _fair_queue(execute, now) if only is None or run_id in only]
            if not order:
                return None
            free = {  # on a server, the queued rows no other claim holds right now
                row[0]
                for row in execute(
                    f"SELECT id FROM runs WHERE status = 'queued' AND id IN ({', '.join('?' for _ in order)})"
                    + self._database.lock_rows,
                    order,
                )
            }
            chosen = next((run_id for run_id in order if run_id in free), None)
            if chosen is None:
                return None
            execute(
                "UPDATE runs SET status = 'running', owner = ?, started = ?, heartbeat = ?, progress = '{}' "
                "WHERE id = ?",
                (owner, now, now, chosen),
            )
        return self.run(chosen)

    def queued(self) -> list[str]:
        """Ids of every queued run, in the order workers will take them (``core.runs.fairness``)."""
        with self._database.atomic(write=False) as execute:
            return _fair_queue(execute, time.time())

    def running(self) -> list[str]:
        """Ids of every run a worker is training."""
        return [row[0] for row in self._execute("SELECT id FROM runs WHERE status = 'running'")]

    def completed_like(self, runs: list[dict[str, Any]]) -> list[str]:
        """Ids of the completed runs of the same model name on the same dataset as any of ``runs``."""
        pairs = sorted({(run["name"], run["dataset"]) for run in runs})
        if not pairs:
            return []
        matches = " OR ".join("(name = ? AND dataset = ?)" for _ in pairs)
        rows = self._execute(
            f"SELECT id FROM runs WHERE status = 'completed' AND ({matches})",
            tuple(value for pair in pairs for value in pair),
        )
        return [row[0] for row in rows]

    def set_progress(self, run_id: str, progress: dict[str, Any]) -> None:
        """The live state of a running run (batch, loss, speed); also counts as a heartbeat."""
        self._execute(
            "UPDATE runs SET progress = ?, heartbeat = ? WHERE id = ?",
            (json.dumps(progress), time.time(), run_id),
        )

    def beat(self, run_id: str) -> bool:
        """Record that the run's worker is alive; True when someone asked the run to stop."""
        rows = self._execute(
            "UPDATE runs SET heartbeat = ? WHERE id = ? RETURNING stop_requested", (time.time(), run_id)
        )
        return bool(rows and rows[0][0] is not None)

    def request_stop(self, run_ids: list[str], workspace: str) -> int:
        """Ask a workspace's running runs to stop after their current batch; returns how many were asked."""
        return self._update_own(
            "stop_requested = ?",
            (time.time(),),
            run_ids,
            workspace,
            "status = 'running' AND stop_requested IS NULL",
        )

    def cancel_queued(self, run_ids: list[str], workspace: str) -> int:
        """Take a workspace's queued runs off the queue (kept as stopped); returns how many."""
        return self._update_own(
            "status = 'stopped', reason = ?, finished = ?",
            ("cancelled before it started", time.time()),
            run_ids,
            workspace,
            "status = 'queued'",
        )

    def _update_own(self, changes: str, values: tuple, run_ids: list[str], workspace: str, when: str) -> int:
        """One UPDATE of those of ``run_ids`` that belong to ``workspace`` and meet ``when``; how many."""
        among = ", ".join("?" for _ in run_ids) or "NULL"
        return len(
            self._execute(
                f"UPDATE runs SET {changes} WHERE id IN ({among}) AND workspace = ? AND {when} RETURNING id",
                (*values, *run_ids, workspace),
            )
        )

    def end_run(self, run_id: str, status: str, reason: str) -> bool:
        """Mark a run that is still running as ended from outside its worker (forced stop, dead worker)."""
        rows = self._execute(
            "UPDATE runs SET status = ?, reason = ?, finished = ? WHERE id = ? AND status = 'running' "
            "RETURNING id",
            (status, reason, time.time(), run_id),
        )
        return bool(rows)

    def mark_interrupted(self) -> int:
        """Running runs whose process is gone become "interrupted"; queued runs wait for a worker."""
        rows = self._execute("SELECT id, owner, heartbeat FROM runs WHERE status = 'running'")
        return sum(
            self.end_run(run_id, RunStatus.INTERRUPTED, WORKER_DIED)
            for run_id, owner, heartbeat in rows
            if not _alive(owner, heartbeat)
        )

    # ---- uploads and downloads ---------------------------------------------------------------

    def put_upload(self, data: bytes) -> str:
        """Keep uploaded bytes once, by content; returns their SHA-256."""
        digest = hashlib.sha256(data).hexdigest()
        self._execute(
            "INSERT INTO uploads (sha256, data, created) VALUES (?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
            (digest, data, time.time()),
        )
        return digest

    def upload(self, digest: str) -> bytes | None:
        rows = self._execute("SELECT data FROM uploads WHERE sha256 = ?", (digest,))
        return rows[0][0] if rows else None

    def request_download(self, dataset_id: str) -> None:
        """Queue a dataset download for a worker (again, if an earlier try failed)."""
        self._execute(
            "INSERT INTO downloads (dataset, status, requested) VALUES (?, 'queued', ?) "
            "ON CONFLICT (dataset) DO UPDATE SET status = 'queued', reason = '', "
            "requested = excluded.requested "
            "WHERE downloads.status = 'failed'",
            (dataset_id, time.time()),
        )

    def claim_download(self, owner: str) -> str | None:
        [rows] = self._transaction(
            [
                (
                    "UPDATE downloads SET status = 'running', owner = ? WHERE dataset = (SELECT dataset "
                    "FROM downloads WHERE status = 'queued' ORDER BY requested LIMIT 1) RETURNING dataset",
                    (owner,),
                )
            ]
        )
        return rows[0][0] if rows else None

    def finish_download(self, dataset_id: str, status: str, reason: str = "") -> None:
        self._execute(
            "UPDATE downloads SET status = ?, reason = ? WHERE dataset = ?", (status, reason, dataset_id)
        )

    def download(self, dataset_id: str) -> dict[str, str] | None:
        """A download's status ("queued", "running", "done" or "failed") and the reason it failed."""
        rows = self._execute("SELECT status, reason, owner FROM downloads WHERE dataset = ?", (dataset_id,))
        if not rows:
            return None
        status, reason, owner = rows[0]
        if status == WorkStatus.RUNNING and not _alive(owner, None):
            self.finish_download(
                dataset_id, WorkStatus.FAILED, "the worker downloading it stopped unexpectedly"
            )
            return {"status": WorkStatus.FAILED, "reason": "the worker downloading it stopped unexpectedly"}
        return {"status": status, "reason": reason}

    # ---- cost calibrations and estimates (core.runs.estimates) -------------------------------------------

    def request_calibrations(self, requests: dict[str, dict[str, Any]]) -> None:
        """Queue calibrations for a worker, by key; one already asked for is left as it is."""
        if not requests:
            return
        now = time.time()
        self._transaction(
            [
                (
                    "INSERT INTO calibrations (key, request, status, requested) VALUES (?, ?, 'queued', ?) "
                    "ON CONFLICT (key) DO NOTHING",
                    (key, json.dumps(request), now),
                )
                for key, request in requests.items()
            ]
        )

    def retry_calibrations(self, keys: list[str]) -> int:
        """Queue failed calibrations again; returns how many."""
        among = ", ".join("?" for _ in keys) or "NULL"
        rows = self._execute(
            f"UPDATE calibrations SET status = 'queued', reason = '', requested = ? "
            f"WHERE key IN ({among}) AND status = 'failed' RETURNING key",
            (time.time(), *keys),
        )
        return len(rows)

    def claim_calibration(
        self, owner: str, only: list[str] | None = None
    ) -> tuple[str, dict[str, Any]] | None:
        """Atomically take the oldest queued calibration (of ``only``, if given): its key and request;
        None if none.
        """
        among = f"AND key IN ({', '.join('?' for _ in only)})" if only else ""
        [rows] = self._transaction(
            [
                (
                    "UPDATE calibrations SET status = 'running', owner = ? WHERE key = (SELECT key FROM "
                    f"calibrations WHERE status = 'queued' {among} ORDER BY requested LIMIT 1) "
                    "RETURNING key, request",
                    (owner, *(only or [])),
                )
            ]
        )
        return (rows[0][0], json.loads(rows[0][1])) if rows else None

    def finish_calibration(self, key: str, result: dict[str, Any] | None = None, reason: str = "") -> None:
        """A calibration's result ("done"), or the sentence saying why it failed."""
        self._execute(
            "UPDATE calibrations SET status = ?, result = ?, reason = ? WHERE key = ?",
            (WorkStatus.FAILED if result is None else WorkStatus.DONE, json.dumps(result), reason, key),
        )

    def calibrations(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """The calibrations asked for among ``keys``: status ("queued", "running", "done" or "failed"),
        the reason it failed and its result; one whose worker is gone is failed with a sentence.
        """
        among = ", ".join("?" for _ in keys) or "NULL"
        rows = self._execute(
            f"SELECT key, status, reason, result, owner FROM calibrations WHERE key IN ({among})", keys
        )
        found = {}
        for key, status, reason, result, owner in rows:
            if status == WorkStatus.RUNNING and not _alive(owner, None):
                status, reason = WorkStatus.FAILED, CALIBRATION_WORKER_DIED
                self.finish_calibration(key, reason=reason)
            found[key] = {"status": status, "reason": reason, "result": json.loads(result or "null")}
        return found

    def set_estimate(self, run_id: str, estimate: dict[str, Any]) -> None:
        """Keep a run's cost estimate beside it (made before it trains; its measured memory after)."""
        self._execute("UPDATE runs SET estimate = ? WHERE id = ?", (json.dumps(estimate), run_id))

    def cost_history(self, limit: int = COST_HISTORY_RUNS) -> list[dict[str, Any]]:
        """The newest completed runs that kept an estimate, each as its estimate, the seconds of each of
        its epochs and its training seconds: what ``core.runs.estimates`` fits on and judges its sources by.
        """
        newest = (
            "SELECT id FROM runs WHERE status = 'completed' AND estimate IS NOT NULL "
            "ORDER BY finished DESC LIMIT ?"
        )
        rows, epochs = self._transaction(
            [
                (f"SELECT id, estimate, train_seconds FROM runs WHERE id IN ({newest})", (limit,)),
                (
                    f"SELECT run_id, {self._database.json_number('data', 'seconds')} FROM epochs "
                    f"WHERE run_id IN ({newest}) ORDER BY run_id, epoch",
                    (limit,),
                ),
            ],
            write=False,
        )  # an epoch's seconds only: its entry can hold thousands of probed gradients
        seconds: dict[str, list[float]] = {}
        for run_id, epoch_seconds in epochs:
            seconds.setdefault(run_id, []).append(epoch_seconds)
        return [
            {
                "estimate": json.loads(estimate),
                "epoch_seconds": seconds.get(run_id, []),
                "train_seconds": train,
            }
            for run_id, estimate, train in rows
        ]

    def has_work(self) -> bool:
        """Whether any run, download or calibration waits for a worker."""
        return bool(
            self._execute(
                "SELECT 1 FROM runs WHERE status = 'queued' UNION ALL "
                "SELECT 1 FROM downloads WHERE status = 'queued' UNION ALL "
                "SELECT 1 FROM calibrations WHERE status = 'queued' LIMIT 1"
            )
        )

    # ---- workers -----------------------------------------------------------------------------

    def worker_seen(self, owner: str) -> None:
        """A worker (``host:pid``) says it is alive, idle or training."""
        self._execute(
            "INSERT INTO workers (owner, seen) VALUES (?, ?) "
            "ON CONFLICT (owner) DO UPDATE SET seen = excluded.seen",
            (owner, time.time()),
        )

    def workers_alive(self) -> list[str]:
        """The workers (``host:pid``), on any machine, that said they were alive in the last
        ``WORKER_SEEN_TIMEOUT`` seconds.
        """
        rows = self._execute(
            "SELECT owner FROM workers WHERE seen >= ? ORDER BY owner", (time.time() - WORKER_SEEN_TIMEOUT,)
        )
        return [row[0] for row in rows]

    # ---- workspaces --------------------------------------------------------------------------

    def save_workspace(self, name: str, kept: dict[str, Any]) -> None:
        """What a workspace's visitor last chose (data, models, training settings), so that a reload
        brings it back.
        """
        self._execute(
            "INSERT INTO workspaces (name, state, updated) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated = excluded.updated",
            (name, json.dumps(kept), time.time()),
        )

    def workspace(self, name: str) -> dict[str, Any] | None:
        """What ``save_workspace`` last kept for the workspace, or None."""
        rows = self._execute("SELECT state FROM workspaces WHERE name = ?", (name,))
        return json.loads(rows[0][0]) if rows else None

    def run_ids(self, workspace: str) -> list[str]:
        """The workspace's run ids, oldest first, without reading the runs."""
        rows = self._execute("SELECT id FROM runs WHERE workspace = ? ORDER BY created, id", (workspace,))
        return [row[0] for row in rows]

    # ---- published comparisons ---------------------------------------------------------------

    def publish(self, workspace: str, title: str, records: list[dict[str, Any]]) -> str:
        """Freeze copies of these runs (histories included) as a read-only comparison; its token, which
        its link carries. Later changes to the workspace's runs do not reach it.
        """
        token = secrets.token_urlsafe(16)
        frozen = json.dumps([RunRecord.from_row(record).to_dict() for record in records])
        self._execute(
            "INSERT INTO publications (token, workspace, title, runs, created) VALUES (?, ?, ?, ?, ?)",
            (token, workspace, title, frozen, time.time()),
        )
        return token

    def publication(self, token: str) -> dict[str, Any] | None:
        """A published comparison: its title, when it was made and withdrawn (None while it stands), and
        its frozen runs; None for an unknown token.
        """
        rows = self._execute(
            "SELECT title, created, withdrawn, runs FROM publications WHERE token = ?", (token,)
        )
        if not rows:
            return None
        title, created, withdrawn, runs = rows[0]
        return {
            "token": token,
            "title": title,
            "created": created,
            "withdrawn": withdrawn,
            "runs": [RunRecord.from_row(run).to_dict() for run in json.loads(runs)],
        }

    def publications(self, workspace: str) -> list[dict[str, Any]]:
        """The workspace's comparisons still published, newest first: token, title, created and how many
        runs each holds.
        """
        rows = self._execute(
            "SELECT token, title, created, runs FROM publications WHERE workspace = ? AND withdrawn IS NULL "
            "ORDER BY created DESC",
            (workspace,),
        )
        return [
            {"token": token, "title": title, "created": created, "runs": len(json.loads(runs))}
            for token, title, created, runs in rows
        ]

    def withdraw(self, token: str, workspace: str) -> bool:
        """Withdraw a comparison the workspace published; whether there was one to withdraw."""
        rows = self._execute(
            "UPDATE publications SET withdrawn = ? WHERE token = ? AND workspace = ? AND withdrawn IS NULL "
            "RETURNING token",
            (time.time(), token, workspace),
        )
        return bool(rows)

    # ---- reading -----------------------------------------------------------------------------

    def run(self, run_id: str) -> dict[str, Any] | None:
        found = self.runs(ids=[run_id])
        return found[0] if found else None

    def runs(
        self, workspace: str | None = None, ids: list[str] | None = None, live: bool = False
    ) -> list[dict[str, Any]]:
        """Runs (of one workspace, or with these ids, or all), oldest first, each with its history.

        ``live`` adds what only unfinished runs need: progress, heartbeat and stop_requested.
        """
        conditions, parameters = [], []
        if workspace is not None:
            conditions.append("workspace = ?")
            parameters.append(workspace)
        if ids is not None:
            conditions.append(f"id IN ({', '.join('?' for _ in ids)})")
            parameters.extend(ids)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        columns = RUN_COLUMNS + (LIVE_COLUMNS if live else ())
        rows, epochs = self._transaction(
            [
                (f"SELECT {', '.join(columns)} FROM runs {where} ORDER BY created, id", parameters),
                (
                    f"SELECT run_id, data FROM epochs WHERE run_id IN (SELECT id FROM runs {where}) "
                    "ORDER BY run_id, epoch",
                    parameters,
                ),
            ],
            write=False,
        )  # one snapshot: a run's progress and its history always agree
        histories: dict[str, list] = {}
        for run_id, data in epochs:
            histories.setdefault(run_id, []).append(json.loads(data))
        records = []
        for row in rows:
            found = dict(zip(columns, row, strict=True))
            decoded = {key: json.loads(found[key] or "null") for key in JSON_COLUMNS}
            record = RunRecord.from_row(
                {**found, **decoded, "history": histories.get(found["id"], [])}
            ).to_dict()
            record.update(workspace=found["workspace"], owner=found["owner"])  # where it is kept, who has it
            if live:
                record.update(
                    {key: found[key] for key in LIVE_COLUMNS}, progress=json.loads(found["progress"])
                )
            records.append(record)
        return records

    def integrity(self) -> str:
        return self._database.integrity()


def _fair_queue(execute: Execute, now: float) -> list[str]:
    """The queued runs' ids in the fair order, read inside the caller's transaction."""
    queued = execute("SELECT id, workspace, created FROM runs WHERE status = 'queued'")
    started = execute(
        "SELECT workspace, COUNT(*) FROM runs WHERE started >= ? GROUP BY workspace", (now - RECENT_SECONDS,)
    )
    return fair_order(queued, dict(started))


def _insert_run(
    record: dict[str, Any], workspace: str, owner: str | None, on_conflict: str
) -> tuple[str, list[Any]]:
    """The statement that inserts a run's row, and what to do when its id exists."""
    row = {
        **{key: record.get(key) for key in RUN_COLUMNS},
        "workspace": workspace,
        "owner": owner or this_process(),
        "config": json.dumps(record["config"]),
        "metrics": json.dumps(record.get("metrics") or {}),
        "estimate": None if record.get("estimate") is None else json.dumps(record["estimate"]),
        "signature": None if record.get("signature") is None else json.dumps(record["signature"]),
        "reason": record.get("reason") or "",
        "params": record.get("params") or 0,
        "train_seconds": record.get("train_seconds") or 0.0,
    }
    placeholders = ", ".join("?" for _ in RUN_COLUMNS)
    sql = (
        f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({placeholders}) ON CONFLICT (id) {on_conflict}"
    )
    return sql, [row[c] for c in RUN_COLUMNS]


def _statements(script: str) -> list[str]:
    """An SQL script's statements, one each."""
    return [statement.strip() for statement in script.split(";") if statement.strip()]


MIGRATION_STATEMENTS = {version: _statements(script) for version, script in MIGRATIONS.items()}
