"""The command line against a plain script: ``python -m core train`` of one preset for a few epochs,
from process start to exit, against a plain Python script that imports Keras, builds the same model on
the same data and fits it for as many epochs. Each side is a fresh process every round (the command line
with a fresh run store, as a first run has); alternating rounds behind the load gate, median ratio.
Target: at most 1.3.

Beside it, what the command line imports before TensorFlow (``python -X importtime``), the largest
packages first: where its extra start-up time goes.

    python -m bench.cli_startup [--rounds 7] [--dataset mnist_5k] [--model CNN] [--epochs 2]
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.measure import Measurement, alternate, summarize
from tests.browser import ROOT

PLAIN = """
import keras
from core.datasets import load_dataset
from core.model.presets import presets_for
from core.tasks.settings import train_settings_for
from core.training.builder import build_model, compile_model

dataset = load_dataset({dataset!r})
settings = train_settings_for(dataset, {{"epochs": {epochs}}})  # the command line's defaults
model = build_model(presets_for(dataset.signature)[{model!r}], dataset.signature)
compile_model(
    model, dataset.signature.task, settings["optimizer"], settings["learning_rate"], settings["clipnorm"]
)
model.fit(
    dataset.train.x,
    dataset.train.y,
    validation_data=(dataset.validation.x, dataset.validation.y),
    epochs=settings["epochs"],
    batch_size=settings["batch_size"],
    verbose=0,
)
"""
SHOWN_IMPORTS = 8


def seconds_to_exit(command: list[str], env: dict[str, str]) -> float:
    """Wall seconds from starting ``command`` (in the repository) to its exit; it must succeed."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr[-1000:]}")
    return time.perf_counter() - start


def largest_imports(module: str) -> list[tuple[float, str]]:
    """What ``module`` imports itself and every package it pulls in, by cumulative seconds, largest first."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    found = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        depth = (len(name) - len(name.lstrip()) - 1) // 2  # the module itself is at depth 0
        if cumulative.strip().isdigit() and (depth == 1 or (depth > 1 and "." not in name)):
            found.append((int(cumulative) / 1e6, name.strip()))
    return sorted(found, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--dataset", default="mnist_5k")
    parser.add_argument("--model", default="CNN")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    plain = PLAIN.format(dataset=args.dataset, model=args.model, epochs=args.epochs)
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as folder:
        stores = itertools.count()

        def command_line() -> Measurement:
            store = {"RUNS_DB": str(Path(folder, f"runs-{next(stores)}.db"))}
            train = ["train", "--dataset", args.dataset, "--model", args.model, "--epochs", str(args.epochs)]
            return {"seconds": seconds_to_exit([sys.executable, "-m", "core", *train], store)}

        def plain_script() -> Measurement:
            return {"seconds": seconds_to_exit([sys.executable, "-c", plain], {})}

        print(
            f"{args.dataset}, {args.model}, {args.epochs} epochs: seconds from process start to exit",
            flush=True,
        )
        results = alternate({"command line": command_line, "plain script": plain_script}, args.rounds)
    summarize(results, ratio=("command line", "plain script"))
    imported = largest_imports("core.cli")
    print("python -X importtime -c 'import core.cli', the largest imports (cumulative seconds):")
    for seconds, name in imported[:SHOWN_IMPORTS]:
        print(f"  {seconds:6.3f}  {name}")


if __name__ == "__main__":
    main()
