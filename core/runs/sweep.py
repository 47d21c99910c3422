"""Sweeps: a grid of datasets x models x seeds x training settings, read from a YAML or JSON file.

A file is checked in the order of what checking costs: its size before it is read, its structure and
the size of its grid (the product of its list lengths) before any value is expanded, every value before
any dataset loads, and every model on its dataset before any run is made.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core import budget
from core.datasets import Dataset, get_info
from core.datasets.described import load_described
from core.errors import UserError
from core.inputs import check_workspace, load_json, read_text, shown
from core.model.param_match import Matched, match_models, read_target
from core.model.presets import presets_for
from core.model.spec import ModelSpec
from core.model.trace import Limits, trace_model
from core.tasks.settings import TRAIN_SETTINGS, check_train_settings

KEYS = {"workspace", "datasets", "models", "seeds", "train", "limit", "match_params"}
DEFAULT_WORKSPACE = "sweep"
DEFAULT_SEEDS = [42]


@dataclass
class PlannedRun:
    dataset: Dataset
    description: dict[str, Any]  # how a worker loads the dataset again
    spec: ModelSpec
    settings: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.spec.name} on {self.dataset.info.id} (seed {self.settings['seed']})"


@dataclass
class Sweep:
    workspace: str
    runs: list[PlannedRun]
    matched: list[tuple[str, Matched]] = field(default_factory=list)  # (dataset id, model) when matched


def read_sweep(path: Path, match_params: str | None = None) -> Sweep:
    """Read and check a sweep file; nothing loads or expands before the whole file is found sound.

    ``match_params`` (a number of parameters, or ``smallest``) replaces the file's own.
    """
    limits = Limits.from_env()
    plan = _parse(path)
    matching = match_params if match_params is not None else plan.get("match_params")
    target = None if matching is None else read_target(matching)
    datasets, models = _listed(plan, "datasets"), _listed(plan, "models")
    choices = {"seed": _listed(plan, "seeds", DEFAULT_SEEDS), **_train_choices(plan.get("train", {}))}
    runs = len(datasets) * len(models) * math.prod(len(values) for values in choices.values())
    budget.check(runs, budget.SWEEP_RUNS, "runs in one sweep", "Split the grid over several sweep files.")
    workspace = _workspace(plan.get("workspace", DEFAULT_WORKSPACE))
    limit = _limit(plan.get("limit"))
    descriptions = [_described(entry, limit) for entry in datasets]
    entries = [_model_entry(entry) for entry in models]
    for name, values in choices.items():
        for value in values:
            check_train_settings({name: value})
    for description in descriptions:
        get_info(description["id"]).check_settings(description["settings"])
    grid = [dict(zip(choices, combo, strict=True)) for combo in itertools.product(*choices.values())]
    sweep = Sweep(workspace, [])
    for description in descriptions:
        runs, matched = _runs_on(description, entries, grid, limits, target)
        sweep.runs += runs
        sweep.matched += [(description["id"], model) for model in matched]
    return sweep


def _runs_on(
    description: dict[str, Any],
    entries: list[str | ModelSpec],
    grid: list[dict[str, Any]],
    limits: Limits,
    target: int | str | None,
) -> tuple[list[PlannedRun], list[Matched]]:
    """The runs on one dataset, loaded once: each model, found to fit it (and scaled to ``target``
    parameters, if given: the models as matched), with each point of the grid.
    """
    dataset = load_described(description, fetch_missing=True)
    specs = [_resolved(entry, dataset, limits) for entry in entries]
    matched = []
    if target is not None:
        try:
            matched = match_models(specs, dataset.signature, target, limits)
        except UserError as error:
            raise UserError(f"On {dataset.info.id}: {error}") from None
        specs = [model.spec for model in matched]
    task = dataset.signature.task
    runs = [
        PlannedRun(dataset, description, spec, check_train_settings(point, task))
        for spec in specs
        for point in grid
    ]
    return runs, matched


def _parse(path: Path) -> dict[str, Any]:
    """The file's plan: an object holding datasets and models, and nothing it does not know."""
    text = read_text(path, "sweep file")
    name = f"The sweep file {shown(str(path))}"
    plan = load_json(text, name) if path.suffix == ".json" else _load_yaml(text, name)
    _check_expansion(plan, len(text), name)
    if not isinstance(plan, dict) or not {"datasets", "models"} <= set(plan) or set(plan) - KEYS:
        optional = ", ".join(sorted(KEYS - {"datasets", "models"}))
        raise UserError(f"A sweep file holds datasets and models, and optionally {optional}.")
    return plan


class _PlainLoader(yaml.SafeLoader):
    """YAML's safe loader, whose refusal of a tag that would make a Python object is a plain sentence."""

    def construct_undefined(self, node: yaml.Node) -> None:
        raise UserError(
            f"The sweep file uses the YAML tag {shown(node.tag)} (line {node.start_mark.line + 1}); "
            "a sweep file holds plain data only."
        )


