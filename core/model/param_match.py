"""Equal parameter budgets: scale each model's widths by one factor until its count meets a target.

The widths are the params each layer kind names in the registry (``LayerKind.widths``: units, filters,
embedding sizes). One factor per model multiplies them all, so its layer structure and every other
param stay as they are. The factor is found by bisection, because the count is not linear in width
(recurrent units enter squared); each width is rounded, up or down where that lands nearer the target,
and kept within its layer's own limits and the server's cap on units."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.errors import UserError
from core.inputs import shown, whole_number
from core.model.layers import KINDS
from core.model.spec import ModelSpec
from core.model.trace import MOST_PARAMS, Limits, trace_model, validate
from core.params import Param
from core.shapes import Signature

TOLERANCE = 0.05  # a matched count lands within 5% of its target
SMALLEST = "smallest"  # the target: the smallest of the models matched together
HALVINGS = 60  # of the factor's range (on a log scale): finer than any width's rounding can tell


@dataclass(frozen=True)
class Matched:
    """A model scaled to a target: the scaled spec, and its parameter count before and after."""

    spec: ModelSpec
    before: int
    after: int

    @property
    def change(self) -> float:
        """The change in parameters, in percent of the count before."""
        return 100.0 * (self.after - self.before) / self.before

    def __str__(self) -> str:
        if self.before == self.after:
            return f"{self.spec.name}: {self.before:,} parameters, already within 5% of the target: unchanged"
        return f"{self.spec.name}: {self.before:,} -> {self.after:,} parameters ({self.change:+.1f}%)"


def read_target(value: Any) -> int | str:
    """A target as a sweep file or option gives it: a whole number of parameters, or ``smallest``."""
    if value == SMALLEST:
        return SMALLEST
    try:
        if isinstance(value, str):
            return whole_number(value, 1, MOST_PARAMS)
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MOST_PARAMS:
            return value
    except ValueError:
        pass
    raise UserError(
        f"match_params must be a whole number of parameters from 1 to {MOST_PARAMS:,}, or {SMALLEST}, "
        f"not {shown(value)}."
    )


def match_models(
    specs: list[ModelSpec], signature: Signature, target: int | str = SMALLEST, limits: Limits | None = None
) -> list[Matched]:
    """Scale every model to ``target`` parameters, or to the count of the smallest of them; a model that
    cannot get within 5% of it is a UserError, and then none is scaled.
    """
    limits = limits or Limits.from_env()
    if not specs:
        raise UserError("Pick at least one model to match.")
    if target == SMALLEST:
        target = min(_valid_count(spec, signature, limits) for spec in specs)
    return [match_params(spec, signature, int(target), limits) for spec in specs]


def match_params(spec: ModelSpec, signature: Signature, target: int, limits: Limits | None = None) -> Matched:
    """The spec with its widths scaled by one factor so that it has within 5% of ``target`` parameters
    (the nearest count it reaches), or a UserError saying why it cannot and the nearest it can reach. A
    spec already within 5% is left as it is.
    """
    limits = limits or Limits.from_env()
    if target > limits.max_params:
        raise UserError(
            f"The target of {target:,} parameters is above this server's cap of {limits.max_params:,}."
        )
    before = _valid_count(spec, signature, limits)
    if abs(before - target) <= TOLERANCE * target:
        return Matched(spec, before, before)

    def count(candidate: ModelSpec) -> int:
        return trace_model(candidate, signature, limits).total_params

    def distance(candidate: ModelSpec) -> int:
        return abs(count(candidate) - target)

    down, up = _neighbours(spec, limits, lambda factor: count(scaled(spec, factor, limits)) <= target)
    options = [down, up, _rounded_each_way(down, up, distance)]
    result = min((option for option in options if count(option) <= limits.max_params), key=distance)
    after = count(result)
    if abs(after - target) > TOLERANCE * target:
        raise UserError(_unreachable(spec, target, after, count(down), count(up)))
    validate(result, signature, limits)
    return Matched(result, before, after)


def scaled(spec: ModelSpec, factor: float, limits: Limits) -> ModelSpec:
    """The spec with every width times ``factor``, rounded and kept within its layer's limits and the
    server's cap on units; everything else as it was.
    """
    layers = []
    for layer in spec.layers:
        layer = dict(layer)
        for param in _width_params(layer):
            low, high = _width_bounds(param, limits)
            layer[param.name] = min(max(math.floor(layer[param.name] * factor + 0.5), low), high)
        layers.append(layer)
    return ModelSpec(spec.name, layers)


def _neighbours(
    spec: ModelSpec, limits: Limits, at_most_target: Callable[[float], bool]
) -> tuple[ModelSpec, ModelSpec]:
    """The spec scaled by the two neighbouring factors whose counts bracket the target (bisection on a
    log scale); both at the smallest widths, or both at the largest, where the target lies beyond them.
    """
    below, above = _factor_range(spec, limits)
    if not at_most_target(below):
        above = below
    elif at_most_target(above):
        below = above
    else:
        for _ in range(HALVINGS):  # at_most_target(below) and not at_most_target(above)
            middle = math.sqrt(below * above)
            below, above = (middle, above) if at_most_target(middle) else (below, middle)
    return scaled(spec, below, limits), scaled(spec, above, limits)


def _rounded_each_way(down: ModelSpec, up: ModelSpec, distance: Callable[[ModelSpec], int]) -> ModelSpec:
    """Between the counts of two neighbouring factors: the widths they round differently, each taken
    rounded down or up (greedily, one at a time) to come nearest the target.
    """
    best = down
    differing = [
        (index, name)
        for index, (low, high) in enumerate(zip(down.layers, up.layers, strict=True))
        for name in KINDS[low["kind"]].widths
        if low[name] != high[name]
    ]
    while differing:
        tries = [(_with_width(best, where, up), where) for where in differing]
        nearest, where = min(tries, key=lambda tried: distance(tried[0]))
        if distance(nearest) >= distance(best):
            break
        best = nearest
        differing.remove(where)
    return best


def _with_width(spec: ModelSpec, where: tuple[int, str], source: ModelSpec) -> ModelSpec:
    """The spec with one width (layer index, param name) taken from ``source``."""
    index, name = where
    layers = [dict(layer) for layer in spec.layers]
    layers[index][name] = source.layers[index][name]
    return ModelSpec(spec.name, layers)


def _width_params(layer: dict[str, Any]) -> list[Param]:
    kind = KINDS[layer["kind"]]
    return [param for param in kind.params if param.name in kind.widths]


def _width_bounds(param: Param, limits: Limits) -> tuple[int, int]:
    return max(1, int(param.min or 1)), min(int(param.max or limits.max_units), limits.max_units)


def _factor_range(spec: ModelSpec, limits: Limits) -> tuple[float, float]:
    """A factor that puts every width at its smallest, and one that puts every width at its largest."""
    ratios = [
        (1 / layer[param.name], _width_bounds(param, limits)[1] / layer[param.name])
        for layer in spec.layers
        for param in _width_params(layer)
    ]
    if not ratios:
        return 1.0, 1.0
    return min(low for low, _ in ratios) / 4, 2 * max(high for _, high in ratios)


def _valid_count(spec: ModelSpec, signature: Signature, limits: Limits) -> int:
    """The model's parameter count, or a UserError if it does not fit the data yet."""
    trace = trace_model(spec, signature, limits)
    if trace.problems:
        raise UserError(f"{spec.name} cannot be matched until it is valid ({trace.problems[0].rstrip('.')}).")
    return trace.total_params


def _unreachable(spec: ModelSpec, target: int, nearest: int, low: int, high: int) -> str:
    """Why no factor brings the model within 5% of the target, and the nearest count it reaches."""
    start = f"{spec.name} cannot be matched to {target:,} parameters"
    if not any(_width_params(layer) for layer in spec.layers):
        return f"{start}: it has no layer with units or filters to scale, so it keeps its {nearest:,}."
    if low > target:
        why = "with every width at its smallest it still has"
    elif high <= target:
        why = "with every width at its largest allowed it reaches only"
    else:
        why = f"one factor on its widths gives {low:,} or {high:,}, and rounding each either way at best"
    return f"{start}: {why} {nearest:,}."
