"""Tensor shapes with named axes, and the signature a dataset presents to a model."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any

TOKENS = ("time",)
FEATURES = ("features",)
SEQUENCE = ("time", "features")
IMAGE = ("height", "width", "channels")


@dataclass(frozen=True)
class Shape:
    """A shape without its batch axis, each axis named: e.g. time=28, features=64."""

    axes: tuple[str, ...]
    dims: tuple[int, ...]

    def __str__(self) -> str:
        named = ", ".join(f"{axis} {dim}" for axis, dim in zip(self.axes, self.dims, strict=True))
        return f"(batch, {named})"

    @property
    def layout(self) -> str:
        """The axes as a user reads them, e.g. (batch, time, features)."""
        return "(batch, " + ", ".join(self.axes) + ")"

    @property
    def size(self) -> int:
        return prod(self.dims)

    @property
    def last(self) -> int:
        return self.dims[-1]

    def with_last(self, last: int) -> Shape:
        return Shape(self.axes, (*self.dims[:-1], last))


def layout_of(axes: tuple[str, ...]) -> str:
    return "(batch, " + ", ".join(axes) + ")"


@dataclass(frozen=True)
class Signature:
    """What a prepared dataset feeds a model and expects back."""

    input: Shape
    task: str  # a task of core.tasks.registry.TASKS, e.g. "classification"
    outputs: int  # classes, forecast horizon, or vocabulary size
    vocab_size: int = 0

    @property
    def tokens(self) -> bool:
        return self.input.axes == TOKENS

    def to_dict(self) -> dict[str, Any]:
        """The signature as plain JSON-able data (kept in a run record and a calibration request)."""
        return {
            "axes": list(self.input.axes),
            "dims": list(self.input.dims),
            "task": self.task,
            "outputs": self.outputs,
            "vocab_size": self.vocab_size,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        return cls(
            Shape(tuple(data["axes"]), tuple(data["dims"])), data["task"], data["outputs"], data["vocab_size"]
        )
