"""Sweeps: a grid of datasets x models x seeds x training settings, read from a YAML or JSON file."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.datasets import Dataset
from core.datasets.described import load_described
from core.errors import SpecError, UserError
from core.presets import presets_for
from core.spec import ModelSpec
from core.tasks import TRAIN_SETTINGS, check_train_settings
from core.trace import trace_model

KEYS = {"workspace", "datasets", "models", "seeds", "train", "limit"}
MAX_RUNS = 500


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


def read_sweep(path: Path) -> Sweep:
    """Read and check a sweep file; every dataset loads and every model is traced before any run."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UserError(f"The sweep file {path} cannot be read ({error.strerror}).") from None
    try:
        plan = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise UserError(
            f"The sweep file {path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'} "
            f"({str(error).splitlines()[0]})."
        ) from None
    if not isinstance(plan, dict) or not {"datasets", "models"} <= set(plan) or set(plan) - KEYS:
        optional = ", ".join(sorted(KEYS - {"datasets", "models"}))
        raise UserError(f"A sweep file holds datasets and models, and optionally {optional}.")
    datasets = [_dataset(_described(entry, plan.get("limit"))) for entry in _listed(plan, "datasets")]
    seeds = _listed(plan, "seeds", [42])
    grid = _train_grid(plan.get("train", {}))
    runs = [
        PlannedRun(dataset, description, spec, {**combo, "seed": seed})
        for dataset, description in datasets
        for spec in (_model(entry, dataset) for entry in _listed(plan, "models"))
        for seed in seeds
        for combo in grid
    ]
    if len(runs) > MAX_RUNS:
        raise UserError(f"The sweep makes {len(runs)} runs; at most {MAX_RUNS} are allowed in one file.")
    for run in runs:
        try:
            run.settings = check_train_settings(run.settings, run.dataset.signature.task)
        except SpecError as error:
            raise UserError(f"Sweep file: {error.problems[0]}") from None
    workspace = plan.get("workspace", "sweep")
    if not isinstance(workspace, str) or not workspace:
        raise UserError("The sweep's workspace must be a name.")
    return Sweep(workspace, runs)


def _listed(plan: dict, key: str, default: list | None = None) -> list:
    value = plan.get(key, default)
    value = value if isinstance(value, list) else [value]
    if not value or value == [None]:
        raise UserError(f"The sweep's {key} must list at least one entry.")
    return value


def _described(entry: Any, limit: Any) -> dict[str, Any]:
    """A dataset entry (an id, or an id with settings) as a dataset description."""
    if isinstance(entry, str):
        entry = {"id": entry}
    if not isinstance(entry, dict) or set(entry) - {"id", "settings"}:
        raise UserError("Each of the sweep's datasets is an id, or an object with id and settings.")
    description = {"id": entry.get("id"), "settings": entry.get("settings") or {}}
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise UserError("The sweep's limit must be a positive whole number of training samples.")
        description["limit"] = limit
    return description


def _dataset(description: dict[str, Any]) -> tuple[Dataset, dict[str, Any]]:
    return load_described(description, fetch_missing=True), description


def _model(entry: Any, dataset: Dataset) -> ModelSpec:
    if isinstance(entry, str):
        presets = presets_for(dataset.signature)
        if entry not in presets:
            raise UserError(
                f"There is no preset called {entry!r} for {dataset.info.id}; presets: {', '.join(presets)}."
            )
        return presets[entry]
    spec = ModelSpec.from_dict(entry)
    problems = trace_model(spec, dataset.signature).problems
    if problems:
        raise UserError(f"The sweep's model '{spec.name}' does not fit {dataset.info.id}: {problems[0]}")
    return spec


def _train_grid(train: Any) -> list[dict[str, Any]]:
    """Every combination of the listed training settings (a single value counts as a list of one)."""
    if not isinstance(train, dict):
        raise UserError("The sweep's train must map setting names to a value or a list of values.")
    known = {p.name for p in TRAIN_SETTINGS} - {"seed"}
    unknown = set(train) - known
    if unknown:
        raise UserError(
            f"The sweep's train has an unknown setting {sorted(unknown)[0]!r}; use seeds for seeds."
        )
    names = list(train)
    choices = [value if isinstance(value, list) else [value] for value in train.values()]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*choices)]
