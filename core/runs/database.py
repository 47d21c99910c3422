"""The two databases a run store can live in, behind one small interface: an SQLite file (the embedded
default, WAL mode) or a PostgreSQL server (``postgresql://user@host/db``, shared by several machines).

Each opens or creates the store's tables, applies the migrations an older store needs (the version
is ``PRAGMA user_version`` in SQLite, a ``store_meta`` row in PostgreSQL), refuses a foreign, newer or
damaged database with one sentence before writing anything, and turns what its driver raises into
two errors the store's callers can act on: ``StoreBusy`` (locked, busy, full, unreachable: trying
again later may work) and ``UserError`` (read-only: nothing to do but say so).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.errors import UserError

APPLICATION_ID = 0x434E5252  # "CNRR": marks a database as this app's run store
BUSY_TIMEOUT = 30.0  # seconds a statement waits for another process's write lock before it fails
Execute = Callable[..., list[tuple]]  # (sql, parameters=()) -> rows


class StoreError(Exception):
    """The database refused a statement."""


class StoreBusy(StoreError):
    """The database refused for now (locked, busy, full, unreachable); trying again later may work."""


def is_server(location: Path | str) -> bool:
    """Whether ``location`` names a PostgreSQL server rather than an SQLite file."""
    return str(location).startswith(("postgresql://", "postgres://"))


def shown_location(location: Path | str) -> str:
    """The location as sentences name it: a server's URL without its password."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", str(location))


class Database(ABC):
    """One connection, shared by the process's threads under a lock."""

    where: str  # how sentences name the database
    lock_rows = ""  # appended to a SELECT to lock the rows it reads, skipping rows others hold

    @staticmethod
    def json_number(column: str, key: str) -> str:
        """SQL for the number under ``key`` in a column of JSON text."""
        return f"json_extract({column}, '$.{key}')"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def execute(self, sql: str, parameters: tuple | list = ()) -> list[tuple]:
        """One statement (``?`` placeholders), atomic by itself; its rows. A read takes no write lock."""
        with self._lock, self._told():
            return self._run(sql, parameters)

    @abstractmethod
    def _run(self, sql: str, parameters: tuple | list) -> list[tuple]:
        """One statement on the connection as it stands; its rows."""

    @contextmanager
    def atomic(self, write: bool = True) -> Iterator[Execute]:
        """Statements run through the yielded function as one transaction: a write happens whole or not
        at all; a read sees one state of the database, whatever other processes write meanwhile.
        """
        with self._lock, self._told(), self._transaction(write) as execute:
            yield execute

    @abstractmethod
    def _transaction(self, write: bool) -> Any: ...

    @abstractmethod
    def _told(self) -> Any:
        """Turns the driver's errors into ``StoreBusy`` or one sentence."""

    @abstractmethod
    def integrity(self) -> str: ...

    @abstractmethod
    def close(self) -> None: ...


