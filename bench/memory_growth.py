"""Resident memory of the process across repeated training runs (Linux: reads /proc/self/status).

Builds, trains and evaluates the same small model again and again through the training job, and
prints the resident set size after each run; the job drops its model and clears the Keras session
after every run, so memory should level off after the first few runs.

    python bench/memory_growth.py [--runs 12] [--dataset digits_8x8] [--preset LSTM]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.datasets import load_dataset
from core.presets import presets_for
from core.training import TrainingJob, submit


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--dataset", default="digits_8x8")
    parser.add_argument("--preset", default="LSTM")
    args = parser.parse_args()
    dataset = load_dataset(args.dataset)
    spec = presets_for(dataset.signature)[args.preset]
    sizes = []
    for run in range(1, args.runs + 1):
        job = submit(TrainingJob(dataset, spec, {"epochs": 1}))
        job.wait()
        sizes.append(resident_mb())
        print(f"run {run:>2}: {sizes[-1]:7.1f} MB", flush=True)
    third = max(len(sizes) // 3, 1)
    growth = (sizes[-1] - sizes[third - 1]) / (len(sizes) - third)
    print(f"growth after run {third}: {growth:+.2f} MB per run")


if __name__ == "__main__":
    main()
