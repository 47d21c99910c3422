"""A class of visitors on one server: how long each waits for their first finished run, and whether the
queue is fair, on SQLite and on PostgreSQL, with 1 and 2 local workers, and with a remote worker added.

The visitors are simulated by driving the pages' queueing code directly (``core.runs.queue``: the
records the Train page queues, into a workspace each), not by one browser each, which 30 would not fit
on 2 cores. Visitor ``i`` clicks Train ``i * --stagger`` seconds after the first, queueing the two
default models of the dataset (CNN and LSTM) for ``--epochs`` epochs. The workers are real ``python -m
core worker`` processes on the store; the "remote" one is one more process on the same PostgreSQL
store, standing in for another machine. This process stands in for the web process: its peak memory is
reported (it holds the store and the queue code, as the server does, without Streamlit).

For each setting: the time from each visitor's click to their first finished run (median, p90, max),
the first and the last visitor's wait (fairness), runs lost (not completed; must be 0), the total time
and this process's peak memory.

    python -m bench.classroom [--visitors 30] [--epochs 1] [--dataset digits_8x8]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from core.datasets.described import load_described
from core.model.presets import presets_for
from core.runs.queue import enqueue, queued_record
from core.runs.record import RunStatus
from core.runs.store import RunStore
from tests.helpers import ROOT
from tests.postgres import new_database, postgres_server, server_programs

MODELS = ("CNN", "LSTM")  # the Train page's default models


def start_workers(location: str, count: int) -> list[subprocess.Popen]:
    """``count`` worker processes on the store, as the dashboard's pool starts them."""
    environment = {**os.environ, "RUNS_DB": location, "CUDA_VISIBLE_DEVICES": ""}
    return [
        subprocess.Popen(
            [sys.executable, "-m", "core", "worker"],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def wait_for_workers(store: RunStore, count: int, timeout: float = 120.0) -> None:
    """Until ``count`` workers have said they are alive (TensorFlow loaded), so every setting starts warm."""
    deadline = time.monotonic() + timeout
    while len(store.workers_alive()) < count and time.monotonic() < deadline:
        time.sleep(0.5)


def one_class(location: str, local: int, remote: int, args: argparse.Namespace) -> dict[str, float]:
    """One class on a fresh store: the visitors click, the workers train, and what each visitor waited."""
    store = RunStore(location)
    description = {"id": args.dataset, "settings": {}}
    dataset = load_described(description)
    presets = presets_for(dataset.signature)
    settings = {"epochs": args.epochs}
    workers = start_workers(location, local + remote)
    try:
        wait_for_workers(store, local + remote)
        clicks: dict[str, float] = {}
        start = time.time()
        for visitor in range(args.visitors):
            workspace = f"visitor-{visitor:02}"
            pause = start + visitor * args.stagger - time.time()
            if pause > 0:
                time.sleep(pause)
            records = [
                queued_record(description, dataset.info, dataset.signature, presets[name], settings)
                for name in MODELS
            ]
            clicks[workspace] = time.time()
            enqueue(store, records, workspace)
        total = args.visitors * len(MODELS)
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            runs = store.runs()
            if sum(run["status"] not in (RunStatus.QUEUED, RunStatus.RUNNING) for run in runs) == total:
                break
            time.sleep(1.0)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
    runs = store.runs()
    first: dict[str, float] = {}
    for run in runs:
        if run["status"] == RunStatus.COMPLETED:
            waited = run["finished"] - clicks[run["workspace"]]
            first[run["workspace"]] = min(first.get(run["workspace"], waited), waited)
    waits = sorted(first.values())
    names = sorted(clicks)
    return {
        "median": statistics.median(waits),
        "p90": statistics.quantiles(waits, n=10, method="inclusive")[-1],
        "max": waits[-1],
        "first visitor": first.get(names[0], float("nan")),
        "last visitor": first.get(names[-1], float("nan")),
        "lost": float(sum(run["status"] != RunStatus.COMPLETED for run in runs)),
        "total s": max(run["finished"] or 0 for run in runs) - min(clicks.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--visitors", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--dataset", default="digits_8x8")
    parser.add_argument("--stagger", type=float, default=0.5, help="seconds between two visitors' clicks")
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args()
    print(
        f"{args.visitors} visitors, each queueing {' and '.join(MODELS)} on {args.dataset} for "
        f"{args.epochs} epoch(s), one click every {args.stagger} s; waits in seconds from the click to "
        "the first finished run"
    )
    programs = server_programs()
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        server = stack.enter_context(postgres_server(programs)) if programs else None
        settings = [("SQLite", 1, 0), ("SQLite", 2, 0)]
        settings += [("PostgreSQL", 1, 0), ("PostgreSQL", 2, 0), ("PostgreSQL", 1, 1)] if server else []
        for number, (kind, local, remote) in enumerate(settings):
            location = str(folder / f"class-{number}.db") if kind == "SQLite" else new_database(server)
            found = one_class(location, local, remote, args)
            workers = f"{local} local" + (f" + {remote} remote" if remote else "")
            shown = "  ".join(f"{key} {value:6.1f}" for key, value in found.items())
            print(f"{kind:<10} {workers:<18} {shown}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"this process (standing in for the web process): peak {peak:.0f} MB")
    if not programs:
        print("PostgreSQL is not installed here (Debian's postgresql package): its settings were left out")


if __name__ == "__main__":
    main()
