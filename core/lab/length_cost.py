"""Cost against sequence length: for given model specs, training samples per second and inference latency
per sample at T = 32 ... 1024, on random input of the data's width, and the slope of each on log-log axes.

Each model and length is one measurement, requested through the run store's calibrations table
(``RunStore.request_calibrations``) and made by a worker (``measure``): the model is built for inputs of T
steps, run on a few batches first (tracing), then timed batch by batch, the median kept. Results are
kept in the store by model, input shape and batch size, so a measurement is made once. Budgets are
checked before anything is requested: a length, a model or a length too costly for a model is refused
with one sentence. How long the measurements will take is estimated beforehand from the Train page's
calibration of each model at the data's own length (``seconds``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core import budget
from core.errors import SpecError, UserError
from core.inputs import shown
from core.model.spec import ModelSpec
from core.runs import estimates
from core.runs.record import WorkStatus
from core.shapes import SEQUENCE, TOKENS, Shape, Signature
from core.tasks.settings import check_train_settings

KIND = "length_cost"  # marks a calibration request as a cost-against-length measurement
LENGTHS = (32, 64, 128, 256, 512, 1024)
MOST_LENGTH = 4096
MOST_LENGTHS = 12
MOST_MODELS = 8
MOST_MULTIPLY_ADDS = 500_000_000  # of one sample's forward pass at one length
BATCH = 32
WARM_STEPS = 2  # batches run before timing: the first traces the model
MIN_STEPS, MAX_STEPS, MIN_SECONDS = 3, 20, 0.5  # timed batches: at least 3, more while under 0.5 s
GROWTH = (
    (0.2, "hardly grows with T"),
    (0.8, "grows more slowly than T"),
    (1.2, "grows about linearly with T"),
)
FASTER = "grows faster than T"


@dataclass(frozen=True)
class Point:
    """One model at one length: what a worker is asked to measure, and the key it is kept under."""

    model: str
    family: str
    length: int
    key: str
    request: dict[str, Any]


def signature_at(signature: Signature, length: int) -> Signature:
    """The same data with sequences of ``length`` steps: same width, task and outputs."""
    if signature.input.axes not in (SEQUENCE, TOKENS):
        raise UserError(
            "Cost against sequence length needs data read as a sequence of steps, not "
            f"{signature.input.layout}."
        )
    shape = Shape(signature.input.axes, (length, *signature.input.dims[1:]))
    return Signature(shape, signature.task, signature.outputs, signature.vocab_size)


def read_lengths(text: str) -> tuple[int, ...]:
    """Lengths written as ``32,64,128``, or one sentence."""
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isascii() and part.isdigit() and len(part) <= 6 for part in parts):
        raise UserError(
            f"Lengths must be whole numbers separated by commas, such as 32,64,128, not {shown(text)}."
        )
    return check_lengths(tuple(int(part) for part in parts))


def check_lengths(lengths: tuple[int, ...]) -> tuple[int, ...]:
    """Two or more distinct lengths from 2 to ``MOST_LENGTH`` (at most ``MOST_LENGTHS``), sorted."""
    budget.check(len(lengths), MOST_LENGTHS, "lengths to measure", "Give fewer lengths.")
    if len(set(lengths)) < 2 or not all(2 <= length <= MOST_LENGTH for length in lengths):
        raise UserError(
            f"A slope needs two or more distinct lengths from 2 to {MOST_LENGTH:,}, "
            f"not {shown(list(lengths))}."
        )
    return tuple(sorted(set(lengths)))


def plan(
    specs: dict[str, ModelSpec], signature: Signature, lengths: tuple[int, ...] = LENGTHS
) -> list[Point]:
    """Every model at every length, each checked as a worker will build it and against the budget before
    anything is requested; a model that does not fit a length, or costs too much at it, is one sentence.
    """
    budget.check(len(specs), MOST_MODELS, "models to measure", "Pick fewer models.")
    if not specs:
        raise UserError("Pick at least one model to measure.")
    points = []
    for name, spec in specs.items():
        for length in check_lengths(lengths):
            at = signature_at(signature, length)
            try:
                multiply_adds, _ = estimates.workload(spec, at)
            except SpecError as error:
                raise UserError(f"{name} cannot be measured at T = {length}: {error.problems[0]}") from None
            budget.check(
                multiply_adds,
                MOST_MULTIPLY_ADDS,
                f"multiply-adds per sample for {name} at T = {length}",
                "Measure shorter lengths or a smaller model.",
            )
            request = {
                "kind": KIND,
                "model": {"name": spec.name, "layers": spec.to_dict()["layers"]},
                "signature": at.to_dict(),
                "batch_size": BATCH,
            }
            points.append(Point(name, spec.family, length, _key(request), request))
    return points


def _key(request: dict[str, Any]) -> str:
    """The store key of a measurement: its kind, layers, input shape and batch size (not the name)."""
    measured = {key: request[key] for key in ("kind", "signature", "batch_size")}
    canonical = json.dumps({**measured, "layers": request["model"]["layers"]}, sort_keys=True)
    return f"{KIND}:{hashlib.sha256(canonical.encode()).hexdigest()[:16]}"


def requests(points: list[Point]) -> dict[str, dict[str, Any]]:
    """The calibration requests of these points, by key."""
    return {point.key: point.request for point in points}


def is_measurement(request: dict[str, Any]) -> bool:
    """Whether a calibration request asks for a cost-against-length measurement."""
    return request.get("kind") == KIND


# ---- how long the measurements will take -----------------------------------------------------------


def _calibration(point: Point, signature: Signature) -> dict[str, Any]:
    """The Train page's calibration of the point's model on the data at its own length, in batches of
    ``BATCH`` (``estimates.calibration_request``).
    """
    settings = {**check_train_settings(None, signature.task), "batch_size": BATCH}
    return estimates.calibration_request(ModelSpec.from_dict(point.request["model"]), signature, settings)


def calibration_requests(points: list[Point], signature: Signature) -> dict[str, dict[str, Any]]:
    """The calibrations that estimate how long measuring these points takes, by key."""
    requests = (_calibration(point, signature) for point in points)
    return {estimates.cost_key(request): request for request in requests}


def _timed_seconds(step: float) -> float:
    """Seconds ``length_timing`` spends on a step of ``step`` seconds: the warm-up, then timed steps
    until ``MIN_SECONDS`` have passed (at least ``MIN_STEPS``, at most ``MAX_STEPS``).
    """
    return WARM_STEPS * step + max(MIN_STEPS * step, min(MAX_STEPS * step, MIN_SECONDS))


def seconds(
    points: list[Point],
    signature: Signature,
    calibrations: dict[str, dict[str, Any]],
    measurements: dict[str, dict[str, Any]],
) -> float | None:
    """The estimated seconds of measuring the points not measured yet (``measurements``): per point the
    model's tracing and a training step's seconds from its calibration (``calibrations``: the store's, of
    ``calibration_requests``), the step scaled in proportion to the length, and a prediction a third of
    a step; None where a model has no calibration.
    """
    total = 0.0
    for point in points:
        if measurements.get(point.key, {}).get("status") == WorkStatus.DONE:
            continue
        found = calibrations.get(estimates.cost_key(_calibration(point, signature))) or {}
        if not found.get("result"):
            return None
        step = found["result"]["step_seconds"] * point.length / signature.input.dims[0]
        total += (
            found["result"]["once_seconds"]
            + _timed_seconds(step)
            + _timed_seconds(estimates.FORWARD_SHARE * step)
        )
    return total


def about(duration: float) -> str:
    """Seconds as rough as an estimate: "about 40 seconds", "about 6 minutes", "about 1.5 hours"."""
    if duration < 90:
        return f"about {max(round(duration, -1), 10):.0f} seconds"
    if duration < 90 * 60:
        return f"about {round(duration / 60):.0f} minutes"
    return f"about {duration / 3600:.2g} hours"


# ---- reading the measurements ----------------------------------------------------------------------


COLUMNS = ["model", "family", "length", "status", "reason", "samples_per_second", "train_ms", "latency_ms"]
UNMEASURED = {"status": WorkStatus.QUEUED, "reason": "", "result": None}


@dataclass(frozen=True)
class Measured:
    """The measurements of some points: a row per model and length with the measurement's status and,
    once done, training samples per second and milliseconds per sample of training and of inference;
    and the device they ran on.
    """

    frame: pd.DataFrame
    device: str | None

    @classmethod
    def of(cls, points: list[Point], calibrations: dict[str, dict[str, Any]]) -> Measured:
        """From the store's calibrations (``RunStore.calibrations``) of these points."""
        rows, device = [], None
        for point in points:
            found = calibrations.get(point.key, UNMEASURED)
            result = found["result"] if found["status"] == WorkStatus.DONE else None
            train = result["train_seconds_per_sample"] if result else None
            device = device or (result and result["device"])
            rows.append(
                {
                    "model": point.model,
                    "family": point.family,
                    "length": point.length,
                    "status": found["status"],
                    "reason": found["reason"],
                    "samples_per_second": 1 / train if train else None,
                    "train_ms": 1000 * train if train else None,
                    "latency_ms": 1000 * result["latency_seconds_per_sample"] if result else None,
                }
            )
        return cls(pd.DataFrame(rows, columns=COLUMNS), device)

    def slopes(self) -> pd.DataFrame:
        """Per model with two or more measured lengths: the log-log slope of training and of inference
        time per sample against T.
        """
        rows = []
        done = self.frame.dropna(subset=["train_ms", "latency_ms"])
        for model, group in done.groupby("model", sort=False):
            if group["length"].nunique() >= 2:
                rows.append(
                    {
                        "model": model,
                        "family": group["family"].iloc[0],
                        "train_slope": slope(group["length"], group["train_ms"]),
                        "latency_slope": slope(group["length"], group["latency_ms"]),
                    }
                )
        return pd.DataFrame(rows, columns=["model", "family", "train_slope", "latency_slope"])

    def sentence(self) -> str:
        """What the measurements show, in words: how each model's cost grows with T, how far apart the
        fastest and slowest are at the longest length, and why, where recurrent and convolutional
        models are compared ("" before any model has two lengths measured).
        """
        fitted = self.slopes()
        if fitted.empty:
            return ""
        parts = [
            _growth_sentence("Training time per sample", fitted, "train_slope"),
            _growth_sentence("Inference time per sample", fitted, "latency_slope"),
        ]
        done = self.frame.dropna(subset=["samples_per_second"])
        longest = done[done["length"] == done["length"].max()]
        if longest["model"].nunique() >= 2:
            fastest = longest.loc[longest["samples_per_second"].idxmax()]
            slowest = longest.loc[longest["samples_per_second"].idxmin()]
            ratio = fastest["samples_per_second"] / slowest["samples_per_second"]
            parts.append(
                f"At T = {int(fastest['length']):,}, {fastest['model']} trains {ratio:.1f} times as many "
                f"samples per second as {slowest['model']}."
            )
        families = set(fitted["family"])
        if "rnn" in families and families & {"cnn", "hybrid"}:
            parts.append(
                "A recurrent layer takes its T steps one after another, so more parallel hardware cannot "
                "shorten them; a convolution computes every step at once, so more cores or a GPU spread "
                "its work."
            )
        if self.device:
            parts.append(f"Measured on {self.device}.")
        return " ".join(parts)

    def lines(self) -> list[str]:
        """The measurements, slopes and sentence as text for a terminal."""
        lines = []
        for row in self.frame.itertuples():
            if row.status == WorkStatus.DONE:
                lines.append(
                    f"{row.model:<26} T {row.length:>5}  {row.samples_per_second:>10,.0f} samples/s  "
                    f"latency {row.latency_ms:.4f} ms / sample"
                )
            else:
                lines.append(f"{row.model:<26} T {row.length:>5}  not measured: {row.reason or row.status}")
        for row in self.slopes().itertuples():
            slopes = f"training {row.train_slope:.2f}, inference {row.latency_slope:.2f}"
            lines.append(f"log-log slope of {row.model}: {slopes}")
        return [*lines, self.sentence()]


def slope(lengths: pd.Series, values: pd.Series) -> float:
    """The least-squares slope of log(values) against log(lengths): the power of T a cost grows as."""
    return float(np.polyfit(np.log(lengths.astype(float)), np.log(values.astype(float)), 1)[0])


def growth(value: float) -> str:
    """A slope in words: how a cost grows with T."""
    return next((words for limit, words in GROWTH if value < limit), FASTER)


def _growth_sentence(what: str, fitted: pd.DataFrame, column: str) -> str:
    """``what`` grows ... for A (slope 0.98) and B (slope 1.01); ... for C (slope 0.45)."""
    groups: dict[str, list[str]] = {}
    for row in fitted.itertuples():
        value = getattr(row, column)
        groups.setdefault(growth(value), []).append(f"{row.model} (slope {value:.2f})")
    clauses = [f"{words} for {_listed(models)}" for words, models in groups.items()]
    return f"{what} {'; '.join(clauses)}."


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
