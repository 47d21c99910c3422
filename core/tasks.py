"""What each task asks of a model: loss, metrics, and the optimizers on offer."""

from __future__ import annotations

LOSSES = {  # task -> (loss, metrics), as Keras names them
    "classification": ("sparse_categorical_crossentropy", ["accuracy"]),
    "language-model": ("sparse_categorical_crossentropy", ["accuracy"]),
    "forecasting": ("mse", ["mae"]),
}
OPTIMIZERS = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop"}
