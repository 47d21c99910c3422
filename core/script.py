"""A standalone Python script that reproduces a run with plain Keras."""

from __future__ import annotations

from typing import Any

from core.codegen import model_code
from core.datasets import get_info
from core.errors import UserError
from core.shapes import Signature
from core.spec import ModelSpec
from core.trace import trace_model

NOT_REPRODUCIBLE = "A run on uploaded data has no script: the data stays with you."
EVALUATION = {
    "classification": """
predicted = model.predict(test.x, verbose=0).argmax(axis=1)
print(f"test accuracy {(predicted == test.y).mean():.4f}")
""",
    "language-model": """
probabilities = model.predict(test.x, verbose=0)
picked = np.clip(probabilities[np.arange(len(test.y)), test.y], 1e-12, 1.0)
print(f"test accuracy {(probabilities.argmax(axis=1) == test.y).mean():.4f}")
print(f"test perplexity {np.exp(-np.log(picked).mean()):.4f}")
""",
    "forecasting": """
predicted = dataset.target.unscale(model.predict(test.x, verbose=0), test.x)
truth = dataset.target.unscale(test.y, test.x)
print(f"test mae {np.abs(predicted - truth).mean():.4f}")
""",
}


def reproduce_script(record: dict[str, Any], signature: Signature) -> str:
    """The script for a run of a built-in or Keras dataset: data, model, compile, fit, evaluate."""
    config = record["config"]
    dataset_id, settings = config["dataset"]["id"], config["dataset"]["settings"]
    if not reproducible(record):
        raise UserError(NOT_REPRODUCIBLE)
    info = get_info(dataset_id)
    train = config["train"]
    spec = ModelSpec.from_dict(config["model"])
    code = model_code(trace_model(spec, signature), signature, train["optimizer"], train["learning_rate"])
    code = code.removeprefix("import keras\n\n")
    limit = config["dataset"].get("limit")
    limit = f".head({limit})  # the run trained on a slice" if limit else ""
    declared = {p.name for p in info.settings}
    settings = {key: value for key, value in settings.items() if key in declared}
    early_stopping = (
        f'[keras.callbacks.EarlyStopping(monitor="val_loss", patience={train["patience"]}, '
        "restore_best_weights=True)]"
        if train["patience"]
        else "[]"
    )
    return f'''"""Reproduce run {record["id"]}: {spec.name} on {info.name}, with plain Keras.

Save this file in the project folder (next to core/) and run:  python {script_name(record)}
The data is read through core.datasets, so the splits and preprocessing are the dashboard's own;
the model, compile, fit and evaluation below are plain Keras.
"""

import keras
import numpy as np

from core.datasets import load_dataset

dataset = load_dataset({dataset_id!r}, {settings!r}){limit}
train, validation, test = dataset.train, dataset.validation, dataset.test
keras.utils.set_random_seed({train["seed"]})

{code}
model.fit(
    train.x,
    train.y,
    validation_data=(validation.x, validation.y),
    epochs={train["epochs"]},
    batch_size={train["batch_size"]},
    callbacks={early_stopping},
    verbose=2,
)
{EVALUATION[record["task"]].strip()}
'''


def reproducible(record: dict[str, Any]) -> bool:
    """Whether a script can load this run's data (uploads stay with the person who uploaded them)."""
    return not record["config"]["dataset"]["id"].startswith("upload:")


def script_name(record: dict[str, Any]) -> str:
    return f"reproduce_{record['id']}.py"
