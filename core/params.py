"""Typed parameter definitions shared by layers, dataset settings and training settings."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from core.inputs import shown

ParamValues = dict[str, Any]


@dataclass(frozen=True)
class Param:
    """One setting: its type, default, bounds or choices, and a help text for widgets."""

    name: str
    kind: str  # "int", "float", "bool", "choice" or "text"
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] = ()

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()

    def check(self, value: Any) -> Any:
        """Return ``value`` if it is valid for this parameter, else raise ValueError (a phrase)."""
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"{self.name} must be true or false, not {shown(value)}")
            return value
        if self.kind == "choice":
            if value not in self.choices:
                options = ", ".join(str(c) for c in self.choices)
                raise ValueError(f"{self.name} must be one of {options}, not {shown(value)}")
            return value
        if self.kind == "text":
            if not isinstance(value, str) or len(value) > 200:
                raise ValueError(f"{self.name} must be a short text, not {shown(value)}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{self.name} must be a number, not {shown(value)}")
        if self.kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(f"{self.name} must be a whole number, not {shown(value)}")
            value = int(value)
        elif not _finite(value):
            raise ValueError(f"{self.name} must be a finite number, not {shown(value)}")
        else:
            value = float(value)
        if self.min is not None and value < self.min:
            raise ValueError(f"{self.name} must be at least {_number(self.min)}, not {_number(value)}")
        if self.max is not None and value > self.max:
            raise ValueError(f"{self.name} must be at most {_number(self.max)}, not {_number(value)}")
        return value


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # a whole number too large for a float
        return False


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else shown(value)


def check_values(params: tuple[Param, ...], given: Any) -> tuple[ParamValues, list[str]]:
    """Fill defaults and check every value; return the values and a phrase per problem."""
    if not isinstance(given, dict):
        return defaults(params), ["its settings must be an object of names and values"]
    by_name = {p.name: p for p in params}
    problems = [f"there is no parameter named {shown(name)}" for name in given if name not in by_name]
    values: ParamValues = {}
    for param in params:
        try:
            values[param.name] = param.check(given.get(param.name, param.default))
        except ValueError as error:
            problems.append(str(error))
            values[param.name] = param.default
    return values, problems


def defaults(params: tuple[Param, ...]) -> ParamValues:
    return {p.name: p.default for p in params}
