"""What each task asks of a model (loss, metrics) and the training settings, with their defaults."""

from __future__ import annotations

from typing import Any

from core.errors import SpecError
from core.params import Param, check_values

LOSSES = {  # task -> (loss, metrics), as Keras names them
    "classification": ("sparse_categorical_crossentropy", ["accuracy"]),
    "language-model": ("sparse_categorical_crossentropy", ["accuracy"]),
    "forecasting": ("mse", ["mae"]),
}
OPTIMIZERS = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop"}
TRAINING_DEFAULTS = {  # task -> training settings that differ from the general defaults
    # series sets are small: more, smaller steps, and early stopping on the validation loss
    "forecasting": {"epochs": 30, "batch_size": 16, "patience": 5},
}

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
    Param("seed", "int", 42, "Seed for weights and shuffling: the same seed repeats a run.", 0, 2**31 - 1),
)


def check_train_settings(given: Any, task: str = "classification") -> dict[str, Any]:
    """Training settings with the task's defaults filled in, or SpecError naming each bad value."""
    if given is not None and not isinstance(given, dict):
        raise SpecError(["Training: its settings must be an object of names and values."])
    values, problems = check_values(TRAIN_SETTINGS, {**TRAINING_DEFAULTS.get(task, {}), **(given or {})})
    if problems:
        raise SpecError([f"Training: {p}." for p in problems])
    return values
