"""Overhead of the dashboard's training job against a plain ``model.fit`` of the same model and data.

Trains the CNN preset on the default image data and the Stacked LSTM preset on the default series
data, alternating job and plain fit in one process, and prints the median time ratio (target: <= 1.05).

    python bench/training_overhead.py [--rounds 3] [--epochs 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras

from core.builder import build_model, compile_model
from core.datasets import Dataset, load_dataset
from core.presets import presets_for
from core.spec import ModelSpec
from core.training import TrainingJob, submit

CASES = (("mnist_5k", "CNN"), ("co2", "Stacked LSTM (Keras example)"))


def job_seconds(dataset: Dataset, spec: ModelSpec, settings: dict) -> float:
    job = submit(TrainingJob(dataset, spec, settings))
    job.wait()
    record = job.record()
    assert record["status"] == "completed", record["reason"]
    return record["train_seconds"]


def plain_seconds(dataset: Dataset, spec: ModelSpec, settings: dict) -> float:
    keras.utils.set_random_seed(settings["seed"])
    model = build_model(spec, dataset.signature)
    compile_model(model, dataset.signature.task, "adam", 0.001)
    start = time.perf_counter()
    model.fit(
        dataset.train.x,
        dataset.train.y,
        validation_data=(dataset.validation.x, dataset.validation.y),
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        verbose=0,
    )
    seconds = time.perf_counter() - start
    keras.backend.clear_session()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    settings = {"epochs": args.epochs, "batch_size": 64, "seed": 0}
    for dataset_id, preset in CASES:
        dataset = load_dataset(dataset_id)
        spec = presets_for(dataset.signature)[preset]
        plain_seconds(dataset, spec, settings)  # warm-up: first fit in a process pays for start-up
        jobs, plains = [], []
        for _ in range(args.rounds):
            jobs.append(job_seconds(dataset, spec, settings))
            plains.append(plain_seconds(dataset, spec, settings))
        ratio = statistics.median(jobs) / statistics.median(plains)
        print(
            f"{dataset_id:<10} {preset:<30} job {statistics.median(jobs):6.2f} s  "
            f"plain fit {statistics.median(plains):6.2f} s  ratio {ratio:.3f}"
        )


if __name__ == "__main__":
    main()