class SQLiteDatabase(Database):
    """A run store in one SQLite file (WAL mode), created where none exists yet."""

    def __init__(self, path: Path, schema: list[str], migrations: dict[int, list[str]], version: int) -> None:
        super().__init__()
        self.path, self.where = path, str(path)
        fresh = not path.exists() or path.stat().st_size == 0
        refuse = f"The runs database {path} was left untouched; set RUNS_DB to another file."
        try:
            if fresh:
                path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, check_same_thread=False, timeout=BUSY_TIMEOUT, isolation_level=None
            )
            if not fresh and (problem := self._refusal(version)):
                self._db.close()
                raise UserError(f"{problem} {refuse}")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._create_or_migrate(schema, migrations, version)
        except sqlite3.DatabaseError as error:
            raise UserError(f"{path} cannot be read as a run store ({error}). {refuse}") from None
        except OSError as error:
            raise UserError(f"The runs database {path} cannot be opened ({error.strerror}).") from None

    def _run(self, sql: str, parameters: tuple | list) -> list[tuple]:
        return self._db.execute(sql, parameters).fetchall()

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Execute]:
        self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield lambda sql, parameters=(): self._run(sql, parameters)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @contextmanager
    def _told(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as error:
            if "readonly" in str(error):
                raise UserError(
                    f"The run store {self.where} is read-only, so nothing can be saved to it; set RUNS_DB to "
                    "a file this user can write."
                ) from None
            raise StoreBusy(str(error)) from None
        except sqlite3.DatabaseError as error:
            raise StoreError(str(error)) from None

    def integrity(self) -> str:
        return self.execute("PRAGMA integrity_check")[0][0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _refusal(self, version: int) -> str:
        """Why an existing file cannot be used as a run store, read before anything is written; "" if it
        can.
        """
        db, path = self._db, self.path
        if db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
            return f"{path} is not a run store of this app."
        found = db.execute("PRAGMA user_version").fetchone()[0]
        if found > version:
            return f"{path} was written by a newer version of this app (store version {found})."
        if found < 1:
            return f"{path} has no store version."
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"runs", "models", "epochs"} <= tables:
            return f"{path} lacks the tables of a run store."
        if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            return f"{path} is damaged."
        return ""

    def _create_or_migrate(self, schema: list[str], migrations: dict[int, list[str]], version: int) -> None:
        """Create the tables in a new file, or apply the migrations an older store needs, in one
        transaction.
        """
        if self._db.execute("PRAGMA user_version").fetchone()[0] == version:
            return  # up to date: no write lock needed
        with self._transaction(write=True) as execute:
            found = execute("PRAGMA user_version")[0][0]
            statements = list(schema) if found == 0 else []
            for step in sorted(migrations):
                if max(found, 1) < step <= version:
                    statements += migrations[step]
            for statement in statements:
                execute(statement)
            if found == 0:
                execute(f"PRAGMA application_id={APPLICATION_ID}")
            execute(f"PRAGMA user_version={version}")


class PostgresDatabase(Database):
    """A run store on a PostgreSQL server, shared by every machine that reaches it (psycopg 3)."""

    lock_rows = " FOR UPDATE SKIP LOCKED"

    @staticmethod
    def json_number(column: str, key: str) -> str:
        return f"({column}::json ->> '{key}')::double precision"

    def __init__(self, url: str, schema: list[str], migrations: dict[int, list[str]], version: int) -> None:
        super().__init__()
        self.url, self.where = url, shown_location(url)
        self._db = self._connect()
        with self._lock, self._told():
            self._create_or_migrate(schema, migrations, version)

    def _connect(self) -> Any:
        import psycopg  # imported on use: SQLite stores never need it

        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as error:
            raise UserError(f"The run store {self.where} cannot be reached ({_first_line(error)}).") from None

    def _run(self, sql: str, parameters: tuple | list) -> list[tuple]:
        if self._db.closed:  # a connection lost earlier: connect again
            self._db = self._connect()
        cursor = self._db.execute(sql.replace("?", "%s"), parameters)
        return cursor.fetchall() if cursor.description else []

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Execute]:
        if self._db.closed:
            self._db = self._connect()
        with self._db.transaction():
            yield lambda sql, parameters=(): self._run(sql, parameters)

    @contextmanager
    def _told(self) -> Iterator[None]:
        import psycopg

        try:
            yield
        except (psycopg.errors.ReadOnlySqlTransaction, psycopg.errors.InsufficientPrivilege) as error:
            raise UserError(
                f"The run store {self.where} refuses writes ({_first_line(error)}); give "
                "RUNS_DB a database this user can write."
            ) from None
        except psycopg.OperationalError as error:
            raise StoreBusy(
                str(error).strip().splitlines()[0] if str(error).strip() else "no answer"
            ) from None

    def integrity(self) -> str:
        return "ok"  # the server keeps its own files consistent

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _create_or_migrate(self, schema: list[str], migrations: dict[int, list[str]], version: int) -> None:
        """Refuse a foreign, newer or incomplete database with one sentence; create or migrate this app's,
        one process at a time (an advisory lock).
        """
        with self._transaction(write=True) as execute:
            execute("SELECT pg_advisory_xact_lock(?)", (APPLICATION_ID,))
            tables = {
                row[0]
                for row in execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            }
            found = 0
            if "store_meta" in tables:
                meta = dict(execute("SELECT key, value FROM store_meta"))
                if meta.get("application") != str(APPLICATION_ID):
                    raise UserError(
                        f"{self.where} is not a run store of this app; set RUNS_DB to another database."
                    )
                found = int(meta["version"])
                if found > version:
                    raise UserError(
                        f"{self.where} was written by a newer version of this app (store version {found}); "
                        "it was left untouched."
                    )
                if not {"runs", "models", "epochs"} <= tables:
                    raise UserError(f"{self.where} lacks the tables of a run store; it was left untouched.")
            elif tables:
                raise UserError(
                    f"{self.where} holds other tables and is not a run store of this app; it was left "
                    "untouched. Give RUNS_DB an empty database."
                )
            if found == version:
                return
            statements = [_postgres(statement) for statement in schema] if found == 0 else []
            for step in sorted(migrations):
                if max(found, 1) < step <= version:
                    statements += [_postgres(statement) for statement in migrations[step]]
            for statement in statements:
                execute(statement)
            execute("CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            for key, value in (("application", str(APPLICATION_ID)), ("version", str(version))):
                execute(
                    "INSERT INTO store_meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )


def _first_line(error: Exception) -> str:
    """A driver error's first line (they can run to several, with hints)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _postgres(statement: str) -> str:
    """An SQLite table statement in PostgreSQL's types: 8-byte floats and byte strings."""
    return re.sub(r"\bREAL\b", "DOUBLE PRECISION", re.sub(r"\bBLOB\b", "BYTEA", statement))


def open_database(
    location: Path | str, schema: list[str], migrations: dict[int, list[str]], version: int
) -> Database:
    """The SQLite file or PostgreSQL server at ``location``, created or migrated to ``version``."""
    if is_server(location):
        return PostgresDatabase(str(location), schema, migrations, version)
    return SQLiteDatabase(Path(location), schema, migrations, version)
