"""Fit time by batches per call into TensorFlow, in one process pinned to one CPU: a plain
``model.fit`` and a run through ``TrainingJob`` (live progress and gradient probe, no store), each at
1, 4 and 16 batches per call, for a dataset's default CNN and LSTM. Alternating rounds after a
warm-up, each behind the load gate; median seconds and the ratio to a plain fit at one batch per call.

    python -m bench.steps_per_call [--rounds 3] [--dataset mnist_5k] [--cpu 1]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from typing import Any

from bench.measure import Measurement, alternate

STEPS = (1, 4, 16)


def plain_fit(
    dataset: Any, spec: Any, settings: dict[str, Any], steps: int, pipeline: bool = False
) -> tuple[float, float]:
    """Wall and CPU seconds of a default ``model.fit`` at ``steps`` batches per call, given the arrays
    (Keras' own input pipeline) or, with ``pipeline``, the batches of ``core.training.batches`` (a run's).
    """
    import keras

    from core.training.batches import batches
    from core.training.builder import build_model, compile_model

    keras.utils.set_random_seed(settings["seed"])
    model = build_model(spec, dataset.signature)
    task = dataset.signature.task
    compile_model(model, task, settings["optimizer"], settings["learning_rate"], settings["clipnorm"], steps)
    train, validation, batch_size = dataset.train, dataset.validation, settings["batch_size"]
    if pipeline:
        data = {"x": batches(train, batch_size, shuffle_seed=settings["seed"])}
        data["validation_data"], data["shuffle"] = batches(validation, batch_size), False
    else:
        data = {"x": train.x, "y": train.y, "validation_data": (validation.x, validation.y)}
        data["batch_size"] = batch_size
    start, cpu = time.perf_counter(), time.process_time()
    model.fit(**data, epochs=settings["epochs"], verbose=0)
    wall_and_cpu = time.perf_counter() - start, time.process_time() - cpu
    del model
    keras.backend.clear_session()
    gc.collect()
    return wall_and_cpu


def job_fit(dataset: Any, spec: Any, settings: dict[str, Any], steps: int) -> float:
    """The ``train_seconds`` of a run through ``TrainingJob`` at ``steps`` batches per call."""
    from core.training.job import TrainingJob

    return TrainingJob(dataset, spec, settings).run(steps_per_execution=steps)["train_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dataset", default="mnist_5k")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--cpu", type=int, default=1)
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.cpu})
    from core.datasets import load_dataset
    from core.model.presets import presets_for
    from core.tasks.settings import train_settings_for

    dataset = load_dataset(args.dataset)
    settings = train_settings_for(dataset, {"epochs": args.epochs, "seed": 3})
    presets = {name: spec for name, spec in presets_for(dataset.signature).items() if name in ("CNN", "LSTM")}

    def side(fit: Any, steps: int):
        return lambda: {name: fit(dataset, spec, settings, steps) for name, spec in presets.items()}

    def plain_wall(*args: Any) -> float:
        return plain_fit(*args)[0]

    sides = {
        f"{kind} x{steps}": side(fit, steps)
        for kind, fit in (("plain", plain_wall), ("job", job_fit))
        for steps in STEPS
    }
    results: dict[str, list[Measurement]] = alternate(sides, args.rounds)
    for name in presets:
        base = statistics.median(r[name] for r in results["plain x1"])
        for label, rounds in results.items():
            median = statistics.median(r[name] for r in rounds)
            print(f"{name:5} {label:9} {median:6.2f} s  {median / base:.2f}x plain x1", flush=True)


if __name__ == "__main__":
    main()
