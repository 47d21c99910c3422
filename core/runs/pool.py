"""The dashboard's local workers: started as child processes when work is queued, replaced when
they die, ended with the server, and ended by force when a run does not stop when asked.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from core import budget
from core.inputs import env_number
from core.runs.record import RunStatus
from core.runs.store import RunStore, owner_pid

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
FORCE_STOP_AFTER = 10.0  # seconds a run may take to stop after Stop before its worker is ended
WATCH_SECONDS = 1.0
FORCED_STOP = (
    "stopped by request; the worker did not stop within {seconds:.0f} s and was ended, "
    "the finished epochs are kept"
)


def worker_count() -> int:
    """How many local workers to run: ``CNNRNN_WORKERS`` (default 1; 0 where workers on other machines
    share a PostgreSQL store and the server trains nothing itself).
    """
    return env_number("CNNRNN_WORKERS", 1, 0, budget.PARALLEL_WORKERS)


class WorkerPool:
    """Keeps ``count`` worker processes on one run store while there is work, from a watch thread."""

    def __init__(self, store: RunStore, count: int | None = None, force_stop_after: float = FORCE_STOP_AFTER):
        self.store = store
        self.count = worker_count() if count is None else count
        self.force_stop_after = force_stop_after
        self.workers: list[subprocess.Popen] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._watch = threading.Thread(target=self._watch_loop, name="worker-pool", daemon=True)
        self._watch.start()
        atexit.register(self.close)

    def ensure(self) -> None:
        """Replace dead workers (their runs are marked) and start workers while work is queued."""
        with self._lock:
            if self._closed.is_set():
                return
            alive = [worker for worker in self.workers if worker.poll() is None]
            if len(alive) < len(self.workers):
                self.store.mark_interrupted()
            self.workers = alive
            if len(alive) < self.count and self.store.has_work():
                self.workers.append(self._start())

    def _start(self) -> subprocess.Popen:
        environment = {**os.environ, "RUNS_DB": str(self.store.path)}
        return subprocess.Popen(
            [sys.executable, "-m", "core", "worker", "--parent", str(os.getpid())],
            cwd=ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
        )

    def pids(self) -> list[int]:
        with self._lock:
            return [worker.pid for worker in self.workers if worker.poll() is None]

    def force_stops(self) -> None:
        """End the worker of a run still training ``force_stop_after`` s after it was asked to stop."""
        overdue = time.time() - self.force_stop_after
        mine = set(self.pids())
        for run in self.store.runs(live=True, ids=self.store.running()):
            requested = run["stop_requested"]
            pid = owner_pid(run["owner"])
            evaluating = run["progress"].get("phase") == "evaluating"  # training has stopped
            if requested is None or requested > overdue or pid not in mine or evaluating:
                continue
            os.kill(pid, signal.SIGKILL)
            self.store.end_run(
                run["id"], RunStatus.STOPPED, FORCED_STOP.format(seconds=self.force_stop_after)
            )
            log.warning("ended worker %s: run %s did not stop when asked", pid, run["id"])

    def _watch_loop(self) -> None:
        while not self._closed.wait(WATCH_SECONDS):
            try:
                self.force_stops()
                self.ensure()
            except Exception:  # the watch must outlive a busy store or a failed start
                log.exception("the worker pool's watch failed")

    def close(self) -> None:
        """End every worker (they also end by themselves when the server process is gone)."""
        self._closed.set()
        with self._lock:
            for worker in self.workers:
                if worker.poll() is None:
                    worker.terminate()
            for worker in self.workers:
                try:
                    worker.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    worker.kill()
            self.workers = []
