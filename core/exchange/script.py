"""A standalone Python script that reproduces a run with plain Keras."""

from __future__ import annotations

import re
from typing import Any

from core.datasets import get_info
from core.errors import UserError
from core.model.codegen import model_code
from core.model.spec import ModelSpec
from core.model.trace import trace_model
from core.shapes import Signature
from core.tasks.registry import TASKS
from core.tasks.settings import check_train_settings

NOT_REPRODUCIBLE = "A run on uploaded data has no script: the data stays with you."

SCRIPT_IMPORTS = (
    "import keras\nimport numpy as np\n"  # what the exported script imports; this module never does
)


def reproduce_script(record: dict[str, Any], signature: Signature) -> str:
    """The script for a run of a built-in or Keras dataset: data, model, compile, fit, evaluate.

    Nothing from the record is pasted as source: names and settings enter as ``repr`` literals after
    validation, so no name or value can change what the script does.
    """
    if not reproducible(record):
        raise UserError(NOT_REPRODUCIBLE)
    config = record["config"]
    info = get_info(config["dataset"]["id"])
    declared = {p.name for p in info.settings}
    settings = info.check_settings(
        {key: value for key, value in config["dataset"]["settings"].items() if key in declared}
    )
    train = check_train_settings(config["train"], signature.task)
    spec = ModelSpec.from_dict(config["model"])
    code = model_code(
        trace_model(spec, signature), signature, train["optimizer"], train["learning_rate"], train["clipnorm"]
    )
    code = code.removeprefix("import keras\n\n")
    limit = config["dataset"].get("limit")
    limit = f".head({int(limit)!r})  # the run trained on a slice" if limit else ""
    early_stopping = (
        f'[keras.callbacks.EarlyStopping(monitor="val_loss", patience={train["patience"]!r}, '
        "restore_best_weights=True)]"
        if train["patience"]
        else "[]"
    )
    run = {"id": str(record["id"]), "model": spec.name, "dataset": info.name}
    task = TASKS[signature.task]
    balanced = train["class_weight"] == "balanced" and task.class_weights
    weights = "\n    class_weight=class_weights(train.y)," if balanced else ""
    weights_import = "from core.tasks.settings import class_weights\n" if balanced else ""
    return f'''"""Reproduce a run of the CNN vs RNN dashboard with plain Keras.

Save this file in the project folder (next to core/) and run it with python.
The data is read through core.datasets and fed in the run's batches (core.training.batches: the same
order from the same seed), so the splits, preprocessing and batches are the dashboard's own;
the model, compile, fit and evaluation below are plain Keras.
"""

{SCRIPT_IMPORTS}
from core.datasets import load_dataset
from core.training.batches import batches
{weights_import}
RUN = {run!r}

dataset = load_dataset({info.id!r}, {settings!r}){limit}
train, validation, test = dataset.train, dataset.validation, dataset.test
keras.utils.set_random_seed({train["seed"]!r})

{code}
model.fit(
    batches(train, {train["batch_size"]!r}, shuffle_seed={train["seed"]!r}),
    validation_data=batches(validation, {train["batch_size"]!r}),
    shuffle=False,  # the batches shuffle themselves, each epoch
    epochs={train["epochs"]!r},
    callbacks={early_stopping},{weights}
    verbose=2,
)
{task.script.strip()}
'''


def reproducible(record: dict[str, Any]) -> bool:
    """Whether a script can load this run's data (uploads stay with the person who uploaded them)."""
    return not record["config"]["dataset"]["id"].startswith("upload:")


def script_name(record: dict[str, Any]) -> str:
    """A file name for the script: the run's id, with anything but letters, digits, - and _ dropped."""
    return f"reproduce_{re.sub(r'[^A-Za-z0-9_-]', '', str(record['id']))[:40]}.py"
