"""A rehearsal of Streamlit Community Cloud on this machine: the app installed and run as the Cloud
would, under its memory limit, with one local worker, visited by headless Chromium.

1. A fresh virtualenv with CPython 3.12 (the Cloud's default) installs ``requirements.txt`` with pip:
   how long it takes (reused when the requirements are unchanged, ``--reuse``).
2. ``streamlit run dashboard.py`` from that virtualenv, in a cgroup whose memory limit (2.7 GB, the
   Cloud's most, by default) holds the server and its workers together (``bench/memory_limit.py``; the
   browser stands for the visitors' machines and stays outside), with ``CNNRNN_WORKERS=1``:
   - cold start: from starting the server (the page cache dropped first) to the Home page's first
     paint in a new browser session;
   - the first Train click (Epochs 1, the two default models) to the first batch in the run store, on
     a cold worker, after the visitor spent ``--choosing`` seconds on the Train page (0: clicked at once);
   - a class of ``--visitors`` visitors, each in a browser session of their own, opening the Train page
     and clicking Train one after another: every visitor's wait from the click to their first finished
     run, runs lost, and the peak memory of the group (page cache included) and of its processes'
     resident memory (the web process, the worker, together);
   - at the limit: the group's limit is lowered to its processes' own memory and 300 MB more, and a
     visitor trains with batches of 2048: the run needs more, and the kernel kills a process for want
     of memory; which process died, the run's status and sentence in the store and on
     the visitor's page, whether the web process still serves, and whether the next click trains (a
     new worker replaces the dead one).

    python -m bench.cloud_rehearsal [--visitors 10] [--limit-mb 2700] [--choosing 10] [--reuse]
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import hashlib
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bench.measure import TrainPage, chromium, first_visit_seconds, loads_tensorflow
from bench.memory_limit import MB, MemoryLimit, MemoryWatch, memory_limit
from core.runs.record import FINISHED, RunStatus
from core.runs.store import RunStore
from tests.browser import ROOT, Server, streamlit_server

VENV = Path(tempfile.gettempdir(), "cnnrnn-cloud-venv")
SQUEEZE_HEADROOM_MB = 300  # what the group may take beyond its processes' own memory, at the limit
CLASS_TIMEOUT = 1800.0  # seconds a class's runs may take to end
BIG_BATCH = 2048  # the Train page's largest batch size: the default CNN's activations take ~1 GB


def find_python(version: str) -> str:
    """An interpreter for ``version`` that runs: on the PATH, else one that pyenv installed."""
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(str(Path.home() / f".pyenv/versions/{version}*/bin/python{version}")))
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:
            return candidate
    raise SystemExit(f"no Python {version} here: install it (pyenv install {version}) and run again")


def drop_page_cache() -> str:
    """Empty the kernel's page cache (root only), so that the server starts cold, as after a Cloud
    restart, and its group is charged for the library files it reads.
    """
    subprocess.run(["sync"], check=True)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("1")
    except OSError as error:
        return f"kept ({error.strerror})"
    return "dropped"


def install(python: str, venv: Path, reuse: bool) -> float | None:
    """A virtualenv at ``venv`` with ``requirements.txt`` installed; the seconds it took (None: reused)."""
    requirements = ROOT / "requirements.txt"
    stamp = venv / "requirements.sha256"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    if reuse and stamp.exists() and stamp.read_text() == digest:
        return None
    shutil.rmtree(venv, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin/pip"), "install", "-q", "-r", str(requirements)], check=True)
    stamp.write_text(digest)
    return time.perf_counter() - start


def first_batch_on_cold_worker(browser, server: Server, store: RunStore, choosing: float) -> TrainPage:
    """The first visitor opens Train, spends ``choosing`` seconds there, clicks Train: the seconds to the
    first batch, with nothing trained before on this server.
    """
    page = TrainPage(browser, server.url, store)
    page.set_epochs(1)
    time.sleep(choosing)
    before, clicked = page.click()
    _, seconds = page.first_batch(before, clicked)
    print(
        f"first Train click -> first batch, cold worker, after {choosing:.0f} s on the page: {seconds:.1f} s"
    )
    page.wait(before, clicked)
    return page


def a_class(browser, server: Server, store: RunStore, visitors: int) -> None:
    """Every visitor opens Train in a session of their own and clicks Train; each one's wait."""
    pages = [TrainPage(browser, server.url, store) for _ in range(visitors)]
    for page in pages:
        page.set_epochs(1)
    before = {run["id"] for run in store.runs()}
    clicks = []
    for page in pages:
        clicks.append(time.time())
        page.click()
    deadline = time.monotonic() + CLASS_TIMEOUT
    while time.monotonic() < deadline:
        runs = [run for run in store.runs() if run["id"] not in before]
        if len(runs) >= 2 * visitors and all(run["status"] in FINISHED for run in runs):
            break
        time.sleep(1.0)
    else:
        ended = sum(run["status"] in FINISHED for run in runs)
        raise RuntimeError(f"after {CLASS_TIMEOUT / 60:.0f} minutes {ended} of {2 * visitors} runs had ended")
    by_workspace: dict[str, float] = {}
    for run in runs:
        if run["status"] == RunStatus.COMPLETED:
            by_workspace[run["workspace"]] = min(
                by_workspace.get(run["workspace"], run["finished"]), run["finished"]
            )
    first_click = clicks[0]
    waits = sorted(finished - first_click for finished in by_workspace.values())
    lost = sum(run["status"] != RunStatus.COMPLETED for run in runs)
    print(
        f"{visitors} visitors, {len(runs)} runs: first finished run after the first click "
        f"median {statistics.median(waits):.0f} s, max {waits[-1]:.0f} s; runs lost {lost}"
    )
    for page in pages:
        page.page.context.close()


