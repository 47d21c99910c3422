"""Sequence benchmarks that separate convolution from recurrence, generated from a seed (no files but the
built-in MNIST digits): the adding problem, copy memory, and MNIST read one pixel per time step.

- ``adding`` (regression): T steps of (a value uniform in [0, 1], a marker); exactly two steps are marked,
  one in each half, and the target is the sum of their values. A constant guess scores an MSE of about
  1/6, the variance of a sum of two uniform values.
- ``copy_memory`` (sequence labelling): ten symbols from 1-8, T - 1 blanks, a delimiter and ten blanks
  (T + 20 steps, as Arjovsky et al. 2016 set it); the labels are blanks but for the last ten steps, which
  repeat the ten symbols. A model that remembers nothing scores a loss of 10 ln 8 / (T + 20).
- ``seq_mnist`` and ``perm_mnist`` (classification): the built-in digits, downsampled to 14x14 or kept at
  28x28, read one pixel per time step; the second reads them in one fixed random order.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core import budget
from core.datasets.base import DATA_DIR, SEED, Dataset, DatasetInfo, Split, shuffled_splits
from core.params import Param, ParamValues
from core.shapes import SEQUENCE, TOKENS, Shape, Signature

SAMPLES = Param(
    "samples", "int", 10_000, "Sequences generated: 80% train, 10% validate, 10% test.", 100, 50_000
)
GENERATOR_SEED = Param(
    "seed", "int", 0, "Seed of the generator: the same seed makes the same sequences.", 0, 2**31 - 1
)
SIZES = {"14x14": 14, "28x28": 28}
MNIST_SETTINGS = (
    Param(
        "size",
        "choice",
        "14x14",
        "14x14: each digit averaged over 2x2 pixels, 196 steps (trains on a CPU); 28x28: all 784 pixels.",
        choices=tuple(SIZES),
    ),
    SEED,
)
SYMBOLS, BLANK, DELIMITER = 8, 0, 9  # copy memory: symbols 1-8, a blank and a delimiter
COPIED = 10  # symbols to remember
COPY_VOCABULARY = ["-", *(str(symbol) for symbol in range(1, SYMBOLS + 1)), ":"]
PERMUTATION_SEED = 0  # perm_mnist reads every digit in the same order, whatever the split's seed
PREVIEW_SAMPLES = 3
BUDGET_ADVICE = "Generate fewer samples or shorter sequences."


def generated_settings(length: int) -> tuple[Param, ...]:
    """Length T, number of samples and seed: the settings of a generated benchmark."""
    return (
        Param("length", "int", length, "Time steps T of each sequence.", 10, 2000),
        SAMPLES,
        GENERATOR_SEED,
    )


def _splits(x: np.ndarray, y: np.ndarray) -> tuple[Split, Split, Split]:
    """The first 80% to train, the next 10% to validate, the rest to test: generated samples are already
    in random order.
    """
    train, validation = int(len(x) * 0.8), int(len(x) * 0.9)
    return (
        Split(x[:train], y[:train]),
        Split(x[train:validation], y[train:validation]),
        Split(x[validation:], y[validation:]),
    )


def _preview(inputs: np.ndarray, channels: list[str], targets: list[str]) -> pd.DataFrame:
    """The first samples as long-form rows for the Data page: sample (and target), step, channel, value."""
    shown = inputs[:PREVIEW_SAMPLES].reshape(min(len(inputs), PREVIEW_SAMPLES), inputs.shape[1], -1)
    samples, steps, count = shown.shape
    return pd.DataFrame(
        {
            "sample": np.repeat([f"Sample {i + 1}: {targets[i]}" for i in range(samples)], steps * count),
            "step": np.tile(np.repeat(np.arange(steps), count), samples),
            "channel": np.tile(channels, samples * steps),
            "value": shown.ravel().astype(float),
        }
    )


def load_adding(info: DatasetInfo, settings: ParamValues) -> Dataset:
    """The adding problem: the sum of the two marked values of each sequence."""
    length, count = settings["length"], settings["samples"]
    budget.check_values(count, length * 2, BUDGET_ADVICE)
    rng = np.random.default_rng(settings["seed"])
    values = rng.uniform(0.0, 1.0, (count, length))
    half = length // 2
    marked = np.stack([rng.integers(0, half, count), rng.integers(half, length, count)], axis=1)
    markers = np.zeros((count, length))
    np.put_along_axis(markers, marked, 1.0, axis=1)
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    y = np.take_along_axis(values, marked, axis=1).sum(axis=1, keepdims=True).astype(np.float32)
    train, validation, test = _splits(x, y)
    return Dataset(
        info=info,
        settings=settings,
        signature=Signature(Shape(SEQUENCE, (length, 2)), "regression", 1),
        train=train,
        validation=validation,
        test=test,
        notes=[
            f"Each sequence marks one of its first {half} steps and one of its last {length - half}; the "
            "target is the sum of the two marked values. Always predicting the mean scores an MSE of "
            "about 1/6 (0.167)."
        ],
        preview={"samples": _preview(x, ["value", "marker"], [f"sum {v:.3f}" for v in y[:, 0]])},
    )


def load_copy_memory(info: DatasetInfo, settings: ParamValues) -> Dataset:
    """Copy memory: repeat the first ten symbols after T + 10 steps."""
    length, count = settings["length"], settings["samples"]
    steps = length + 2 * COPIED
    budget.check_values(count, steps, BUDGET_ADVICE)
    rng = np.random.default_rng(settings["seed"])
    symbols = rng.integers(1, SYMBOLS + 1, (count, COPIED))
    x = np.full((count, steps), BLANK, dtype=np.int32)
    x[:, :COPIED] = symbols
    x[:, length + COPIED - 1] = DELIMITER
    y = np.full((count, steps), BLANK, dtype=np.int32)
    y[:, -COPIED:] = symbols
    train, validation, test = _splits(x, y)
    baseline = COPIED * math.log(SYMBOLS) / steps
    return Dataset(
        info=info,
        settings=settings,
        signature=Signature(
            Shape(TOKENS, (steps,)), "sequence-labelling", len(COPY_VOCABULARY), len(COPY_VOCABULARY)
        ),
        train=train,
        validation=validation,
        test=test,
        vocabulary=COPY_VOCABULARY,
        notes=[
            f"Ten symbols (1-8), {length - 1} blanks (-), a delimiter (:) and ten blanks: {steps} steps. The "
            "model must output blanks, then the ten symbols over the last ten steps; accuracy counts those. "
            f"Remembering nothing scores a loss of 10 ln 8 / {steps} = {baseline:.4f}."
        ],
        preview={
            "samples": _preview(x, ["symbol"], ["copy " + "".join(map(str, row)) for row in symbols]),
            "texts": ["".join(COPY_VOCABULARY[i] for i in row) for row in x[:PREVIEW_SAMPLES]],
        },
        scored_steps=(steps - COPIED, steps),
    )


def _mnist(info: DatasetInfo, settings: ParamValues, order: np.ndarray | None) -> Dataset:
    """The built-in digits as sequences of pixels, read in ``order`` (None: row by row)."""
    side = SIZES[settings["size"]]
    with np.load(DATA_DIR / "mnist_5k.npz") as archive:
        pixels, labels = archive["x"].astype(np.float32) / 255.0, archive["y"].astype(np.int32)
    if side < pixels.shape[1]:
        factor = pixels.shape[1] // side
        pixels = pixels.reshape(len(pixels), side, factor, side, factor).mean(axis=(2, 4))
    steps = side * side
    budget.check_values(len(pixels), steps, BUDGET_ADVICE)
    x = pixels.reshape(len(pixels), steps, 1)
    inverse = np.arange(steps)
    if order is not None:
        x, inverse = x[:, order], np.argsort(order)
    train, validation, test = shuffled_splits(len(x), settings["seed"])
    names = [str(digit) for digit in range(10)]
    return Dataset(
        info=info,
        settings=settings,
        signature=Signature(Shape(SEQUENCE, (steps, 1)), "classification", len(names)),
        train=Split(x[train], labels[train]),
        validation=Split(x[validation], labels[validation]),
        test=Split(x[test], labels[test]),
        class_names=names,
        notes=[f"Each {side}x{side} digit is read one pixel per time step: {steps} steps."],
        preview={
            "samples": _preview(
                x[train], ["pixel"], [f"digit {names[y]}" for y in labels[train][:PREVIEW_SAMPLES]]
            )
        },
        as_image=lambda sample: sample[inverse].reshape(side, side, 1),
    )


def load_seq_mnist(info: DatasetInfo, settings: ParamValues) -> Dataset:
    return _mnist(info, settings, None)


def load_perm_mnist(info: DatasetInfo, settings: ParamValues) -> Dataset:
    steps = SIZES[settings["size"]] ** 2
    return _mnist(info, settings, np.random.default_rng(PERMUTATION_SEED).permutation(steps))
