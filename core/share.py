"""Share links: a comparison's dataset choice and model specs as one compact URL parameter.

The parameter is base64url-encoded JSON, ``{"v": 1, "dataset": {"id", "settings"}, "models": [...]}``.
Decoding trusts nothing: size, encoding, schema, dataset id and settings, layer kinds and bounds
are all checked, and every model is traced against the dataset, parameter cap included.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from core import budget
from core.datasets import DATASETS
from core.errors import SpecError, UserError
from core.shapes import Signature
from core.spec import ModelSpec
from core.trace import Limits, trace_model

VERSION = 1
MAX_PARAMETER_CHARS = budget.LINK_CHARACTERS  # browsers and servers handle URLs well below 8 KB
MAX_MODELS = 8


@dataclass
class SharedComparison:
    dataset: dict[str, Any]  # {"id": ..., "settings": {...}}
    models: list[ModelSpec]

    def check_against(self, signature: Signature, limits: Limits | None = None) -> None:
        """Raise UserError unless every model fits the dataset and the server's caps."""
        for spec in self.models:
            problems = trace_model(spec, signature, limits).problems
            if problems:
                raise UserError(f"The shared model '{spec.name}' does not fit: {problems[0]}")


def encode(dataset_id: str, settings: dict[str, Any], models: list[ModelSpec]) -> str:
    """The URL parameter for a built-in or Keras dataset and some models."""
    if dataset_id not in DATASETS:
        raise UserError("Uploaded data cannot travel in a link; share a built-in or Keras dataset instead.")
    payload = {
        "v": VERSION,
        "dataset": {"id": dataset_id, "settings": settings},
        "models": [spec.to_dict() for spec in models],
    }
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
    dataset = payload["dataset"]
    if not isinstance(dataset, dict) or set(dataset) != {"id", "settings"}:
        raise UserError("The share link's dataset must hold exactly an id and settings.")
    info = DATASETS.get(dataset["id"]) if isinstance(dataset["id"], str) else None
    if info is None:
        raise UserError(f"The share link names an unknown dataset {str(dataset['id'])[:40]!r}.")
    models = payload["models"]
    if not isinstance(models, list) or not 1 <= len(models) <= MAX_MODELS:
        raise UserError(f"The share link must carry 1 to {MAX_MODELS} models.")
    try:
        settings = info.check_settings(dataset["settings"])
        specs = [ModelSpec.from_dict(model) for model in models]
    except SpecError as error:
        raise UserError(f"The share link holds an invalid setting: {error.problems[0]}") from None
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise UserError("The share link holds two models with the same name.")
    return SharedComparison({"id": info.id, "settings": settings}, specs)
