"""The training settings, with defaults that suit the task (``core.tasks.registry``) and the data's size."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import SpecError
from core.params import Param, check_values
from core.tasks.registry import TASKS

if TYPE_CHECKING:
    from core.datasets import Dataset

OPTIMIZERS = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop"}
SMALL_TRAINING_SET = 2_000  # a training split this small takes its task's small_set_training

TRAIN_SETTINGS = (
    Param("epochs", "int", 5, "Passes over the training data.", 1, 200),
    Param("batch_size", "int", 64, "Samples per gradient step.", 1, 2048),
    Param("optimizer", "choice", "adam", "How the weights are updated.", choices=("adam", "sgd", "rmsprop")),
    Param("learning_rate", "float", 0.001, "Step size of the optimizer.", 1e-6, 1.0),
    Param(
        "clipnorm",
        "float",
        0.0,
        "Gradient clipping: scale each weight's gradient down to at most this norm, against exploding "
        "gradients (0: off).",
        0.0,
        100.0,
    ),
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


def optimizer_arguments(learning_rate: float, clipnorm: float) -> dict[str, float]:
    """The optimizer's keyword arguments: the learning rate, and ``clipnorm`` where clipping is on."""
    return {"learning_rate": learning_rate, **({"clipnorm": clipnorm} if clipnorm else {})}


def training_defaults(task: str, samples: int | None = None) -> dict[str, Any]:
    """The training settings that differ from the general defaults for this task and, when ``samples``
    (the training split's size) is given, for a set that small (classification: longer training).
    """
    if samples is not None and samples < SMALL_TRAINING_SET and TASKS[task].small_set_training:
        return TASKS[task].small_set_training
    return TASKS[task].training


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