_PlainLoader.add_constructor(None, _PlainLoader.construct_undefined)


def _load_yaml(text: str, name: str) -> Any:
    """Plain data from YAML text, or one sentence that starts with ``name`` and says what is wrong where."""
    try:
        return yaml.load(text, Loader=_PlainLoader)  # a safe loader: plain data only
    except yaml.YAMLError as error:
        reason = _yaml_reason(error)
    except RecursionError:
        reason = "it is nested too deeply"
    except ValueError:  # a number beyond Python's limit on digits read from text
        reason = "a number is too long"
    raise UserError(f"{name} is not valid YAML ({reason}).")


def _yaml_reason(error: yaml.YAMLError) -> str:
    """A YAML error on one line: its context and problem, and where."""
    if not isinstance(error, yaml.MarkedYAMLError):
        return str(error).splitlines()[0]
    mark = error.problem_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return ", ".join(part for part in (error.context, error.problem) if part) + where


def _check_expansion(data: Any, limit: int, name: str) -> None:
    """Refuse data that YAML aliases repeat into more values than the file has characters (a "billion
    laughs"), counting without expanding it.
    """
    pending, count = [data], 0
    while pending:
        children = _children(pending.pop())
        count += len(children)
        if count > limit:
            raise UserError(
                f"{name} repeats its YAML anchors into more values than it has characters; "
                "write the values out instead."
            )
        pending.extend(children)


def _children(value: Any) -> list:
    """What a value holds: a mapping's keys and values, a list's items."""
    if isinstance(value, dict):
        return [*value, *value.values()]
    return value if isinstance(value, list) else []


def _workspace(name: Any) -> str:
    try:
        return check_workspace(name)
    except ValueError as error:
        raise UserError(f"The sweep's workspace {error}.") from None


def _limit(limit: Any) -> int | None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise UserError(
            f"The sweep's limit must be a positive whole number of training samples, not {shown(limit)}."
        )
    return limit


def _listed(plan: dict, key: str, default: list | None = None) -> list:
    """The entries under ``key``; a single entry counts as a list of one."""
    value = plan.get(key, default)
    value = value if isinstance(value, list) else [value]
    if not value or value == [None]:
        raise UserError(f"The sweep's {key} must list at least one entry.")
    return value


def _described(entry: Any, limit: int | None) -> dict[str, Any]:
    """A dataset entry (an id, or an object with an id and settings) as a dataset description."""
    if isinstance(entry, str):
        entry = {"id": entry}
    if not isinstance(entry, dict) or set(entry) - {"id", "settings"} or not isinstance(entry.get("id"), str):
        raise UserError(
            "Each of the sweep's datasets is an id, or an object with an id and settings, "
            f"not {shown(entry)}."
        )
    description = {"id": entry["id"], "settings": entry.get("settings") or {}}
    return {**description, "limit": limit} if limit else description


def _model_entry(entry: Any) -> str | ModelSpec:
    """A preset's name (looked up once its dataset is known) or a spec, checked now."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict):
        return ModelSpec.from_dict(entry)
    raise UserError(f"Each of the sweep's models is a preset's name or a spec object, not {shown(entry)}.")


def _resolved(entry: str | ModelSpec, dataset: Dataset, limits: Limits) -> ModelSpec:
    """The preset ``entry`` names for this dataset, or the spec ``entry`` once it is found to fit it."""
    if isinstance(entry, str):
        return named_preset(entry, dataset)
    problems = trace_model(entry, dataset.signature, limits).problems
    if problems:
        raise UserError(f"The sweep's model '{entry.name}' does not fit {dataset.info.id}: {problems[0]}")
    return entry


def named_preset(name: str, dataset: Dataset) -> ModelSpec:
    """The preset called ``name`` for this dataset, or one sentence that lists the presets it has."""
    presets = presets_for(dataset.signature)
    if name not in presets:
        known = ", ".join(presets) or "none fits this server's limits"
        raise UserError(f"There is no preset called {shown(name)} for {dataset.info.id}; presets: {known}.")
    return presets[name]


def _train_choices(train: Any) -> dict[str, list]:
    """Each training setting's values (a single value counts as a list of one)."""
    if not isinstance(train, dict):
        raise UserError("The sweep's train must map setting names to a value or a list of values.")
    unknown = set(train) - {p.name for p in TRAIN_SETTINGS if p.name != "seed"}
    if unknown:
        raise UserError(
            f"The sweep's train has an unknown setting {shown(sorted(map(str, unknown))[0])}; "
            "use seeds for seeds."
        )
    choices = {name: value if isinstance(value, list) else [value] for name, value in train.items()}
    empty = [name for name, values in choices.items() if not values]
    if empty:
        raise UserError(f"The sweep's train lists no value for {empty[0]}.")
    return choices
