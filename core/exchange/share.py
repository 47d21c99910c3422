"""Share links: a comparison's dataset and model specs as one compact URL parameter.

The parameter is base64url-encoded JSON, ``{"v": 1, "dataset": ..., "models": [...]}``, where the
dataset is a built-in or Keras one, ``{"id", "settings"}``, or, for uploaded data, which stays with the
sender, only its shape: ``{"shape": {"modality", "task", "input": [dims]}}``; whoever opens such a link
trains the models on data of their own. Decoding trusts nothing: size, encoding, schema, dataset id and
settings or shape, layer kinds and bounds are all checked, and every model is traced against the data it
is to train on, parameter cap included.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from core import budget
from core.datasets import DATASETS, Dataset, DatasetInfo
from core.errors import SpecError, UserError
from core.model.spec import ModelSpec
from core.model.trace import Limits, trace_model
from core.shapes import IMAGE, SEQUENCE, TOKENS, Shape, Signature
from core.tasks.registry import TASKS

VERSION = 1
MAX_PARAMETER_CHARS = budget.LINK_CHARACTERS  # browsers and servers handle URLs well below 8 KB
MAX_MODELS = 8
AXES = {"images": IMAGE, "text": TOKENS, "series": SEQUENCE}  # an upload's modality -> its input's axes
LARGEST_DIM = 100_000


@dataclass(frozen=True)
class DataShape:
    """What a link's models were made for when the data stayed with the sender."""

    modality: str
    task: str
    input: Shape

    @classmethod
    def of(cls, dataset: Dataset) -> DataShape:
        return cls(dataset.info.modality, dataset.signature.task, dataset.signature.input)

    def to_dict(self) -> dict[str, Any]:
        return {"modality": self.modality, "task": self.task, "input": list(self.input.dims)}

    def __str__(self) -> str:
        return f"{self.modality} data ({self.task}), shaped {self.input}"


@dataclass
class SharedComparison:
    dataset: dict[str, Any] | None  # {"id": ..., "settings": {...}}, or None when the data stayed behind
    models: list[ModelSpec]
    shape: DataShape | None = None  # the sender's own data, when only its shape travelled

    def check_against(self, signature: Signature, limits: Limits | None = None) -> None:
        """Raise UserError unless every model fits the dataset and the server's caps."""
        for spec in self.models:
            problems = trace_model(spec, signature, limits).problems
            if problems:
                raise UserError(f"The shared model '{spec.name}' does not fit: {problems[0]}")

    def check_fits(self, dataset: Dataset, limits: Limits | None = None) -> None:
        """Raise UserError unless the models suit this dataset: data of the sender's kind and task, when
        only its shape travelled, then every model traced against it.
        """
        made_for = self.shape and (self.shape.modality, self.shape.task)
        if made_for and made_for != (dataset.info.modality, dataset.signature.task):
            raise UserError(
                f"{dataset.info.name} is {dataset.info.modality} data ({dataset.signature.task}), not "
                f"{self.shape.modality} data ({self.shape.task})."
            )
        self.check_against(dataset.signature, limits)


def encode(dataset_id: str, settings: dict[str, Any], models: list[ModelSpec]) -> str:
    """The URL parameter for a built-in or Keras dataset and some models."""
    if dataset_id not in DATASETS:
        raise UserError(f"A link cannot name {dataset_id[:40]!r}; only the shape of uploaded data travels.")
    return _token({"id": dataset_id, "settings": settings}, models)


def encode_without_data(shape: DataShape, models: list[ModelSpec]) -> str:
    """The URL parameter for models made for data that stays with the sender: only its shape travels."""
    return _token({"shape": shape.to_dict()}, models)


def _token(dataset: dict[str, Any], models: list[ModelSpec]) -> str:
    payload = {"v": VERSION, "dataset": dataset, "models": [spec.to_dict() for spec in models]}
    text = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    token = base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")
    if len(token) > MAX_PARAMETER_CHARS:
        raise UserError(
            f"These models make a link of {len(token):,} characters, over the "
            f"{MAX_PARAMETER_CHARS:,} a link may carry; share fewer or smaller models."
        )
    return token


def decode(token: Any) -> SharedComparison:
    """Read a share parameter strictly; any problem is one UserError sentence and nothing loads."""
    payload = _payload(token)
    dataset = payload["dataset"]
    shape = _shape(dataset["shape"]) if isinstance(dataset, dict) and set(dataset) == {"shape"} else None
    info = None if shape else _dataset_info(dataset)
    models = payload["models"]
    if not isinstance(models, list) or not 1 <= len(models) <= MAX_MODELS:
        raise UserError(f"The share link must carry 1 to {MAX_MODELS} models.")
    try:
        settings = info.check_settings(dataset["settings"]) if info else None
        specs = [ModelSpec.from_dict(model) for model in models]
    except SpecError as error:
        raise UserError(f"The share link holds an invalid setting: {error.problems[0]}") from None
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise UserError("The share link holds two models with the same name.")
    return SharedComparison({"id": info.id, "settings": settings} if info else None, specs, shape)


def _payload(token: Any) -> dict[str, Any]:
    """The link's JSON object, once its size, encoding, keys and version are checked."""
    if not isinstance(token, str) or not token:
        raise UserError("The share link is empty.")
    if len(token) > MAX_PARAMETER_CHARS:
        raise UserError(
            f"The share link is {len(token):,} characters long; at most {MAX_PARAMETER_CHARS:,} are accepted."
        )
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError):
        raise UserError("The share link is damaged: it is not base64url-encoded JSON.") from None
    except RecursionError:
        raise UserError("The share link nests too deeply to be read.") from None
    if not isinstance(payload, dict) or set(payload) != {"v", "dataset", "models"}:
        raise UserError("The share link does not describe a comparison (expected v, dataset and models).")
    if payload["v"] != VERSION:
        raise UserError(f"The share link has version {payload['v']!r}; this app reads version {VERSION}.")
    return payload


def _dataset_info(dataset: Any) -> DatasetInfo:
    """The built-in or Keras dataset a link names."""
    if not isinstance(dataset, dict) or set(dataset) != {"id", "settings"}:
        raise UserError(
            "The share link's dataset must hold exactly an id and settings, or only the shape of the data."
        )
    info = DATASETS.get(dataset["id"]) if isinstance(dataset["id"], str) else None
    if info is None:
        raise UserError(f"The share link names an unknown dataset {str(dataset['id'])[:40]!r}.")
    return info


def _shape(given: Any) -> DataShape:
    """The shape of the sender's data: a known kind and task, and an input of that kind's axes."""
    if not isinstance(given, dict) or set(given) != {"modality", "task", "input"}:
        raise UserError("The share link's data shape must hold exactly a modality, a task and an input.")
    modality, task, dims = given["modality"], given["task"], given["input"]
    axes = AXES.get(modality, ()) if isinstance(modality, str) else ()
    if not axes or task not in TASKS or modality not in TASKS[task].upload_modalities:
        raise UserError(
            f"The share link's data shape names an unknown kind of data or task: {str(modality)[:20]!r}, "
            f"{str(task)[:20]!r}."
        )
    whole = isinstance(dims, list) and all(type(dim) is int and 1 <= dim <= LARGEST_DIM for dim in dims)
    if not whole or len(dims) != len(axes):
        raise UserError(
            f"The share link's input shape must be {len(axes)} whole numbers ({', '.join(axes)}) "
            f"from 1 to {LARGEST_DIM:,}."
        )
    return DataShape(modality, task, Shape(axes, tuple(dims)))
