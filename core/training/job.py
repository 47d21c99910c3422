"""One training run: build, ``fit()``, evaluate, with live snapshots, stop, divergence and the store."""

from __future__ import annotations

import contextlib
import copy
import gc
import logging
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras

from core.compare.memory import memory_metrics
from core.datasets import Dataset
from core.errors import UserError
from core.exchange.bundle import export_bundle
from core.model.spec import ModelSpec
from core.model.trace import Limits, validate
from core.runs.database import StoreBusy, StoreError
from core.runs.queue import eta_seconds, queued_record
from core.runs.record import RunRecord, RunStatus
from core.runs.store import RunStore
from core.tasks.registry import TASKS
from core.tasks.settings import class_weights, train_settings_for
from core.training.batches import batches
from core.training.builder import build_model, compile_model
from core.training.evaluation import evaluate
from core.training.gradient_probe import GradientProbe

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.3  # seconds between batch-progress writes to the store
DEFAULT_PATIENCE = 300.0  # seconds a finished run waits for a store that refuses its results
MOST_PAUSE = 15.0  # the longest pause between two tries
PROGRESS_KEYS = (  # what the store's live progress of a run holds
    "epoch",
    "epochs",
    "batch",
    "batches",
    "batch_loss",
    "progress",
    "fit_seconds",
    "samples_per_second",
    "first_batch_seconds",
    "first_call_batches",
    "first_epoch_seconds",
    "first_validation",
    "first_probe_seconds",
    "epochs_done",
    "last_epoch_end",
    "phase",
)


