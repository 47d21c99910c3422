"""Model specs: plain, JSON round-trippable descriptions of a layer stack."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from core.errors import SpecError, UserError
from core.inputs import load_json, shown
from core.model.layers import KINDS
from core.params import check_values

MAX_NAME = 60
MAX_LAYERS_IN_SPEC = 100

FAMILY_NAMES = {"cnn": "CNN", "rnn": "RNN", "hybrid": "CNN+RNN hybrid", "mlp": "MLP"}  # by ModelSpec.family


@dataclass
class ModelSpec:
    """A named stack of layers; each layer is ``{"kind": ..., <parameter>: <value>, ...}``."""

    name: str
    layers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def family(self) -> str:
        """A key of ``FAMILY_NAMES``, read from the layers it holds."""
        families = {KINDS[layer["kind"]].family for layer in self.layers} - {None}
        if families == {"cnn"}:
            return "cnn"
        if families == {"rnn"}:
            return "rnn"
        return "hybrid" if families else "mlp"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "layers": [dict(layer) for layer in self.layers]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: Any) -> ModelSpec:
        """Check a spec's structure, kinds and parameter values; fill defaults; or raise SpecError."""
        if not isinstance(data, dict):
            raise SpecError(["A model must be an object with a name and a list of layers."])
        problems = [
            f"A model has no field named {shown(key)}." for key in data if key not in ("name", "layers")
        ]
        name = data.get("name", "Model")
        if not _is_name(name):
            problems.append(
                f"A model's name must be a text of 1 to {MAX_NAME} printable characters, not {shown(name)}."
            )
            name = "Model"
        layers = data.get("layers")
        if not isinstance(layers, list):
            raise SpecError([*problems, "A model's layers must be a list."])
        if len(layers) > MAX_LAYERS_IN_SPEC:
            raise SpecError([*problems, f"A model can hold at most {MAX_LAYERS_IN_SPEC} layers."])
        normalized = []
        for number, layer in enumerate(layers, start=1):
            checked, layer_problems = _check_layer(number, layer)
            normalized.append(checked)
            problems += layer_problems
        if problems:
            raise SpecError(problems)
        return cls(name.strip(), normalized)

    @classmethod
    def from_json(cls, text: str) -> ModelSpec:
        """A spec from JSON text (strict: finite numbers only), checked as ``from_dict`` does."""
        try:
            data = load_json(text, "The model")
        except UserError as error:
            raise SpecError([str(error)]) from None
        return cls.from_dict(data)


def _is_name(name: Any) -> bool:
    """A model's name ends up in file names and generated code: short, printable, not blank."""
    return isinstance(name, str) and bool(name.strip()) and len(name) <= MAX_NAME and name.isprintable()


def _check_layer(number: int, layer: Any) -> tuple[dict[str, Any], list[str]]:
    if not isinstance(layer, dict) or not isinstance(layer.get("kind"), str):
        return {"kind": "Dense"}, [f"Layer {number} must be an object with a 'kind'."]
    kind = KINDS.get(layer["kind"])
    if kind is None:
        known = ", ".join(KINDS)
        return {"kind": "Dense"}, [
            f"Layer {number} has an unknown kind {shown(layer['kind'])}; known kinds: {known}."
        ]
    given = {key: value for key, value in layer.items() if key != "kind"}
    values, problems = check_values(kind.params, given)
    return {"kind": kind.name, **values}, [f"Layer {number} ({kind.name}): {p}." for p in problems]
