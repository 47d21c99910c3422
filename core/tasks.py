"""What each task asks of a model: loss, metrics, and the optimizers on offer."""

from __future__ import annotations

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