class TrainingJob:
    """One training run: build, fit, evaluate. ``run()`` trains; ``snapshot()`` and ``stop()`` work
    from any thread; with a store, progress, epochs, results and the model are written as they come.
    """

    def __init__(
        self,
        dataset: Dataset,
        spec: ModelSpec,
        settings: dict[str, Any] | None = None,
        limits: Limits | None = None,
        store: RunStore | None = None,
        workspace: str = "default",
        strategy: Any = None,
        queued: dict[str, Any] | None = None,
        listener: Callable[[TrainingJob], None] | None = None,
    ) -> None:
        """``queued`` is the run's record when a worker took it from the store's queue (its id, time
        and dataset config are kept); ``listener`` is called after every batch and epoch.
        """
        self.dataset, self.spec = dataset, spec
        self.store, self.workspace = store, workspace
        self.strategy = strategy  # a tf.distribute strategy to build the model under, or None
        self.model_file: bytes | None = None  # the trained model in the .keras format
        self.settings = train_settings_for(dataset, settings)
        self.trace = validate(spec, dataset.signature, limits)
        if queued is None:  # trained outside the queue (tests, benchmarks): the queue still makes the record
            queued = queued_record(
                _description(dataset), dataset.info, dataset.signature, spec, settings, limits
            )
        self.id = queued["id"]
        self.listener = listener
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._progress_written = 0.0
        self._unsaved: list[dict[str, Any]] = []  # finished epochs the store has refused so far
        self._state: dict[str, Any] = {
            **copy.deepcopy(queued),
            "epoch": 0,
            "epochs": self.settings["epochs"],
            "batch": 0,
            "batches": 0,
        }
        self._state["config"]["train"] = self.settings  # as resolved for this data's size

    # ---- reading and control, from any thread ---------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            state = copy.deepcopy(self._state)
        state["eta_seconds"] = eta_seconds(state)
        return state

    @property
    def status(self) -> str:
        with self._lock:
            return self._state["status"]

    def stop(self) -> None:
        """Ask the run to end after the current batch; what it learned so far is kept."""
        self._stop.set()

    def record(self) -> dict[str, Any]:
        """The run's record as it stands: config, status, per-epoch history, test metrics, sizes and times."""
        return RunRecord.from_row(self.snapshot()).to_dict()

    def _update(self, **changes: Any) -> None:
        with self._lock:
            self._state.update(changes)

    def _publish(self, force: bool = False) -> None:
        """Tell the listener, and write batch progress to the store a few times a second at most."""
        if self.listener is not None:
            self.listener(self)
        now = time.monotonic()
        if self.store is None or (not force and now - self._progress_written < PROGRESS_INTERVAL):
            return
        self._progress_written = now
        with self._lock:
            progress = {key: self._state[key] for key in PROGRESS_KEYS if key in self._state}
        try:
            self.store.set_progress(self.id, progress)
        except (StoreError, UserError) as error:  # live progress only: the next write may pass
            log.warning("progress of run %s could not be saved: %s", self.id, error)

    def _persist(self, epoch: dict[str, Any] | None = None) -> None:
        """Write the run (or one finished epoch) to the store. Epochs the store refuses (locked, busy,
        unreachable) stay in memory and are written with the next write it accepts; the run's end
        waits for the store (``_save_results``).
        """
        if self.store is None:
            return
        if epoch is not None:
            self._unsaved.append(epoch)
        try:
            self._write_unsaved()
            if epoch is None:
                self.store.save_run(self.record(), self.workspace)
        except (StoreError, OSError, UserError) as error:
            log.warning(
                "run %s: %s refused a write (%s); kept to write later", self.id, self.store.where, error
            )

    def _write_unsaved(self) -> None:
        """The epochs the store refused so far, oldest first."""
        while self._unsaved:
            self.store.add_epoch(self.id, self._unsaved[0])
            self._unsaved.pop(0)

    def _save_results(self) -> None:
        """Write the unsaved epochs, the model and the record; while the store refuses in a way that may
        pass (locked, busy, full, unreachable), retry with growing pauses for up to ``store_patience()``
        seconds, then raise the last refusal.
        """
        deadline, pause = time.monotonic() + store_patience(), 0.5
        while True:
            try:
                self._write_unsaved()
                if self.model_file is not None:
                    self.store.save_model(self.id, self.model_file)
                self.store.save_run(self.record(), self.workspace)
                return
            except StoreBusy as error:
                if time.monotonic() + pause > deadline:
                    raise
                log.warning(
                    "run %s: %s refused its results (%s); again in %.1f s",
                    self.id,
                    self.store.where,
                    error,
                    pause,
                )
                time.sleep(pause)
                pause = min(2 * pause, MOST_PAUSE)

    def _keep_locally(self) -> Path:
        """The run as a bundle file (importable on Compare) in ``unsaved_folder()``, where the store
        refused it; its path.
        """
        folder = unsaved_folder()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"run-{self.id}.json"
        path.write_text(export_bundle([self.record()]), encoding="utf-8")
        return path

    # ---- the run itself ----------------------------------------------------------------------

    def run(self, steps_per_execution: int = 1) -> dict[str, Any]:
        """Train, evaluate and save the run, ``steps_per_execution`` batches per call into TensorFlow
        (``core.training.execution``); returns its record. Failures become its status.
        """
        if self._stop.is_set():
            self._finish(RunStatus.STOPPED, "stopped before it started")
            return self.record()
        self._update(status=RunStatus.RUNNING, started=time.time(), phase="training")
        self._persist()
        model = None
        # Python's full collections during the fit skip what was alive before it (TensorFlow's and
        # the worker's ~400,000 objects: about 0.25 s of each run's fit); the run's end collects all
        gc.freeze()
        try:
            keras.utils.set_random_seed(self.settings["seed"])
            with self.strategy.scope() if self.strategy else contextlib.nullcontext():
                model = build_model(self.spec, self.dataset.signature)
                compile_model(
                    model,
                    self.dataset.signature.task,
                    self.settings["optimizer"],
                    self.settings["learning_rate"],
                    self.settings["clipnorm"],
                    steps_per_execution,
                )
            progress = _Progress(self, len(self.dataset.train))
            callbacks: list[keras.callbacks.Callback] = [progress]
            if self.settings["patience"]:
                callbacks.append(
                    keras.callbacks.EarlyStopping(
                        monitor="val_loss", patience=self.settings["patience"], restore_best_weights=True
                    )
                )
            batch_size, seed = self.settings["batch_size"], self.settings["seed"]
            start = time.perf_counter()
            model.fit(
                batches(self.dataset.train, batch_size, shuffle_seed=seed),
                validation_data=batches(self.dataset.validation, batch_size),
                shuffle=False,  # the batches shuffle themselves, each epoch
                epochs=self.settings["epochs"],
                callbacks=callbacks,
                class_weight=self._class_weight(),
                verbose=0,
            )
            self._update(train_seconds=time.perf_counter() - start, phase="evaluating")
            self._publish(force=True)
            if progress.diverged_at:
                self._finish(
                    RunStatus.DIVERGED,
                    f"the loss became {progress.diverged_at}; "
                    "try a lower learning rate or a normalization layer",
                )
            else:
                metrics = evaluate(model, self.dataset, batch_size)
                self._update(metrics={**metrics, **memory_metrics(self.spec, self._state["history"])})
                self.model_file = model_bytes(model)
                if self._stop.is_set():
                    self._finish(
                        RunStatus.STOPPED, "stopped by request; the test metrics are those of the partial run"
                    )
                else:
                    self._finish(RunStatus.COMPLETED, "")
        except Exception as error:  # any failure inside Keras becomes a readable state, and a log line
            log.exception("training job %s failed", self.id)
            self._finish(RunStatus.FAILED, _one_sentence(error))
        finally:
            del model
            keras.backend.clear_session()
            gc.unfreeze()
            gc.collect()
        return self.record()

    def _class_weight(self) -> dict[int, float] | None:
        """Balanced class weights from the training labels, when the settings ask for them."""
        weighed = TASKS[self.dataset.signature.task].class_weights
        balanced = weighed and self.settings["class_weight"] == "balanced"
        return class_weights(self.dataset.train.y) if balanced else None

    def _finish(self, status: str, reason: str) -> None:
        """End the run and save it. When the store still refuses its results after waiting, the run is
        kept in a local file and ends as failed, with a sentence naming the file.
        """
        self._update(status=status, reason=reason, finished=time.time())
        if self.store is None:
            return
        try:
            self._save_results()
        except (StoreError, OSError, UserError) as error:
            try:
                kept = f"the run is kept in {self._keep_locally()} (import it on Compare)"
            except OSError as local:
                kept = f"nor could it be kept in a local file ({local.strerror})"
            failure = f"the results could not be saved to {self.store.where} ({error}); {kept}"
            log.warning("run %s: %s", self.id, failure)
            self._update(status=RunStatus.FAILED, reason=failure)
            try:
                self.store.save_run(self.record(), self.workspace)
            except (StoreError, UserError) as again:
                log.warning("run %s could not be marked failed in the store either: %s", self.id, again)


