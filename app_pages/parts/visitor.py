"""This visitor's state in ``st.session_state``: the data choice, the models and training settings per
dataset, the runs queued and the workspace (the named keys below), with the defaults a first visit
starts from.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import streamlit as st

from core.datasets import Dataset
from core.model.presets import presets_for
from core.model.spec import ModelSpec
from core.tasks.registry import TASKS

# The visitor's keys in st.session_state (widgets keep their own, named "page:what"):
CHOICE = "choice"  # the data: {"id", "settings", "upload"?}
MODELS = "models"  # dataset id -> {model name: {"spec": dict, "uids": [str]}}
TRAINING = "training"  # dataset id -> the training settings last set on Train
RUNS = "runs"  # ids of the runs this visitor queued, oldest first
WORKSPACE = "workspace"  # where the visitor's runs are kept in the run store
APPLIED_SHARE = "applied_share"  # the share link already applied, so a rerun does not apply it again
DEFAULT_DATASET = {"id": "mnist_5k", "settings": {}}

DEFAULT_RNN = {  # by modality; a task may name its own (core.tasks.registry's starter_rnn)
    "images": "LSTM",
    "text": "LSTM",
    "series": "Stacked LSTM (Keras example)",
    "sequences": "LSTM",
}


def state() -> Any:
    """Session state with this visitor's defaults filled in; nothing here is shared between visitors."""
    session = st.session_state
    session.setdefault(CHOICE, dict(DEFAULT_DATASET))
    session.setdefault(MODELS, {})
    session.setdefault(TRAINING, {})
    session.setdefault(RUNS, [])
    session.setdefault(WORKSPACE, f"private-{secrets.token_hex(12)}")  # 96 random bits: unguessable
    return session


def new_uid() -> str:
    return uuid.uuid4().hex[:8]


def models_for(dataset: Dataset) -> dict[str, dict[str, Any]]:
    """This visitor's models for a dataset; a first visit starts with the first CNN preset and an RNN."""
    models = state()[MODELS]
    if dataset.info.id not in models:
        presets = presets_for(dataset.signature)
        rnn = TASKS[dataset.signature.task].starter_rnn or DEFAULT_RNN.get(dataset.info.modality)
        cnn = next((name for name, spec in presets.items() if spec.family == "cnn"), None)
        starters = [name for name in (cnn, rnn) if name in presets]
        models[dataset.info.id] = {name: entry(presets[name]) for name in starters}
    return models[dataset.info.id]


def entry(spec: ModelSpec) -> dict[str, Any]:
    return {"spec": spec.to_dict(), "uids": [new_uid() for _ in spec.layers]}


def spec_of(model: dict[str, Any]) -> ModelSpec:
    return ModelSpec.from_dict(model["spec"])


def unique_name(base: str, taken: dict[str, Any]) -> str:
    name, number = base, 2
    while name in taken:
        name, number = f"{base} ({number})", number + 1
    return name
