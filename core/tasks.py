"""What each task asks of a model (loss, metrics) and the training settings, with defaults that suit the
task and the size of the data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import SpecError
from core.params import Param, check_values

if TYPE_CHECKING:
    from core.datasets import Dataset

LOSSES = {  # task -> (loss, metrics), as Keras names them
    "classification": ("sparse_categorical_crossentropy", ["accuracy"]),
    "language-model": ("sparse_categorical_crossentropy", ["accuracy"]),
    "forecasting": ("mse", ["mae"]),
}
OPTIMIZERS = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop"}
# small sets learn in more, smaller steps, stopped early once the validation loss stops improving
LONGER_TRAINING = {"epochs": 30, "batch_size": 32, "patience": 5}
TRAINING_DEFAULTS = {  # task -> training settings that differ from the general defaults
    "forecasting": {**LONGER_TRAINING, "batch_size": 16},  # series sets are all small
}
SMALL_TRAINING_SET = 2_000  # a classification set with fewer training samples trains longer

TRAIN_SETTINGS = (
    Param("epochs", "int", 5, "Passes over the training data.", 1, 200),
    Param("batch_size", "int", 64, "Samples per gradient step.", 1, 2048),
    Param("optimizer", "choice", "adam", "How the weights are updated.", choices=("adam", "sgd", "rmsprop")),
    Param("learning_rate", "float", 0.001, "Step size of the optimizer.", 1e-6, 1.0),
    Param(
        "patience",
        "int",
        0,
        "Stop after this many epochs without a better validation loss (0: never).",
        0,
        100,
    ),
    Param(
        "class_weight",
        "choice",
        "none",
        "Classification: 'balanced' makes every class weigh the same in the loss, however few its "
        "samples (for imbalanced classes); 'none' counts every sample alike.",
        choices=("none", "balanced"),
    ),
    Param("seed", "int", 42, "Seed for weights and shuffling: the same seed repeats a run.", 0, 2**31 - 1),
)


def training_defaults(task: str, samples: int | None = None) -> dict[str, Any]:
    """The training settings that differ from the general defaults for this task and, when ``samples``
    (the training split's size) is given, for a classification set that small.
    """
    if task == "classification" and samples is not None and samples < SMALL_TRAINING_SET:
        return LONGER_TRAINING
    return TRAINING_DEFAULTS.get(task, {})


def check_train_settings(
    given: Any, task: str = "classification", samples: int | None = None
) -> dict[str, Any]:
    """Training settings with the defaults of the task (and size) filled in, or SpecError naming each
    bad value.
    """
    if given is not None and not isinstance(given, dict):
        raise SpecError(["Training: its settings must be an object of names and values."])
    values, problems = check_values(TRAIN_SETTINGS, {**training_defaults(task, samples), **(given or {})})
    if problems:
        raise SpecError([f"Training: {p}." for p in problems])
    return values


def train_settings_for(dataset: Dataset, given: Any = None) -> dict[str, Any]:
    """Training settings for this dataset: those given, the rest the defaults that suit its task and size."""
    return check_train_settings(given, dataset.signature.task, len(dataset.train))


def class_weights(labels: np.ndarray) -> dict[int, float]:
    """Keras class weights under which every class of these training labels weighs the same:
    samples / (classes * samples of the class), over the classes present.
    """
    classes, counts = np.unique(labels, return_counts=True)
    return {int(c): len(labels) / (len(classes) * int(n)) for c, n in zip(classes, counts, strict=True)}
