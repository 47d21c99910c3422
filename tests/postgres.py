"""A throw-away PostgreSQL server for the store's tests: Debian's ``postgresql`` package (installed with
apt-get where it is missing and this is root on Debian), a cluster in a temporary folder, reached on a
unix socket only, run as the ``postgres`` user (``initdb`` refuses root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from helpers import debian_install

DEBIAN_SERVERS = Path("/usr/lib/postgresql")  # one folder per major version, each with its bin/


def server_programs() -> Path | None:
    """The newest installed server's bin folder (initdb, pg_ctl), installing it where possible."""
    if not sorted(DEBIAN_SERVERS.glob("*/bin/initdb")):
        debian_install("postgresql")
    found = sorted(DEBIAN_SERVERS.glob("*/bin/initdb"))
    return found[-1].parent if found else None


def _as_server_user(command: list[str]) -> list[str]:
    """The command as the ``postgres`` user when this is root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server(programs: Path) -> Iterator[str]:
    """A fresh cluster, started on a unix socket and stopped on leaving; yields the URL of its
    ``postgres`` database.
    """
    folder = Path(tempfile.mkdtemp(prefix="cnnrnn-pg-"))
    folder.chmod(0o755)
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(sockets, "postgres")
    initdb = [str(programs / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    subprocess.run(_as_server_user(initdb), check=True, capture_output=True, timeout=120)
    options = f"-k {sockets} -c listen_addresses='' -c fsync=off"
    pg_ctl = [str(programs / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log")]
    subprocess.run(
        _as_server_user([*pg_ctl, "-o", options, "-w", "start"]), check=True, capture_output=True, timeout=120
    )
    try:
        yield f"postgresql://postgres@/postgres?host={sockets}"
    finally:
        subprocess.run(_as_server_user([*pg_ctl, "-m", "immediate", "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def new_database(server_url: str) -> str:
    """A new, empty database on the server; its URL."""
    import psycopg

    name = f"store_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return server_url.replace("/postgres?", f"/{name}?")
