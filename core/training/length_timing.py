"""Cost against sequence length, measured: one training step and one batched prediction timed per
model and length, in a worker or in the command line's own process. ``core.lab.length_cost`` plans the
points and reads the measurements.
"""

from __future__ import annotations

import functools
import gc
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from core.lab.length_cost import MAX_STEPS, MIN_SECONDS, MIN_STEPS, WARM_STEPS
from core.model.spec import ModelSpec
from core.shapes import Signature
from core.training.builder import build_model, compile_model
from core.training.calibration import random_data


def _median_seconds(step: Callable[[], Any]) -> float:
    """The median seconds of ``step`` after ``WARM_STEPS`` untimed calls: ``MIN_STEPS`` timed calls at
    least, more (up to ``MAX_STEPS``) until ``MIN_SECONDS`` have passed.
    """
    for _ in range(WARM_STEPS):
        step()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < MIN_STEPS or (len(times) < MAX_STEPS and time.perf_counter() - start < MIN_SECONDS):
        begun = time.perf_counter()
        step()
        times.append(time.perf_counter() - begun)
    return statistics.median(times)


def _device() -> str:
    gpus = keras.distribution.list_devices("gpu")
    return f"{len(gpus)} GPU{'s' if len(gpus) > 1 else ''}" if gpus else f"{os.cpu_count()} CPU cores"


def measure(request: dict[str, Any]) -> dict[str, Any]:
    """Build the requested model, then time a training step and a batched prediction on one batch of
    random input (after a warm-up each): seconds per sample of each, and the device they ran on.
    """
    spec = ModelSpec.from_dict(request["model"])
    signature = Signature.from_dict(request["signature"])
    batch = request["batch_size"]
    x, y = random_data(signature, batch, np.random.default_rng(0))
    keras.utils.set_random_seed(0)
    model = build_model(spec, signature)
    try:
        compile_model(model, signature.task, "adam", 1e-3)
        train = _median_seconds(functools.partial(model.train_on_batch, x, y))
        predict = _median_seconds(functools.partial(model.predict_on_batch, x))
    finally:
        del model
        keras.backend.clear_session()
        gc.collect()
    return {
        "train_seconds_per_sample": train / batch,
        "latency_seconds_per_sample": predict / batch,
        "device": _device(),
    }