def store_patience() -> float:
    """Seconds a finished run waits for a store that refuses its results ($CNNRNN_STORE_PATIENCE,
    default five minutes).
    """
    return float(os.environ.get("CNNRNN_STORE_PATIENCE") or DEFAULT_PATIENCE)


def unsaved_folder() -> Path:
    """Where runs the store refused are kept ($CNNRNN_UNSAVED, default ~/.cache/cnn-vs-rnn/unsaved)."""
    given = os.environ.get("CNNRNN_UNSAVED")
    return Path(given) if given else Path.home() / ".cache" / "cnn-vs-rnn" / "unsaved"


class _Progress(keras.callbacks.Callback):
    """Publishes batch and epoch progress to the job, honours stop, and spots divergence.

    Keras calls its batch hook on a helper thread while the next batch runs (``async_safe``):
    reading the loss would otherwise wait for every step and slow small models by a fifth.
    """

    async_safe = True

    def __init__(self, job: TrainingJob, samples: int) -> None:
        super().__init__()
        self.job, self.samples = job, samples
        self.probe = GradientProbe(job.dataset.validation)  # gradients through time, each epoch
        self.diverged_at = ""
        self.batch_size = job.settings["batch_size"]
        self.validation_batches = math.ceil(len(job.dataset.validation) / self.batch_size)
        self.epoch = 0
        self.epoch_start = self.train_start = self.validation_start = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.train_start = time.perf_counter()
        self.job._update(batches=self.params.get("steps") or 0)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch_start = time.perf_counter()
        self.epoch = epoch
        self.job._update(epoch=epoch + 1, batch=0)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        steps = self.params.get("steps") or 1
        done = min(batch + 1, steps)  # a call of several batches may reach past the epoch's last
        loss = float((logs or {}).get("loss", 0.0))
        if not math.isfinite(loss):
            self.diverged_at = f"{loss} at epoch {self.epoch + 1}, by batch {done}"
            self.model.stop_training = True
        if self.job._stop.is_set():
            self.model.stop_training = True
        now = time.perf_counter()
        with self.job._lock:
            state = self.job._state
            if done <= state["batch"]:
                return  # hooks on the helper thread may finish out of order: keep the latest
            state.update(
                batch=done,
                batch_loss=loss,
                progress=(self.epoch + done / steps) / self.params.get("epochs", 1),
                fit_seconds=now - self.train_start,
                samples_per_second=done * self.batch_size / max(now - self.epoch_start, 1e-9),
            )
            if self.epoch == 0 and "first_batch_seconds" not in state:  # tracing: timed apart
                state.update(first_batch_seconds=now - self.train_start, first_call_batches=done)
        self.job._publish()

    def on_test_begin(self, logs: dict | None = None) -> None:
        self.validation_start = time.perf_counter()

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Times the first epoch's validation: its first batch traces the model, like training's."""
        if self.epoch > 0:
            return
        now = time.perf_counter()
        with self.job._lock:
            validation = self.job._state.setdefault("first_validation", {"batches": 0})
            done = min(batch + 1, self.validation_batches)
            validation["batches"] = max(validation["batches"], done)
            validation.setdefault("first_batch_seconds", now - self.validation_start)
            validation.setdefault("first_call_batches", done)
            validation["seconds"] = max(validation.get("seconds", 0.0), now - self.validation_start)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        seconds = now - self.epoch_start
        probed = self.probe.measure(self.model)
        ended = time.perf_counter() - self.train_start  # the probe included: the next epoch starts then
        entry = {
            "epoch": epoch + 1,
            **{k: float(v) for k, v in (logs or {}).items()},
            "seconds": seconds,
            "wall_seconds": now - self.train_start,
            "samples_per_second": self.samples / seconds if seconds else 0.0,
            **probed,
        }
        with self.job._lock:
            self.job._state["history"].append(entry)
            self.job._state.update(epochs_done=epoch + 1, last_epoch_end=ended)
            if epoch == 0:  # the first probe traces its gradient function: timed apart, like the model's
                self.job._state.update(
                    first_epoch_seconds=ended, first_probe_seconds=ended - entry["wall_seconds"]
                )
        self.job._persist(epoch=entry)
        self.job._publish(force=True)


def model_bytes(model: keras.Model) -> bytes:
    """The model in Keras' native ``.keras`` format (a zip of config and weights; no pickles)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return path.read_bytes()


def _one_sentence(error: Exception) -> str:
    first_line = (str(error).strip().splitlines() or [""])[0][:200]
    return f"training stopped with {error.__class__.__name__}: {first_line}".rstrip(": ")


def _description(dataset: Dataset) -> dict[str, Any]:
    """How a worker finds this dataset again: its id, settings and sample limit."""
    limit = {"limit": dataset.limit} if dataset.limit else {}
    return {"id": dataset.info.id, "settings": dataset.settings, **limit}
