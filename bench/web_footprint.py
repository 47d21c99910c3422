"""The web process's footprint and speed, with ``streamlit run dashboard.py`` and headless Chromium.

(d) Home page first paint against a two-line Streamlit app's (a new browser session each visit,
    until the heading shows and the script is idle); alternating rounds, median ratio.
(b) Train page first visit against the Build page's, the same way; target: within 1.5x.
(a) The web process's resident memory with nobody training, after every page was visited, and
    again after 20 runs trained through the dashboard (and every page visited again), with whether
    it has loaded TensorFlow; target: at most 300 MB both.
(c) From clicking Train (Epochs 1, the two default models) to the first batch reported in the run
    store, on a warm worker: the first click starts the worker (cold, reported as the warm-up), the
    rounds after it find it warm (the worker's replacement is turned off, CNNRNN_WORKER_RUNS=1000,
    so that none falls within the clicks); target: at most 2 s. Its runs count towards the 20 of (a).

    python -m bench.web_footprint [--rounds 7]
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.measure import (
    Measurement,
    TrainPage,
    alternate,
    chromium,
    first_visit_seconds,
    loads_tensorflow,
    resident_mb,
    summarize,
)
from core.runs.store import RunStore
from tests.browser import ROOT, streamlit_server

BARE_APP = 'import streamlit as st\nst.title("Hello")\n'
PAGES = {"Home": "CNN vs RNN", "Data": "Data", "Build": "Build", "Train": "Train", "Compare": "Compare"}
TRAINED_RUNS = 20


def visit_timer(browser: Any, url: str, heading: str) -> Callable[[], Measurement]:
    return lambda: {"seconds": first_visit_seconds(browser, url, heading)}


def web_memory(pid: int, when: str) -> None:
    tensorflow = "has" if loads_tensorflow(pid) else "has not"
    print(
        f"(a) web process RSS {when}: {resident_mb(pid):.0f} MB; it {tensorflow} loaded TensorFlow",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-web-") as folder:
        bare = Path(folder, "bare.py")
        bare.write_text(BARE_APP)
        # (c) is about a warm worker: no replacement (after 10 runs by default) within the clicks
        env = {"RUNS_DB": f"{folder}/runs.db", "CNNRNN_WORKER_RUNS": "1000"}
        with (
            streamlit_server(ROOT / "dashboard.py", Path(folder, "server.log"), env) as server,
            streamlit_server(bare, Path(folder, "bare.log")) as bare_server,
            chromium() as browser,
        ):
            print("(d) first paint, seconds", flush=True)
            paint = alternate(
                {
                    "bare app": visit_timer(browser, bare_server.url, "Hello"),
                    "Home": visit_timer(browser, server.url, PAGES["Home"]),
                },
                args.rounds,
            )
            summarize(paint, ratio=("Home", "bare app"))

            print("(b) first visit, seconds", flush=True)
            visits = alternate(
                {
                    "Build": visit_timer(browser, f"{server.url}/build", "Build"),
                    "Train": visit_timer(browser, f"{server.url}/train", "Train"),
                },
                args.rounds,
            )
            summarize(visits, ratio=("Train", "Build"))

            page = TrainPage(browser, server.url, RunStore(env["RUNS_DB"]))
            for title, heading in PAGES.items():
                page.visit(title, heading)
            web_memory(server.process.pid, "after visiting every page, nobody training")

            page.visit("Train")
            page.set_epochs(1)
            trained = 0

            def click_train() -> Measurement:
                nonlocal trained
                runs, first_batch = page.train()
                trained += len(runs)
                return {"first batch": first_batch}

            print(
                "(c) click Train -> first batch in the store, seconds (warm-up: the worker starts)",
                flush=True,
            )
            summarize(alternate({"Train click": click_train}, args.rounds))
            while trained < TRAINED_RUNS:
                click_train()
            for title, heading in PAGES.items():
                page.visit(title, heading)
            web_memory(server.process.pid, f"after {trained} runs trained through it and every page visited")


if __name__ == "__main__":
    main()
