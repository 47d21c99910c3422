"""Fit time through the dashboard, with the Train page open in Chromium, against a plain ``model.fit``,
measured as a deployed app runs: the browser on a CPU of its own.

Dashboard side: ``streamlit run dashboard.py`` with a temporary run store; for each dataset a visitor's
workspace is opened on the Train page in headless Chromium, Epochs set and Train clicked. The dataset's
two default models train in the dashboard's worker (several batches per call where the cost estimate
allows, ``core.training.execution``), and each run's ``train_seconds`` (the time around its
``model.fit``, with the live callbacks, the gradient probe and the store writes) is read from the store.
Plain side: a separate process fits the same presets with ``build_model``/``compile_model`` on the same
data, with the run's own settings (seed, batch size, epochs), through a default ``model.fit`` (one
batch per call), and times ``model.fit`` alone. Both processes are long-lived, fit every model once as
a warm-up, and clear the Keras session after every fit, as the worker does. Then the sides alternate,
each round behind the load gate; the result is the median per-round ratio (dashboard / plain) with its
interquartile range. Target: at most 0.92.

Pinned (the default): Chromium, standing in for the visitor's machine, runs on CPU 0; the server, its
worker and the plain side on CPU 1. ``--unpinned`` lets every process use both CPUs, for comparison.
Beside the ratio: the browser's CPU seconds per second of the dashboard's rounds (the visitor's cost
of the live panel).

    python -m bench.training_overhead [--rounds 7] [--epochs 5] [--datasets mnist_5k co2 rotten_tomatoes]
        [--unpinned]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.measure import Measurement, TrainPage, alternate, chromium, cpu_seconds, summarize
from core.runs.store import RunStore
from tests.browser import ROOT, streamlit_server

DATASETS = ("mnist_5k", "co2", "rotten_tomatoes")
BROWSER_CPU, APP_CPU = 0, 1


def plain_fits() -> None:
    """The plain side, in its own process: for each line read from stdin (a JSON object with the
    dataset, the preset and the run's training settings), fit it and print the seconds ``model.fit`` took.
    """
    import keras

    from core.datasets import load_dataset
    from core.model.presets import presets_for
    from core.training.builder import build_model, compile_model

    datasets: dict[str, Any] = {}
    for line in sys.stdin:
        asked = json.loads(line)
        dataset = datasets.get(asked["dataset"]) or datasets.setdefault(
            asked["dataset"], load_dataset(asked["dataset"])
        )
        settings = asked["settings"]
        keras.utils.set_random_seed(settings["seed"])
        model = build_model(presets_for(dataset.signature)[asked["preset"]], dataset.signature)
        compile_model(
            model,
            dataset.signature.task,
            settings["optimizer"],
            settings["learning_rate"],
            settings["clipnorm"],
        )
        train, validation = dataset.train, dataset.validation
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

    def __init__(self, env: dict[str, str], log: Path, cpus: set[int] | None) -> None:
        """``env``: variables to set on top of this process's environment; ``cpus``: where it may run."""
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bench.training_overhead", "--plain"],
                cwd=ROOT,
                env={**os.environ, **env},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=output,
                text=True,
                preexec_fn=pinned_to(cpus),
            )

    def fit(self, dataset: str, preset: str, settings: dict[str, Any]) -> float:
        asked = {"dataset": dataset, "preset": preset, "settings": settings}
        self.process.stdin.write(json.dumps(asked) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            raise RuntimeError(f"the plain process ended (exit status {self.process.wait()})")
        return float(answer)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def pinned_to(cpus: set[int] | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` keeping a new process (and its children) on ``cpus``; None leaves it free."""
    return None if cpus is None else lambda: os.sched_setaffinity(0, cpus)


def batches_per_call(run: dict[str, Any]) -> int:
    """The batches per call into TensorFlow the worker chose for a run (one where it had no estimate)."""
    return (run.get("estimate") or {}).get("steps_per_execution", 1)


def browser_cpu_seconds() -> float:
    """CPU seconds used so far by every Chromium process on this machine (the benchmark starts one)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"chromium" in (entry / "cmdline").read_bytes().split(b"\0")[0]:
                total += cpu_seconds(int(entry.name))
        except OSError:  # ended while we looked
            continue
    return total


class Visitor:
    """One visitor's workspace on a dataset, its Train page open, with the dataset's default models."""

    def __init__(self, browser: Any, url: str, store: RunStore, dataset: str, epochs: int) -> None:
        workspace = secrets.token_hex(12)
        store.save_workspace(workspace, {"choice": {"id": dataset, "settings": {}}, "models": {}})
        self.dataset = dataset
        self.page = TrainPage(browser, url, store, workspace)
        self.page.set_epochs(epochs)
        self.runs: list[dict[str, Any]] = []
        self.browser_seconds = 0.0  # the browser's CPU per second of the last round

    def train(self) -> Measurement:
        start, used = time.perf_counter(), browser_cpu_seconds()
        self.runs, _ = self.page.train()
        self.browser_seconds = (browser_cpu_seconds() - used) / (time.perf_counter() - start)
        return {run["name"]: run["train_seconds"] for run in self.runs}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=5, help="5 is the dashboard's default")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--unpinned", action="store_true", help="every process on every CPU")
    parser.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain:
        plain_fits()
        return
    app_cpus = None if args.unpinned else {APP_CPU}
    print(
        "unpinned" if args.unpinned else f"Chromium on CPU {BROWSER_CPU}; server, worker, plain on {APP_CPU}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as folder:
        # no worker replacement (and so no cold start) inside the rounds
        env = {"RUNS_DB": f"{folder}/runs.db", "CNNRNN_WORKER_RUNS": "1000"}
        plain = PlainProcess(env, Path(folder, "plain.log"), app_cpus)
        dashboard_log = Path(folder, "server.log")
        try:
            compare(args, env, plain, dashboard_log, app_cpus)
        finally:
            plain.close()


def compare(
    args: argparse.Namespace, env: dict[str, str], plain: PlainProcess, log: Path, app_cpus: set[int] | None
) -> None:
    """The dashboard against ``plain``, alternating, on each dataset asked for; prints the rounds and
    the summary.
    """
    with streamlit_server(ROOT / "dashboard.py", log, env, preexec=pinned_to(app_cpus)) as server:
        if not args.unpinned:
            os.sched_setaffinity(0, {BROWSER_CPU})  # this process, Playwright and Chromium
        with chromium() as browser:
            store = RunStore(env["RUNS_DB"])
            for dataset in args.datasets:
                visitor = Visitor(browser, server.url, store, dataset, args.epochs)
                browser_rates: list[float] = []

                def dashboard(visitor: Visitor = visitor, rates: list[float] = browser_rates) -> Measurement:
                    measured = visitor.train()
                    rates.append(visitor.browser_seconds)
                    return measured

                def plain_side(visitor: Visitor = visitor) -> Measurement:
                    return {
                        run["name"]: plain.fit(visitor.dataset, run["name"], run["config"]["train"])
                        for run in visitor.runs
                    }

                print(f"{dataset}, {args.epochs} epochs, default settings; seconds in model.fit", flush=True)
                results = alternate({"dashboard": dashboard, "plain": plain_side}, args.rounds)
                summarize(results, ratio=("dashboard", "plain"))
                calls = ", ".join(f"{run['name']} {batches_per_call(run)}" for run in visitor.runs)
                print(f"{dataset}: batches per call in the last round: {calls}", flush=True)
                if kept := browser_rates[1:]:  # the warm-up left out
                    print(
                        f"{dataset}: browser CPU per second of live panel {sum(kept) / len(kept):.2f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
