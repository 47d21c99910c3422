"""Worker processes: take queued runs (and Keras downloads and cost calibrations) from the run store
and do them.

A worker claims one run at a time (atomically: several workers never take the same run), rebuilds
its dataset from the run's config, keeps the run's cost estimate beside it (``core.runs.estimates``),
trains it through ``TrainingJob`` (which writes progress, epochs, results and the model to the store),
as many batches per call into TensorFlow as the estimate allows (``core.training.execution``), beats a
heartbeat while it trains (the heartbeat also carries stop requests) and adds the peak memory the run
took to its estimate. Calibrations, a few seconds each, are served before runs. After a number of
runs, or when its memory passes a limit, a worker replaces itself with a fresh process (same pid), so
whatever TensorFlow keeps between fits goes back to the system.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.datasets import Dataset, keras_classics
from core.datasets.described import load_described
from core.errors import SpecError, UserError
from core.inputs import env_number
from core.lab import length_cost
from core.model.spec import ModelSpec
from core.runs import estimates
from core.runs.database import StoreError
from core.runs.record import RunStatus, WorkStatus
from core.runs.store import RunStore, this_process
from core.training.execution import batch_seconds, steps_per_call
from core.training.peak_memory import peak_memory_above, peak_memory_mb, reset_peak_memory

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 1.0
IDLE_POLL_SECONDS = 0.3
ANNOUNCE_SECONDS = 10.0  # how often a worker tells the store it is alive
MOST_RUNS = 1_000_000  # the largest CNNRNN_WORKER_RUNS
MOST_MEMORY_MB = 1_000_000  # the largest CNNRNN_WORKER_MEMORY_MB: a terabyte
OOM_SCORE_ADJ = Path("/proc/self/oom_score_adj")  # Linux: who the out-of-memory killer takes first
WORKER_OOM_SCORE = 500  # of -1000 (never) to 1000 (first); processes start at 0


def yield_to_web_process() -> None:
    """Where memory runs out (Community Cloud's limit holds the web process and its workers together),
    let the kernel end this worker before the dashboard that started it: the dashboard marks the run
    and starts another worker, and its visitors keep their pages.
    """
    if not OOM_SCORE_ADJ.exists():  # Linux only; any process may raise its own score
        return
    try:
        OOM_SCORE_ADJ.write_text(str(WORKER_OOM_SCORE))
    except OSError as error:  # a read-only /proc: the worker still trains
        log.warning("this worker could not offer itself first to the out-of-memory killer: %s", error)


@dataclass(frozen=True)
class WorkerSettings:
    """When a worker replaces itself; each can be set by an environment variable."""

    max_runs: int = 10  # CNNRNN_WORKER_RUNS: TensorFlow keeps ~11 MB of each fit (bench/memory_growth.py)
    max_memory_mb: int = 1200  # CNNRNN_WORKER_MEMORY_MB: peak resident memory

    @classmethod
    def from_env(cls) -> WorkerSettings:
        """The settings, each from its environment variable where one is set; a bad value is one sentence."""
        return cls(
            env_number("CNNRNN_WORKER_RUNS", cls.max_runs, 1, MOST_RUNS),
            env_number("CNNRNN_WORKER_MEMORY_MB", cls.max_memory_mb, 1, MOST_MEMORY_MB),
        )


class Worker:
    """Trains queued runs one at a time, in this process."""

    def __init__(
        self,
        store: RunStore,
        settings: WorkerSettings | None = None,
        parent: int | None = None,
        strategy: Any = None,
        listener: Callable[[Any], None] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or WorkerSettings.from_env()
        self.parent = parent  # the dashboard's pid: the worker ends when it is gone
        self.strategy = strategy
        self.listener = listener
        self.owner = this_process()
        self.trained = 0
        self._datasets: dict[str, Dataset] = {}  # the last dataset, kept for the next run on it
        self._announced = -ANNOUNCE_SECONDS  # when the store was last told this worker is alive

    def serve(self, once: bool = False, only: list[str] | None = None) -> int:
        """Take work until the queue is empty (``once``) or forever; returns the runs trained."""
        if not once:
            import core.training.job  # noqa: F401  (TensorFlow loads now, not when the next click waits)
        while not self._orphaned():
            self._announce()
            if not self.store.has_work():  # a read; claiming takes the write lock
                if once:
                    break
                time.sleep(IDLE_POLL_SECONDS)
                continue
            dataset_id = None if only else self.store.claim_download(self.owner)
            if dataset_id is not None:
                self.fetch(dataset_id)
                continue
            calibration = None if only else self.store.claim_calibration(self.owner)
            if calibration is not None:
                self.calibrate(*calibration)
            elif (run := self.store.claim_run(self.owner, only)) is not None:
                self.train(run)
            elif once:
                break
            else:
                time.sleep(IDLE_POLL_SECONDS)
                continue
            if self.worn_out() and not once:
                self.replace()
        return self.trained

    def worn_out(self) -> bool:
        return self.trained >= self.settings.max_runs or peak_memory_mb() > self.settings.max_memory_mb

    def replace(self) -> None:
        """Start afresh in this same process (same pid), giving all memory back."""
        print(
            f"worker {os.getpid()} replaces itself after {self.trained} run(s), "
            f"peak memory {peak_memory_mb():.0f} MB",
            file=sys.stderr,
            flush=True,
        )
        self.store.close()
        os.execv(sys.executable, [sys.executable, "-m", "core", *sys.argv[1:]])

    def fetch(self, dataset_id: str) -> None:
        """Download a Keras dataset for everyone who asked for it."""
        try:
            keras_classics.fetch(dataset_id)
        except UserError as error:
            self.store.finish_download(dataset_id, WorkStatus.FAILED, str(error))
        except Exception as error:  # a broken download must not end the worker
            log.exception("download of %s failed", dataset_id)
            self.store.finish_download(
                dataset_id, WorkStatus.FAILED, f"{error.__class__.__name__}: {error}"[:200]
            )
        else:
            self.store.finish_download(dataset_id, WorkStatus.DONE)

    def calibrate(self, key: str, request: dict[str, Any]) -> None:
        """Time a model on a few batches, for the cost estimates or the cost against sequence length; a
        failure is a sentence on the request.
        """
        from core.training import calibration, length_timing  # TensorFlow loads with the first measurement

        measure = length_timing.measure if length_cost.is_measurement(request) else calibration.calibrate
        try:
            self.store.finish_calibration(key, measure(request))
        except SpecError as error:
            self.store.finish_calibration(key, reason=error.problems[0])
        except UserError as error:
            self.store.finish_calibration(key, reason=str(error))
        except Exception as error:  # a model that cannot be measured must not end the worker
            log.exception("calibration %s failed", key)
            first_line = (str(error).strip().splitlines() or [""])[0][:200]
            reason = f"measuring it stopped with {error.__class__.__name__}: {first_line}".rstrip(": ")
            self.store.finish_calibration(key, reason=reason)

    def train(self, run: dict[str, Any]) -> dict[str, Any]:
        """Train one claimed run; anything that goes wrong becomes the run's status and reason."""
        from core.training.job import TrainingJob  # TensorFlow loads with the first run

        self.trained += 1
        try:
            dataset = self._dataset(run["config"]["dataset"])
            spec = ModelSpec.from_dict(run["config"]["model"])
            job = TrainingJob(
                dataset,
                spec,
                run["config"]["train"],
                store=self.store,
                workspace=run["workspace"],
                strategy=self.strategy,
                queued=run,
                listener=self.listener,
            )
        except SpecError as error:
            self.store.end_run(run["id"], RunStatus.FAILED, error.problems[0])
            return self.store.run(run["id"]) or run
        except UserError as error:
            self.store.end_run(run["id"], RunStatus.FAILED, str(error))
            return self.store.run(run["id"]) or run
        estimate = self._estimate(job)
        batches = math.ceil(len(job.dataset.train) / job.settings["batch_size"])
        per_batch = batch_seconds(estimate["seconds_per_epoch"], batches) if estimate else None
        beating = threading.Event()
        heart = threading.Thread(target=self._beat, args=(job, beating), name="heartbeat", daemon=True)
        heart.start()
        baseline = reset_peak_memory()
        steps = steps_per_call(per_batch, batches)
        try:
            return job.run(steps)
        finally:
            beating.set()
            heart.join()
            if estimate is not None:
                measured = {
                    "measured_peak_memory_mb": peak_memory_above(baseline),
                    "steps_per_execution": steps,
                }
                self._keep_estimate(job, {**estimate, **measured})

    def _estimate(self, job: Any) -> dict[str, Any] | None:
        """The run's cost, estimated as the Train page does, kept beside it (None if the store fails)."""
        key = estimates.cost_key(estimates.calibration_request(job.spec, job.dataset.signature, job.settings))
        sizes = (len(job.dataset.train), len(job.dataset.validation))
        try:
            calibration = self.store.calibrations([key]).get(key, {})
            history = self.store.cost_history()
        except (StoreError, UserError) as error:
            log.warning("the cost of run %s could not be estimated: %s", job.id, error)
            return None
        estimate = estimates.estimate(
            job.spec, job.dataset.signature, job.settings, sizes, calibration.get("result"), history
        )
        return self._keep_estimate(job, estimate)

    def _keep_estimate(self, job: Any, estimate: dict[str, Any]) -> dict[str, Any] | None:
        """Save the estimate beside the run; None when the store refuses (the training goes on)."""
        try:
            self.store.set_estimate(job.id, estimate)
        except (StoreError, UserError) as error:
            log.warning("the estimate of run %s could not be saved: %s", job.id, error)
            return None
        return estimate

    def _announce(self) -> None:
        """Tell the store this worker is alive, every ``ANNOUNCE_SECONDS`` at most (the dashboard counts
        the workers alive, on every machine); a busy store is told next time.
        """
        now = time.monotonic()
        if now - self._announced < ANNOUNCE_SECONDS:
            return
        try:
            self.store.worker_seen(self.owner)
        except (StoreError, UserError) as error:
            log.warning("worker %s could not tell the store it is alive: %s", self.owner, error)
            return
        self._announced = now

    def _beat(self, job: Any, done: threading.Event) -> None:
        """Every second: tell the store this run is alive, and pass on a stop request."""
        while not done.wait(HEARTBEAT_SECONDS):
            if self._orphaned():
                os._exit(0)  # the dashboard is gone: its workers end with it
            self._announce()
            try:
                if self.store.beat(job.id):
                    job.stop()
            except (StoreError, UserError) as error:  # a busy store must not stop the training
                log.warning("heartbeat of run %s failed: %s", job.id, error)

    def _dataset(self, description: dict[str, Any]) -> Dataset:
        key = json.dumps(description, sort_keys=True)
        if key not in self._datasets:
            upload = description.get("upload")
            data = self.store.upload(upload["sha256"]) if upload else None
            self._datasets = {key: load_described(description, data, fetch_missing=True)}
        return self._datasets[key]

    def _orphaned(self) -> bool:
        return self.parent is not None and os.getppid() != self.parent


def measure_here(
    store: RunStore,
    points: list[length_cost.Point],
    listener: Callable[[int, length_cost.Point], None] | None = None,
) -> length_cost.Measured:
    """Request the points' measurements and make, in this process, those no other worker takes (each
    told to ``listener`` with the count done before it); wait for the rest. Failed ones are tried again;
    those measured before are read from the store.
    """
    keys = [point.key for point in points]
    store.request_calibrations(length_cost.requests(points))
    store.retry_calibrations(keys)
    worker = Worker(store)
    while (claimed := store.claim_calibration(worker.owner, keys)) is not None:
        if listener is not None:
            done = sum(found["status"] == WorkStatus.DONE for found in store.calibrations(keys).values())
            listener(done, next(point for point in points if point.key == claimed[0]))
        worker.calibrate(*claimed)
    while estimates.measuring(calibrations := store.calibrations(keys)):  # those other workers took
        time.sleep(0.5)
    return length_cost.Measured.of(points, calibrations)
