"""Calibrations, measured in a worker: the model of a planned run fitted on a few batches of random
data shaped like the real data, timed batch by batch, with the peak memory it added. The estimates that
read these figures live in ``core.runs.estimates``.
"""

from __future__ import annotations

import functools
import gc
import itertools
import statistics
import time
from typing import Any

import keras
import numpy as np

from core.datasets.base import Split
from core.model.spec import ModelSpec
from core.runs.estimates import (
    CALIBRATION_BATCHES,
    CALIBRATION_EPOCHS,
    CALIBRATION_VALIDATION_BATCHES,
    MB,
)
from core.shapes import Signature
from core.tasks.registry import TASKS
from core.training.batches import batches
from core.training.builder import build_model, compile_model
from core.training.gradient_probe import GradientProbe
from core.training.peak_memory import peak_memory_above, reset_peak_memory

# ---- calibration (in a worker: it imports Keras) ------------------------------------------------


def random_data(signature: Signature, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets shaped and typed like the real data's (token ids, pixels or values, labels)."""
    shape = (count, *signature.input.dims)
    if signature.tokens:
        x = rng.integers(1, max(signature.vocab_size, 2), size=shape).astype("int32")
    else:
        x = rng.standard_normal(shape).astype("float32")
    task = TASKS[signature.task]
    targets = (count, *task.target_dims(signature))
    if task.targets == "values":
        y = rng.standard_normal(targets).astype("float32")
    else:
        y = rng.integers(0, signature.outputs, size=targets).astype("int32")
    return x, y


@functools.cache
def _warm_up() -> None:
    """Fit a one-unit model once per process: TensorFlow's first fit sets up thread pools and kernels
    (about 25 MB and a second), which would otherwise count as the first calibration's cost.
    """
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    zeros = Split(np.zeros((2, 1), "float32"), np.zeros((2, 1), "float32"))
    model.fit(batches(zeros, 2), validation_data=batches(zeros.head(1), 1), shuffle=False, verbose=0)
    keras.backend.clear_session()


def _intervals(marks: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(marks)]


def calibrate(request: dict[str, Any]) -> dict[str, Any]:
    """Fit the requested model on a few batches of random data in this process and time it: the
    seconds of a training step and of a validation batch (medians of the intervals between batches in
    the epochs after the first), the rest of an epoch (starting its passes), what the fit costs once
    beyond its epochs at that pace (tracing, setting up, the gradient probe), and the peak memory.
    """
    _warm_up()
    spec = ModelSpec.from_dict(request["model"])
    signature = Signature.from_dict(request["signature"])
    batch = request["batch_size"]
    rng = np.random.default_rng(0)
    train = Split(*random_data(signature, CALIBRATION_BATCHES * batch, rng))
    validation = Split(*random_data(signature, CALIBRATION_VALIDATION_BATCHES * batch, rng))
    probe = GradientProbe(validation)
    epochs: list[dict[str, Any]] = []

    class StepTimer(keras.callbacks.Callback):
        """Marks when each epoch and batch begins; reads each batch's loss on Keras' helper thread and
        probes gradients after each epoch, as a run's progress callback does.
        """

        async_safe = True

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            float((logs or {}).get("loss", 0.0))

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            epochs.append({"begin": time.perf_counter(), "train": [], "validation": []})

        def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
            epochs[-1]["train"].append(time.perf_counter())

        def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
            epochs[-1]["validation"].append(time.perf_counter())

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            epochs[-1]["end"] = time.perf_counter()
            probe.measure(self.model)

    baseline = reset_peak_memory()
    model = None
    try:
        keras.utils.set_random_seed(0)
        model = build_model(spec, signature)
        compile_model(
            model, signature.task, request["optimizer"], request["learning_rate"], request["clipnorm"]
        )
        start = time.perf_counter()
        model.fit(
            batches(train, batch, shuffle_seed=0),
            validation_data=batches(validation, batch),
            shuffle=False,  # the batches shuffle themselves, each epoch
            epochs=CALIBRATION_EPOCHS,
            callbacks=[StepTimer()],
            verbose=0,
        )
        fit_seconds = time.perf_counter() - start
        peak = peak_memory_above(baseline)
    finally:
        del model
        keras.backend.clear_session()
        gc.collect()
    timed = epochs[1:]
    step = statistics.median(i for epoch in timed for i in _intervals(epoch["train"]))
    validation_step = statistics.median(i for epoch in timed for i in _intervals(epoch["validation"]))
    steps = CALIBRATION_BATCHES * step + CALIBRATION_VALIDATION_BATCHES * validation_step
    epoch_seconds = statistics.median(epoch["end"] - epoch["begin"] for epoch in timed)
    return {
        "step_seconds": step,
        "validation_step_seconds": validation_step,
        "epoch_overhead_seconds": max(epoch_seconds - steps, 0.0),
        "once_seconds": max(fit_seconds - CALIBRATION_EPOCHS * epoch_seconds, 0.0),
        "peak_memory_mb": peak,
        "data_mb": sum(split.x.nbytes + split.y.nbytes for split in (train, validation)) / MB,
    }
