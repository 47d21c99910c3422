"""The run store: every run, its per-epoch history and its results, in one SQLite file (WAL mode).

The file is ``$RUNS_DB`` (default ``runs/runs.db`` in the project). A run is written as it goes:
created when queued, updated when it starts and ends, one row committed per finished epoch. When a
store opens, runs left "queued" or "running" by a process that is gone become "interrupted".
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.runs import RECORD_FIELDS

APPLICATION_ID = 0x434E5252  # "CNRR": marks a file as this app's run store
SCHEMA_VERSION = 1
DEFAULT_PATH = Path(__file__).resolve().parents[1] / "runs" / "runs.db"
UNFINISHED = ("queued", "running")
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
RUN_COLUMNS = ("workspace", "owner", *(field for field in RECORD_FIELDS if field != "history"))


def default_path() -> Path:
    return Path(os.environ.get("RUNS_DB") or DEFAULT_PATH)


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's run: leave it to that machine
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunStore:
    """Thread-safe access to one run database; refuses files that are not this app's."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._lock = threading.Lock()
        self._db = self._open()
        self.mark_interrupted()

    def _open(self) -> sqlite3.Connection:
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        refuse = f"The runs database {self.path} was left untouched; set RUNS_DB to another file."
        try:
            if fresh:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
            if not fresh:
                if db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                    db.close()
                    raise UserError(f"{self.path} is not a run store of this app. {refuse}")
                if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    db.close()
                    raise UserError(f"{self.path} is damaged. {refuse}")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
            if fresh:
                db.executescript(
                    f"BEGIN; {SCHEMA} PRAGMA application_id={APPLICATION_ID}; "
                    f"PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
                )
        except sqlite3.DatabaseError as error:
            raise UserError(f"{self.path} cannot be read as a run store ({error}). {refuse}") from None
        except OSError as error:
            raise UserError(f"The runs database {self.path} cannot be opened ({error.strerror}).") from None
        return db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _execute(self, sql: str, parameters: tuple | list = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    # ---- writing -----------------------------------------------------------------------------

    def save_run(self, record: dict[str, Any], workspace: str) -> None:
        """Insert or update a run's row (its history is written epoch by epoch, see add_epoch)."""
        row = {
            **{key: record.get(key) for key in RUN_COLUMNS},
            "workspace": workspace,
            "owner": this_process(),
            "config": json.dumps(record["config"]),
            "metrics": json.dumps(record.get("metrics") or {}),
            "reason": record.get("reason") or "",
            "params": record.get("params") or 0,
            "train_seconds": record.get("train_seconds") or 0.0,
        }
        placeholders = ", ".join("?" for _ in RUN_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in RUN_COLUMNS if c != "id")
        self._execute(
            f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({placeholders}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}",
            [row[c] for c in RUN_COLUMNS],
        )

    def add_epoch(self, run_id: str, entry: dict[str, Any]) -> None:
        self._execute(
            "INSERT OR REPLACE INTO epochs (run_id, epoch, data) VALUES (?, ?, ?)",
            (run_id, entry["epoch"], json.dumps(entry)),
        )

    def save_record(self, record: dict[str, Any], workspace: str) -> None:
        """A whole run at once, history included (imports, sweeps)."""
        self.save_run(record, workspace)
        for entry in record.get("history") or []:
            self.add_epoch(record["id"], entry)

    def save_model(self, run_id: str, data: bytes) -> None:
        self._execute("INSERT OR REPLACE INTO models (run_id, data) VALUES (?, ?)", (run_id, data))

    def model(self, run_id: str) -> bytes | None:
        rows = self._execute("SELECT data FROM models WHERE run_id = ?", (run_id,))
        return rows[0][0] if rows else None

    def mark_interrupted(self) -> int:
        """Runs left unfinished by a process that no longer exists become "interrupted"."""
        stale = [
            run_id
            for run_id, owner in self._execute(
                "SELECT id, owner FROM runs WHERE status IN (?, ?)", UNFINISHED
            )
            if not _alive(owner)
        ]
        for run_id in stale:
            self._execute(
                "UPDATE runs SET status = 'interrupted', reason = ? WHERE id = ?",
                ("the server stopped while this run was under way; the finished epochs are kept", run_id),
            )
        return len(stale)

    def delete(self, run_ids: list[str], workspace: str) -> None:
        for run_id in run_ids:
            self._execute("DELETE FROM runs WHERE id = ? AND workspace = ?", (run_id, workspace))

    # ---- reading -----------------------------------------------------------------------------

    def runs(self, workspace: str | None = None) -> list[dict[str, Any]]:
        """Every run (of one workspace, or all), oldest first, each with its history."""
        where, parameters = ("WHERE workspace = ?", (workspace,)) if workspace is not None else ("", ())
        rows = self._execute(
            f"SELECT {', '.join(RUN_COLUMNS)} FROM runs {where} ORDER BY created, id", parameters
        )
        histories: dict[str, list] = {}
        for run_id, data in self._execute("SELECT run_id, data FROM epochs ORDER BY run_id, epoch"):
            histories.setdefault(run_id, []).append(json.loads(data))
        records = []
        for row in rows:
            record = dict(zip(RUN_COLUMNS, row, strict=True))
            record["config"] = json.loads(record["config"])
            record["metrics"] = json.loads(record["metrics"])
            record["history"] = histories.get(record["id"], [])
            records.append(record)
        return records

    def integrity(self) -> str:
        return self._execute("PRAGMA integrity_check")[0][0]
