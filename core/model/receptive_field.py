"""Receptive fields read from a model's spec: how many input steps one output position can see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.model.layers import KINDS
from core.model.spec import ModelSpec
from core.shapes import IMAGE, TOKENS, Signature


@dataclass(frozen=True)
class ReceptiveField:
    """The input positions one position of the model's last time-keeping layer is computed from.

    ``steps`` is None when a recurrent layer makes it unbounded (its state carries every earlier
    step). ``combined_by`` names the layer that then combines every position into one output
    (Flatten, global pooling), or is None.
    """

    steps: int | None
    combined_by: str | None = None
    square: bool = False  # 2-D layers: ``steps`` pixels along each side of the image

    def to_json(self) -> int | None:
        """The record's ``receptive_field``: steps, or null for unbounded."""
        return self.steps

    def seen(self, length: int) -> int:
        """How many of a window's ``length`` steps the model's output sees: all of them where a recurrent
        layer carries every step or a layer combines every position (Flatten, global pooling, then any
        Dense), else one position's field, at most the window.
        """
        if self.steps is None or self.combined_by:
            return length
        return min(self.steps, length)

    def sentence(self, unit: str = "time step") -> str:
        """E.g. "Receptive field: 31 time steps per position; then Flatten combines all positions."."""
        if self.steps is None:
            return f"Receptive field: unbounded, a recurrent layer's state carries every {unit} it has read."
        if self.square:
            seen = f"{self.steps:,} x {self.steps:,} pixels per position"
        else:
            seen = f"{self.steps:,} {unit}{'' if self.steps == 1 else 's'} per position"
        then = f"; then {self.combined_by} combines all positions" if self.combined_by else ""
        return f"Receptive field: {seen}{then}."


def receptive_field(spec: ModelSpec | dict[str, Any]) -> ReceptiveField:
    """The receptive field along the time axis (each image axis for 2-D layers), layer by layer:
    a window of ``extent`` positions taken every ``stride`` widens what one output sees by
    ``(extent - 1) * jump``, where ``jump`` is the product of the strides before it.
    """
    layers = (spec if isinstance(spec, ModelSpec) else ModelSpec.from_dict(spec)).layers  # defaults filled
    kinds = [KINDS[layer["kind"]] for layer in layers]
    square = any(kind.accepts == (IMAGE,) for kind in kinds)
    steps, jump = 1, 1
    for kind, layer in zip(kinds, layers, strict=True):
        reach = kind.reach(layer)
        if reach.unbounded:
            return ReceptiveField(None)
        steps += (reach.extent - 1) * jump
        jump *= reach.stride
        if reach.collapses:
            return ReceptiveField(steps, kind.name, square)
    return ReceptiveField(steps, None, square)


def step_unit(signature: Signature) -> str:
    """What one step along a dataset's time axis is: a token, an image row, or a time step."""
    if signature.input.axes == TOKENS:
        return "token"
    return "row" if signature.input.axes == IMAGE else "time step"
