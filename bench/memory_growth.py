"""Resident memory of a worker process (``python -m core worker``) over many runs of the same small LSTM.

Queues one run at a time in a temporary run store, waits until the worker has finished it and is
idle, and reads the worker's VmRSS from /proc/PID/status. Twice: with the worker's self-replacement
off (CNNRNN_WORKER_RUNS=1000, CNNRNN_WORKER_MEMORY_MB=100000), which shows what TensorFlow keeps of
every fit (it never drops the gradient functions it registers for traced recurrent loops), and with
the default replacement (a fresh process, same pid, after CNNRNN_WORKER_RUNS runs), which bounds it.
30 runs each, so that the default worker's replacements and the runs after them show. Prints each
run and the growth per run, by least squares over each worker generation's runs after its first few.

    python -m bench.memory_growth [--runs 30] [--dataset digits_8x8] [--preset LSTM] [--epochs 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.measure import resident_mb, wait_until_idle
from core.datasets import load_dataset
from core.model.presets import presets_for
from core.runs.queue import enqueue, queued_record
from core.runs.record import FINISHED
from core.runs.store import RunStore
from tests.browser import ROOT

SKIP = 3  # runs at the start of each worker generation left out of its growth (TensorFlow warms up)
REPLACEMENT = {"CNNRNN_WORKER_RUNS": "1000", "CNNRNN_WORKER_MEMORY_MB": "100000"}  # values that turn it off
REPLACED = "replaces itself"  # what a worker writes to stderr when it starts afresh


def worker_memory(args: argparse.Namespace, env: dict[str, str]) -> list[tuple[int, float]]:
    """Train ``args.runs`` runs in one worker; for each: the worker's generation and its RSS in MB."""
    dataset = load_dataset(args.dataset)
    spec = presets_for(dataset.signature)[args.preset]
    description = {"id": args.dataset, "settings": {}}
    samples = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        store = RunStore(Path(folder, "runs.db"))
        log = Path(folder, "worker.log")
        environment = {key: value for key, value in os.environ.items() if key not in REPLACEMENT}
        with log.open("wb") as output:
            worker = subprocess.Popen(
                [sys.executable, "-m", "core", "worker", "--parent", str(os.getpid())],
                cwd=ROOT,
                env={**environment, **env, "RUNS_DB": str(store.path)},
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
            )
        try:
            for number in range(1, args.runs + 1):
                record = queued_record(
                    description, dataset.info, dataset.signature, spec, {"epochs": args.epochs}
                )
                [run_id] = enqueue(store, [record], "bench")
                while (run := store.run(run_id))["status"] not in FINISHED:
                    time.sleep(0.1)
                if run["status"] != "completed":
                    raise RuntimeError(f"run {number} {run['status']}: {run['reason']}; see {log}")
                wait_until_idle(worker.pid)
                generation = log.read_text(errors="replace").count(REPLACED)
                replaced = generation > (samples[-1][0] if samples else 0)
                samples.append((generation, resident_mb(worker.pid)))
                note = "  (read after the worker replaced itself)" if replaced else ""
                print(f"run {number:>2}  RSS {samples[-1][1]:7.1f} MB{note}", flush=True)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    return samples


def report(label: str, samples: list[tuple[int, float]]) -> None:
    """Growth per run of each worker generation after its first SKIP runs, and the highest RSS."""
    for generation in sorted({g for g, _ in samples}):
        runs = [(number, rss) for number, (g, rss) in enumerate(samples, start=1) if g == generation]
        kept = runs[SKIP:]
        if len(kept) < 2:
            print(
                f"{label}: generation {generation}: runs {runs[0][0]}-{runs[-1][0]}, too few to fit a slope"
            )
            continue
        slope = statistics.linear_regression([n for n, _ in kept], [rss for _, rss in kept]).slope
        print(
            f"{label}: generation {generation}: runs {kept[0][0]}-{kept[-1][0]}: "
            f"{kept[0][1]:.0f} -> {kept[-1][1]:.0f} MB, growth {slope:+.2f} MB per run",
            flush=True,
        )
    print(
        f"{label}: highest RSS {max(rss for _, rss in samples):.0f} MB after {len(samples)} runs", flush=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--dataset", default="digits_8x8")
    parser.add_argument("--preset", default="LSTM")
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    cases = {"replacement off": REPLACEMENT, "default replacement": {}}
    for label, env in cases.items():
        print(f"== {label}: {args.preset} on {args.dataset}, {args.epochs} epoch(s) a run", flush=True)
        report(label, worker_memory(args, env))


if __name__ == "__main__":
    main()
