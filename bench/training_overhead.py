"""Fit time through the dashboard, with the Train page open in Chromium, against a plain ``model.fit``.

Dashboard side: ``streamlit run dashboard.py`` with a temporary run store, the Train page open in
headless Chromium, Epochs set, Train clicked; the default dataset's two default models (CNN and
LSTM on mnist_5k) train in the dashboard's worker process, and each run's ``train_seconds`` (the
time around its ``model.fit``) is read from the store. Plain side: a separate plain process builds
the same presets with ``build_model``/``compile_model`` on the same data, with the same seed, batch
size and epochs, and times ``model.fit`` alone. Both processes are warmed equally: each is
long-lived, fits both models once as a warm-up, and drops the model, clears the Keras session and
collects garbage after every fit, as the worker does. Then the two sides alternate, each round
behind the load gate; the result is the median per-round ratio (dashboard / plain) with its IQR.
Target: at most 1.05.

    python -m bench.training_overhead [--rounds 7] [--epochs 5]
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.measure import Measurement, TrainPage, alternate, chromium, summarize
from core.runs.store import RunStore
from tests.browser import ROOT, streamlit_server

DATASET = "mnist_5k"
MODELS = ("CNN", "LSTM")  # the dashboard's default models for mnist_5k, in the order they train


def plain_fits(epochs: int) -> None:
    """The plain side, in its own process: for each preset name read from stdin, fit it and print
    the seconds ``model.fit`` took.
    """
    import keras

    from core.datasets import load_dataset
    from core.model.presets import presets_for
    from core.tasks.settings import check_train_settings
    from core.training.builder import build_model, compile_model

    dataset = load_dataset(DATASET)
    presets = presets_for(dataset.signature)
    settings = check_train_settings({"epochs": epochs}, dataset.signature.task)
    train, validation = dataset.train, dataset.validation
    for line in sys.stdin:
        keras.utils.set_random_seed(settings["seed"])
        model = build_model(presets[line.strip()], dataset.signature)
        compile_model(model, dataset.signature.task, settings["optimizer"], settings["learning_rate"])
        start = time.perf_counter()
        model.fit(
            train.x,
            train.y,
            validation_data=(validation.x, validation.y),
            epochs=settings["epochs"],
            batch_size=settings["batch_size"],
            verbose=0,
        )
        print(time.perf_counter() - start, flush=True)
        del model
        keras.backend.clear_session()
        gc.collect()


class PlainProcess:
    """The plain side's process, asked for one fit at a time."""

    def __init__(self, epochs: int, env: dict[str, str], log: Path) -> None:
        """``env``: variables to set on top of this process's environment."""
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bench.training_overhead", "--plain", f"--epochs={epochs}"],
                cwd=ROOT,
                env={**os.environ, **env},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=output,
                text=True,
            )

    def fit(self, preset: str) -> float:
        self.process.stdin.write(preset + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            raise RuntimeError(f"the plain process ended (exit status {self.process.wait()})")
        return float(answer)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=5, help="5 is the dashboard's default")
    parser.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain:
        plain_fits(args.epochs)
        return
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as folder:
        # no worker replacement (and so no cold start) inside the rounds
        env = {"RUNS_DB": f"{folder}/runs.db", "CNNRNN_WORKER_RUNS": "1000"}
        plain = PlainProcess(args.epochs, env, Path(folder, "plain.log"))
        with (
            streamlit_server(ROOT / "dashboard.py", Path(folder, "server.log"), env) as server,
            chromium() as browser,
        ):
            page = TrainPage(browser, server.url, RunStore(env["RUNS_DB"]))
            page.set_epochs(args.epochs)

            def dashboard() -> Measurement:
                runs, _ = page.train()
                return {run["name"]: run["train_seconds"] for run in runs}

            def plain_side() -> Measurement:
                return {name: plain.fit(name) for name in MODELS}

            print(f"{DATASET}, {args.epochs} epochs, default settings; seconds in model.fit", flush=True)
            results = alternate({"dashboard": dashboard, "plain": plain_side}, args.rounds)
        plain.close()
    summarize(results, ratio=("dashboard", "plain"))


if __name__ == "__main__":
    main()