def wait_for_calibrations(store: RunStore, timeout: float = 300.0) -> None:
    """Until no calibration waits for or is with a worker (read from the SQLite file directly)."""
    deadline = time.monotonic() + timeout
    with contextlib.closing(sqlite3.connect(store.path)) as connection:
        while time.monotonic() < deadline:
            pending = "SELECT count(*) FROM calibrations WHERE status IN ('queued', 'running')"
            if connection.execute(pending).fetchone()[0] == 0:
                return
            time.sleep(0.5)
    raise RuntimeError(f"calibrations still pending after {timeout:.0f} s")


def wait_for_worker(group: MemoryLimit, timeout: float = 60.0) -> dict[int, str]:
    """The group's processes once a worker among them has loaded TensorFlow (a worker that measured
    a big batch replaces itself with a fresh process).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        members = group.members()
        if any(kind == "worker" and loads_tensorflow(pid) for pid, kind in members.items()):
            return members
        time.sleep(0.2)
    raise RuntimeError(f"no worker had loaded TensorFlow after {timeout:.0f} s")


def runs_ended(
    store: RunStore, before: set[str], timeout: float, until: Callable[[], bool] = lambda: False
) -> list[dict[str, Any]]:
    """The runs queued since ``before`` once all have ended, ``until()`` holds or ``timeout`` seconds
    have passed, whichever comes first.
    """
    deadline = time.monotonic() + timeout
    while True:
        runs = [run for run in store.runs() if run["id"] not in before]
        ended = runs and all(run["status"] in FINISHED for run in runs)
        if ended or until() or time.monotonic() >= deadline:
            return runs
        time.sleep(0.2)


def squeeze(group: MemoryLimit, page: TrainPage, store: RunStore, server: Server, limit: int) -> None:
    """Leave the group ``SQUEEZE_HEADROOM_MB`` beyond its processes' own memory, then train with batches
    of ``BIG_BATCH``: the run needs more, and the kernel kills a process. Then the limit goes back up,
    and what the app did is reported.
    """
    page.set_epochs(1)
    page.set_number("Batch size", BIG_BATCH)
    wait_for_calibrations(store)  # the page asks a worker to time the models at this batch size
    members = wait_for_worker(group)  # one that measured a big batch may be replacing itself
    scores = {kind: Path(f"/proc/{pid}/oom_score_adj").read_text().strip() for pid, kind in members.items()}
    kills = group.oom_kills()
    reached = group.lower_to(group.anonymous_bytes() + SQUEEZE_HEADROOM_MB * MB)
    print(
        f"at the limit: lowered to {reached / MB:.0f} MB (oom_score_adj {scores}); Train clicked", flush=True
    )
    before, _ = page.click()
    squeezed = runs_ended(store, before, 300, until=lambda: group.oom_kills() > kills)
    group.set_limit(limit)
    dead = [kind for pid, kind in members.items() if pid not in group.pids()]
    print(f"  {group.oom_kills() - kills} process(es) killed for want of memory: {dead}", flush=True)
    if not squeezed:
        print("  within 300 s at the limit nothing was killed and the runs did not end")
    runs = runs_ended(store, before, 120)
    if any(run["status"] not in FINISHED for run in runs):
        print("  the runs had not ended 120 s after the limit went back up")
    for run in runs:
        print(f"  run {run['name']}: {run['status']}: {run['reason']}")
    serving = urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=10).read() == b"ok"
    print(f"  web process serving: {serving}")
    try:
        page.page.get_by_text("stopped unexpectedly").first.wait_for(timeout=60_000)
        print("  the visitor's page shows the run's sentence")
    except PlaywrightTimeout:
        print("  the visitor's page does not show the sentence within 60 s")
    page.shot("cloud-rehearsal-limit")
    page.set_number("Batch size", 64)
    page.set_epochs(2)  # a run not trained yet: the page trains only seeds missing from the workspace
    start = time.perf_counter()
    _, seconds = page.wait(*page.click())
    print(
        f"  the next click trained on a new worker: first batch after {seconds:.1f} s, "
        f"completed after {time.perf_counter() - start:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--python", default="3.12")
    parser.add_argument("--venv", type=Path, default=VENV)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the virtualenv if requirements.txt is unchanged"
    )
    parser.add_argument("--limit-mb", type=int, default=2700)
    parser.add_argument("--visitors", type=int, default=10)
    parser.add_argument(
        "--choosing", type=float, default=10.0, help="seconds the first visitor spends on Train"
    )
    args = parser.parse_args()

    python = find_python(args.python)
    seconds = install(python, args.venv, args.reuse)
    shown = "reused" if seconds is None else f"{seconds:.0f} s"
    print(f"virtualenv with {python} and requirements.txt: {shown}", flush=True)
    limit = args.limit_mb * MB
    with (
        tempfile.TemporaryDirectory(prefix="cloud-rehearsal-") as folder,
        memory_limit(limit) as group,
        chromium() as browser,
        MemoryWatch(group) as watch,
    ):
        env = {"RUNS_DB": f"{folder}/runs.db", "CNNRNN_WORKERS": "1"}
        print(f"memory limit {args.limit_mb} MB (cgroup v{group.version}, {group.folder})", flush=True)
        print(f"page cache {drop_page_cache()} before the start", flush=True)
        start = time.perf_counter()
        log = Path(folder, "server.log")
        with streamlit_server(
            ROOT / "dashboard.py", log, env, str(args.venv / "bin/python"), group.join
        ) as server:
            first_visit_seconds(browser, server.url, "CNN vs RNN")
            print(
                f"cold start to the Home page's first paint: {time.perf_counter() - start:.1f} s", flush=True
            )
            store = RunStore(env["RUNS_DB"])
            page = first_batch_on_cold_worker(browser, server, store, args.choosing)
            if args.visitors:
                a_class(browser, server, store, args.visitors)
            peaks = watch.peaks
            print(
                f"peak memory over the session: group {group.peak_bytes() / MB:.0f} MB "
                "(page cache included); "
                f"proportional (Pss) of all processes together {peaks.total_mb:.0f} MB; resident: "
                + ", ".join(f"{kind} {mb:.0f} MB" for kind, mb in sorted(peaks.by_kind.items())),
                flush=True,
            )
            squeeze(group, page, store, server, limit)
        errors = [line for line in log.read_text().splitlines() if "Error" in line or "Traceback" in line]
        print(f"server log: {len(errors)} error line(s)", *errors[:20], sep="\n  ")


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as error:  # a wait that ran out: one sentence, after every part was stopped
        raise SystemExit(f"the rehearsal stopped: {error}") from None
