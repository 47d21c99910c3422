"""How close the cost estimated before training comes: for every preset on the built-in data, the
estimate (``core.runs.estimates``, as the Train page shows it) against what the run then estimates.

Each run takes the dashboard's path, in this one process: its calibration is requested and the run
queued in a fresh run store, and a ``Worker`` serves both — the calibration first; the estimate is
made as the worker takes the run, from that calibration and the runs finished before it (so the
history source joins from the fifth run on, and is preferred once it has been closer on three).

Small settings, so that the 59 presets take about 20 minutes on the 2-core machine: 3 epochs (the first
traces the model: the actual seconds per epoch are the median of the others), no early stopping,
each dataset's default batch size, and the largest sets cut to their first training samples (a
quarter as many to validate): shakespeare to 4,000, adding and copy_memory to 2,000, seq_mnist and
perm_mnist to 1,000. Before each preset the script waits until the 1-minute load is below 0.6 (30 s
at most, then it goes on and says so).

Prints, per run, the source used, the actual seconds per epoch, and estimate / actual for the seconds
per epoch, for what each source alone said, for the total training seconds and for the peak memory
(the memory the run added to the worker at its peak; see ``core.runs.estimates``); then the median
ratios and the share of runs within +-35%, over every run and over the runs begun below the load gate.

    python -m bench.cost_estimates [--epochs 3] [DATASET_ID ...]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.measure import wait_until_quiet
from core.datasets import DATASETS
from core.datasets.described import load_described
from core.model.presets import presets_for
from core.runs import estimates
from core.runs.queue import enqueue, queued_record
from core.runs.store import RunStore
from core.tasks.settings import train_settings_for
from core.training.worker import Worker

TOLERANCE = 0.35
LIMITS = {  # training samples kept of the largest sets (a quarter as many validate)
    "shakespeare": 4000,
    "adding": 2000,
    "copy_memory": 2000,
    "seq_mnist": 1000,
    "perm_mnist": 1000,
}
QUIET_WAIT = 30.0
MEASURES = ("per epoch", "calibration", "history", "total", "memory")


def estimate_then_train(store: RunStore, worker: Worker, description: dict, preset: str, epochs: int) -> dict:
    """One preset through the dashboard's path: its calibration, then its run; returns the record."""
    dataset = load_described(description)
    spec = presets_for(dataset.signature)[preset]
    settings = train_settings_for(dataset, {"epochs": epochs, "patience": 0})
    store.request_calibrations(estimates.calibration_requests({preset: spec}, dataset.signature, settings))
    [run_id] = enqueue(
        store, [queued_record(description, dataset.info, dataset.signature, spec, settings)], "bench"
    )
    worker.serve(once=True)
    return store.run(run_id)


def ratios(record: dict[str, Any]) -> dict[str, float | None]:
    """Estimate / actual for each measure (None where either side is missing)."""
    made, actual = record["estimate"], estimates.actual_cost(record)

    def ratio(estimated: float | None, measured: float | None) -> float | None:
        return estimated / measured if estimated and measured else None

    per_epoch = actual["seconds_per_epoch"]
    return {
        "per epoch": ratio(made["seconds_per_epoch"], per_epoch),
        "calibration": ratio(made["candidates"].get("calibration"), per_epoch),
        "history": ratio(made["candidates"].get("history"), per_epoch),
        "total": ratio(made["total_seconds"], actual["total_seconds"]),
        "memory": ratio(made["peak_memory_mb"], actual["peak_memory_mb"]),
    }


def summarize(found: dict[str, list[float]], label: str) -> None:
    print(f"estimate / actual, {label}: median (share within +-{TOLERANCE:.0%})")
    for measure, values in found.items():
        if values:
            within = sum(abs(value - 1) <= TOLERANCE for value in values)
            share = f"{within} of {len(values)}, {within / len(values):.0%}"
            print(f"  {measure:<12} {statistics.median(values):5.2f}  ({share})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("datasets", nargs="*")
    args = parser.parse_args()
    names = args.datasets or [name for name, info in DATASETS.items() if info.origin == "built-in"]
    every: dict[str, list[float]] = {measure: [] for measure in MEASURES}
    quiet: dict[str, list[float]] = {measure: [] for measure in MEASURES}  # rounds begun below the gate
    columns = " ".join(f"{measure:>11}" for measure in MEASURES)
    print(f"{'dataset':<16} {'preset':<28} {'source':<12} {'actual s':>8} {columns}")
    with tempfile.TemporaryDirectory() as folder:
        store = RunStore(Path(folder) / "runs.db")
        worker = Worker(store)
        for name in names:
            description = {"id": name, "settings": {}, **({"limit": LIMITS[name]} if name in LIMITS else {})}
            for preset in presets_for(load_described(description).signature):
                gate = wait_until_quiet(max_wait=QUIET_WAIT)
                record = estimate_then_train(store, worker, description, preset, args.epochs)
                if record["status"] != "completed":
                    print(f"{name:<16} {preset:<28} {record['status']}: {record['reason']}", flush=True)
                    continue
                measured = ratios(record)
                kept_in = [every] if "ABOVE" in gate else [every, quiet]
                for measure, value in measured.items():
                    for found in kept_in if value is not None else []:
                        found[measure].append(value)
                shown = " ".join("          –" if v is None else f"{v:11.2f}" for v in measured.values())
                actual = estimates.actual_cost(record)["seconds_per_epoch"]
                source = record["estimate"]["source"]
                print(f"{name:<16} {preset:<28} {source:<12} {actual:8.3f} {shown}   ({gate})", flush=True)
    summarize(every, "every run")
    summarize(quiet, "runs begun below the load gate")


if __name__ == "__main__":
    main()
