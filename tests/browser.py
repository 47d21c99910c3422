"""What the browser test and the benchmarks share: Debian's Chromium, a headless streamlit server on a
free port, and waiting for a page to settle.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from helpers import ROOT, debian_install

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def ensure_chromium() -> str | None:
    """Chromium's path, installing Debian's package with apt-get where that is possible."""
    if not Path(CHROMIUM).exists():
        debian_install("chromium")
    return CHROMIUM if Path(CHROMIUM).exists() else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def settle(page) -> None:
    page.wait_for_selector(IDLE, timeout=120_000)
    page.wait_for_timeout(500)
    page.wait_for_selector(IDLE, timeout=120_000)


@dataclass
class Server:
    url: str
    process: subprocess.Popen


@contextmanager
def streamlit_server(
    script: Path,
    log: Path,
    env: dict[str, str] | None = None,
    python: str = sys.executable,
    preexec: Callable[[], None] | None = None,
) -> Iterator[Server]:
    """``streamlit run script`` headless on a free port (output to ``log``), ended on leaving; run by
    ``python``, with ``preexec`` called in the new process before it starts (to join a cgroup, say).
    """
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                *(python, "-m", "streamlit", "run", str(script)),
                "--server.headless=true",
                "--server.address=127.0.0.1",
                f"--server.port={port}",
                "--server.fileWatcherType=none",
                "--browser.gatherUsageStats=false",
            ],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError(f"streamlit did not start; see {log}")
        yield Server(url, process)
    finally:
        process.terminate()
        process.wait(timeout=30)
