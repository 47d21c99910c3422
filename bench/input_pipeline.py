"""Fit time by input pipeline, in one process: a plain ``model.fit`` given the arrays (Keras' own
pipeline, which tf.data autotunes) against the same fit given a run's batches
(``core.training.batches``: autotuning off), one batch per call, for the default CNN and RNN of each
dataset the Train page starts with. Beside each side's wall seconds, the CPU seconds the process used:
where they differ, the CPU sat idle. Alternating rounds after a warm-up, each behind the load gate;
median and IQR, and the per-round ratio (run's batches / arrays).

Pinned to one CPU by default (the training CPU of ``bench/training_overhead.py``); ``--cpus 0 1``
gives it both.

    python -m bench.input_pipeline [--rounds 5] [--epochs 5] [--datasets mnist_5k co2 rotten_tomatoes]
        [--cpus 1]
"""

from __future__ import annotations

import argparse
import functools
import os
from typing import Any

from bench.measure import Measurement, alternate, summarize
from bench.steps_per_call import plain_fit

DEFAULT_MODELS = {  # the two models the Train page starts with on each dataset
    "mnist_5k": ("CNN", "LSTM"),
    "co2": ("CNN", "Stacked LSTM (Keras example)"),
    "rotten_tomatoes": ("CNN", "LSTM"),
}


def timed_fits(dataset: Any, specs: dict[str, Any], settings: dict[str, Any], pipeline: bool) -> Measurement:
    """Each model's fit: its wall seconds, and the CPU seconds the process used meanwhile."""
    measured: dict[str, float] = {}
    for name, spec in specs.items():
        measured[name], measured[f"{name} CPU"] = plain_fit(dataset, spec, settings, 1, pipeline=pipeline)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--datasets", nargs="+", default=list(DEFAULT_MODELS), choices=list(DEFAULT_MODELS))
    parser.add_argument("--cpus", type=int, nargs="+", default=[1])
    args = parser.parse_args()
    os.sched_setaffinity(0, set(args.cpus))
    from core.datasets import load_dataset
    from core.model.presets import presets_for
    from core.tasks.settings import train_settings_for

    for name in args.datasets:
        dataset = load_dataset(name)
        settings = train_settings_for(dataset, {"epochs": args.epochs, "seed": 3})
        presets = presets_for(dataset.signature)
        specs = {model: presets[model] for model in DEFAULT_MODELS[name]}
        print(f"{name}, {args.epochs} epochs, CPUs {args.cpus}; seconds in model.fit", flush=True)
        sides = {
            side: functools.partial(timed_fits, dataset, specs, settings, pipeline)
            for side, pipeline in (("arrays", False), ("run's batches", True))
        }
        summarize(alternate(sides, args.rounds), ratio=("run's batches", "arrays"))


if __name__ == "__main__":
    main()
