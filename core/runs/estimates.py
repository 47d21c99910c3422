"""What a run will cost before it is trained: seconds per epoch, total seconds and peak memory.

Two sources, each plain JSON-able data:

- **calibration** — a worker builds the model and fits it on a few batches of random data shaped like
  the real data, doing a run's work beside each batch and epoch (``core.training.calibration``): the
  first epoch traces the model and is timed apart; the later ones give the seconds of a training step, of a
  validation batch and of the rest of an epoch. Cached in the run store per model, data shape, batch
  size, optimizer and gradient clipping (``cost_key``).
- **history** — a least-squares fit on earlier completed runs in the store (``HistoryModel``): an
  epoch's seconds as a non-negative mix of a constant (starting its passes), its steps (dispatch), its
  steps times the recurrent time steps each runs one after another, and its samples times the
  model's multiply-adds per sample, counted from the shape trace (``workload``).

Each estimate keeps what both sources said (``candidates``) and the figures it was made from
(``basis``), so that later estimates use whichever source has been closer on earlier runs.

Peak memory is measured, not computed: on Linux, freed heap is handed back (``malloc_trim``), the
process's resident high-water mark (``VmHWM``) is reset through ``/proc/self/clear_refs``, and the
peak is read back as the memory the work added above what the process held before — the model, its
optimizer state, gradients, activations, traced graphs, and a tensor copy of the data. A calibration's
peak is then corrected from its random batches to the real data's bytes. Elsewhere it is not measured.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import statistics
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import SpecError
from core.model.layers import KINDS
from core.model.spec import ModelSpec
from core.model.trace import validate
from core.runs.record import PENDING, WorkStatus
from core.shapes import Signature
from core.tasks.registry import TASKS

CALIBRATION_BATCHES = 10  # training steps in each epoch of a calibration
CALIBRATION_VALIDATION_BATCHES = 5
CALIBRATION_EPOCHS = 4  # the first traces the model and is timed apart; the median of the rest is kept
FORWARD_SHARE = 1 / 3  # a validation sample costs about a third of a training one: no backward pass
MIN_HISTORY_RUNS = 4  # fewer runs fit no history model (it has four weights)
MIN_TRACK_RECORD = 3  # runs on which both sources must have been tried before history can be preferred
SOURCES = ("calibration", "history")
SOURCE_WORDS = {"calibration": "a calibration", "history": "earlier runs"}
VALUE_BYTES = 4  # inputs and targets are int32 or float32
MB = 2**20
CALIBRATION_VERSION = 2  # 2: runs are fed core.training.batches; calibrations before timed Keras' own


# ---- what a calibration measures, and its cache key ---------------------------------------------


def calibration_request(spec: ModelSpec, signature: Signature, settings: dict[str, Any]) -> dict[str, Any]:
    """What a worker needs to calibrate this model on data of this shape with these training settings;
    checked as a worker will build it (SpecError names every problem).
    """
    validate(spec, signature)
    return {
        "model": {"name": spec.name, "layers": spec.to_dict()["layers"]},
        "signature": signature.to_dict(),
        "batch_size": settings["batch_size"],
        "optimizer": settings["optimizer"],
        "learning_rate": settings["learning_rate"],
        "clipnorm": settings["clipnorm"],
    }


def cost_key(request: dict[str, Any]) -> str:
    """The cache key of a calibration: the layers, the data shape, the batch size, the optimizer and
    whether gradients are clipped (the model's name and the learning rate change nothing it measures),
    and how runs are fed (``CALIBRATION_VERSION``).
    """
    measured = {key: request[key] for key in ("signature", "batch_size", "optimizer")}
    measured["clipped"] = bool(request["clipnorm"])
    measured["version"] = CALIBRATION_VERSION
    canonical = json.dumps({**measured, "layers": request["model"]["layers"]}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def workload(spec: ModelSpec, signature: Signature) -> tuple[int, int]:
    """Multiply-adds of one sample's forward pass, and the recurrent time steps a batch runs one after
    another, counted from the shape trace: a layer's weights times the positions they are applied at
    (a recurrent layer's at every input time step), plus one operation per output value.
    """
    multiply_adds = sequential = 0
    rows = validate(spec, signature).rows
    for before, row in itertools.pairwise(rows):
        kind = KINDS.get(row.kind or row.call.cls)
        category = kind.category if kind else "reshape"
        if category == "recurrent":
            steps = before.shape.dims[0]
            multiply_adds += row.params * steps
            sequential += steps * (2 if kind.name == "Bidirectional" else 1)
        elif category != "embedding":
            multiply_adds += row.params * (row.shape.size // row.shape.last)
        multiply_adds += row.shape.size
    return multiply_adds, sequential


# ---- the estimate ------------------------------------------------------------------------------


def _steps(samples: int, batch_size: int) -> int:
    return math.ceil(samples / batch_size)


def steady_epoch_seconds(epoch_seconds: list[float]) -> float | None:
    """An epoch's seconds once the model is traced: the median of the epochs after the first (None for
    fewer than two epochs, whose only epoch includes the tracing).
    """
    return statistics.median(epoch_seconds[1:]) if len(epoch_seconds) >= 2 else None


def _features(basis: dict[str, Any]) -> list[float]:
    """What an epoch's seconds are fitted on: one (starting its passes), its steps, its steps times the
    recurrent time steps, its samples times the multiply-adds of each.
    """
    batch = basis["batch_size"]
    steps = _steps(basis["train_samples"], batch)
    validation_steps = _steps(basis["validation_samples"], batch)
    forward = FORWARD_SHARE * validation_steps
    samples = basis["train_samples"] + FORWARD_SHARE * basis["validation_samples"]
    return [
        1.0,
        steps + validation_steps,
        (steps + forward) * basis["sequential_steps"],
        samples * basis["multiply_adds"],
    ]


@dataclass(frozen=True)
class HistoryModel:
    """An epoch's seconds as a non-negative mix of ``_features``, fitted on earlier completed runs for
    the smallest relative errors, and the median seconds a run cost once beyond its epochs at their
    steady pace (tracing, setting up).
    """

    weights: tuple[float, ...]
    once_seconds: float
    runs: int

    @classmethod
    def fit(cls, history: list[dict[str, Any]]) -> HistoryModel | None:
        """Fitted on ``history`` (``RunStore.cost_history``: the estimate, epoch seconds and training
        seconds of each run); None with fewer than ``MIN_HISTORY_RUNS`` runs of two epochs or more.
        """
        usable = [
            (run["estimate"]["basis"], steady, run["train_seconds"] - len(run["epoch_seconds"]) * steady)
            for run in history
            if (run.get("estimate") or {}).get("basis")
            and (steady := steady_epoch_seconds(run["epoch_seconds"]))
        ]
        if len(usable) < MIN_HISTORY_RUNS:
            return None
        rows = np.array([[value / steady for value in _features(basis)] for basis, steady, _ in usable])
        weights = non_negative_least_squares(rows, np.ones(len(usable)))
        once = statistics.median(max(extra, 0.0) for _, _, extra in usable)
        return cls(tuple(float(w) for w in weights), once, len(usable))

    def epoch_seconds(self, basis: dict[str, Any]) -> float | None:
        seconds = float(np.dot(self.weights, _features(basis)))
        return seconds if seconds > 0 else None


def non_negative_least_squares(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The x >= 0 that minimises |a x - b|, for a few columns: the best of the least-squares solutions
    on each subset of columns that come out non-negative (the optimum is one of them). scipy's ``nnls``
    would do it too, but importing it adds about 38 MB to the web process, which shows estimates.
    """
    scale = np.linalg.norm(a, axis=0)
    scale[scale == 0] = 1.0
    a = a / scale  # columns of one size: the features span a dozen orders of magnitude
    best, residual = np.zeros(a.shape[1]), float(np.sum(b**2))
    for size in range(1, a.shape[1] + 1):
        for columns in itertools.combinations(range(a.shape[1]), size):
            solution = np.linalg.lstsq(a[:, columns], b, rcond=None)[0]
            if (solution < 0).any():
                continue
            candidate = np.zeros(a.shape[1])
            candidate[list(columns)] = solution
            if (error := float(np.sum((a @ candidate - b) ** 2))) < residual:
                best, residual = candidate, error
    return best / scale


def calibrated_epoch_seconds(calibration: dict[str, Any], basis: dict[str, Any]) -> float:
    batch = basis["batch_size"]
    return (
        _steps(basis["train_samples"], batch) * calibration["step_seconds"]
        + _steps(basis["validation_samples"], batch) * calibration["validation_step_seconds"]
        + calibration["epoch_overhead_seconds"]
    )


def track_record(history: list[dict[str, Any]]) -> dict[str, float]:
    """For each source, the median |log(estimate / actual)| of an epoch's seconds over the earlier runs
    where both sources gave one; empty with fewer than ``MIN_TRACK_RECORD`` such runs.
    """
    errors: dict[str, list[float]] = {source: [] for source in SOURCES}
    for run in history:
        candidates = (run.get("estimate") or {}).get("candidates") or {}
        steady = steady_epoch_seconds(run["epoch_seconds"])
        if steady and all(candidates.get(source) for source in SOURCES):
            for source in SOURCES:
                errors[source].append(abs(math.log(candidates[source] / steady)))
    if len(errors[SOURCES[0]]) < MIN_TRACK_RECORD:
        return {}
    return {source: statistics.median(values) for source, values in errors.items()}


def _closer(candidates: dict[str, float], history: list[dict[str, Any]]) -> str | None:
    """The source to trust: the one closer on earlier runs, calibration while that is unknown."""
    if len(candidates) < 2:
        return next(iter(candidates), None)
    record = track_record(history)
    return "history" if record and record["history"] < record["calibration"] else "calibration"


def data_mb(signature: Signature, samples: int) -> float:
    """MB of this many samples' inputs and targets, as the model reads them (int32 or float32)."""
    targets = math.prod(TASKS[signature.task].target_dims(signature))
    return samples * (signature.input.size + targets) * VALUE_BYTES / MB


def estimate(
    spec: ModelSpec,
    signature: Signature,
    settings: dict[str, Any],
    sizes: tuple[int, int],
    calibration: dict[str, Any] | None,
    history: list[dict[str, Any]],
) -> dict[str, Any]:
    """The cost of training ``spec`` on data of ``signature`` with ``sizes`` (training and validation
    samples) and these settings, from a calibration's result and the store's cost history.

    Seconds are None when neither source has anything yet; ``total_seconds`` is for every epoch (early
    stopping can end sooner) plus what a run costs once (tracing); peak memory comes from a calibration.
    """
    multiply_adds, sequential = workload(spec, signature)
    basis = {
        "multiply_adds": multiply_adds,
        "sequential_steps": sequential,
        "train_samples": sizes[0],
        "validation_samples": sizes[1],
        "batch_size": settings["batch_size"],
        "epochs": settings["epochs"],
    }
    candidates: dict[str, float] = {}
    once = {}  # seconds a run costs once beyond its epochs, by source
    if calibration is not None:
        candidates["calibration"] = calibrated_epoch_seconds(calibration, basis)
        once["calibration"] = calibration["once_seconds"]
    fitted = HistoryModel.fit(history)
    if fitted is not None and (seconds := fitted.epoch_seconds(basis)) is not None:
        candidates["history"] = seconds
        once["history"] = fitted.once_seconds
    source = _closer(candidates, history)
    per_epoch = candidates.get(source) if source else None
    memory = None
    if calibration is not None and calibration["peak_memory_mb"] is not None:
        real = data_mb(signature, sum(sizes))
        memory = max(calibration["peak_memory_mb"] - calibration["data_mb"] + real, 0.0)
    return {
        "source": source,
        "seconds_per_epoch": per_epoch,
        "total_seconds": None if per_epoch is None else per_epoch * basis["epochs"] + once[source],
        "peak_memory_mb": memory,
        "candidates": candidates,
        "basis": basis,
    }


# ---- estimate beside actual -------------------------------------------------------------------


def actual_cost(record: dict[str, Any]) -> dict[str, float | None]:
    """What a finished run cost: steady seconds per epoch, training seconds, measured peak memory."""
    epochs = [entry["seconds"] for entry in record.get("history") or []]
    return {
        "seconds_per_epoch": steady_epoch_seconds(epochs),
        "total_seconds": record.get("train_seconds"),
        "peak_memory_mb": (record.get("estimate") or {}).get("measured_peak_memory_mb"),
    }


def _cost_text(seconds_per_epoch: float | None, total: float | None, memory: float | None) -> str:
    parts = [
        f"{seconds_per_epoch:.3g} s / epoch" if seconds_per_epoch is not None else "",
        f"{total:.3g} s in all" if total is not None else "",
        f"{memory:.0f} MB peak" if memory is not None else "",
    ]
    return ", ".join(part for part in parts if part)


def cost_line(record: dict[str, Any]) -> str | None:
    """The run's estimate beside what it cost, in words (None for a run trained without an estimate)."""
    made = record.get("estimate") or {}
    if made.get("source") is None:
        return None
    actual = actual_cost(record)
    estimated = _cost_text(made["seconds_per_epoch"], made["total_seconds"], made["peak_memory_mb"])
    measured = _cost_text(actual["seconds_per_epoch"], actual["total_seconds"], actual["peak_memory_mb"])
    ratio = ""
    if actual["seconds_per_epoch"]:
        ratio = f" ({made['seconds_per_epoch'] / actual['seconds_per_epoch']:.2f}x the actual pace)"
    source = SOURCE_WORDS[made["source"]]
    return f"Estimated before training from {source}: {estimated}{ratio}; actual: {measured}."


# ---- the Train page's table -------------------------------------------------------------------


def calibration_requests(
    specs: dict[str, ModelSpec], signature: Signature, settings: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The calibrations these models need, by key (models that do not fit the data need none)."""
    requests = {}
    for spec in specs.values():
        with contextlib.suppress(SpecError):
            request = calibration_request(spec, signature, settings)
            requests[cost_key(request)] = request
    return requests


def measuring(calibrations: dict[str, dict[str, Any]]) -> bool:
    """Whether any of these calibrations (``RunStore.calibrations``) waits for or is with a worker."""
    return any(calibration["status"] in PENDING for calibration in calibrations.values())


def _rounded(value: float | None) -> str:
    """Two significant digits, as an estimate deserves: 0.59, 2.4, 35, 1,200."""
    return "–" if value is None else f"{float(f'{value:.2g}'):,g}"


def estimate_rows(
    specs: dict[str, ModelSpec],
    signature: Signature,
    settings: dict[str, Any],
    sizes: tuple[int, int],
    calibrations: dict[str, dict[str, Any]],
    history: list[dict[str, Any]],
) -> tuple[list[dict[str, str]], list[str]]:
    """A row per model of its estimated cost ("measuring…" while its calibration is pending), and a
    sentence for each model that could not be measured.
    """
    rows, notes = [], []
    columns = ("s / epoch", f"Total s ({settings['epochs']} epochs)", "Peak memory MB")
    for name, spec in specs.items():
        try:
            key = cost_key(calibration_request(spec, signature, settings))
        except SpecError as error:
            rows.append({"Model": name, **dict.fromkeys(columns, "–"), "From": "does not fit the data"})
            notes.append(f"{name}: {error.problems[0]}")
            continue
        calibration = calibrations.get(key, {"status": WorkStatus.QUEUED})
        if calibration["status"] in PENDING:
            rows.append(
                {"Model": name, **dict.fromkeys(columns, "measuring…"), "From": SOURCE_WORDS["calibration"]}
            )
            continue
        if calibration["status"] == WorkStatus.FAILED:
            notes.append(f"{name}: {calibration['reason']}")
        made = estimate(spec, signature, settings, sizes, calibration["result"], history)
        values = (made["seconds_per_epoch"], made["total_seconds"], made["peak_memory_mb"])
        cells = dict(zip(columns, map(_rounded, values), strict=True))
        rows.append({"Model": name, **cells, "From": SOURCE_WORDS.get(made["source"], "nothing yet")})
    return rows, notes
