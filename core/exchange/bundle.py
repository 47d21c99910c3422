"""Comparison bundles: runs exported as one JSON file and imported elsewhere, validated strictly."""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import time
from typing import Any

from core import budget
from core.compare.table import RECORD_FIELDS
from core.datasets import DATASETS
from core.errors import SpecError, UserError
from core.model.spec import ModelSpec
from core.runs.schema import check_estimate, check_history, check_metrics
from core.runs.store import RunStore
from core.tasks.registry import TASKS
from core.tasks.settings import check_train_settings

FORMAT = "cnn-rnn-dashboard/runs"
VERSION = 1
MAX_RUNS = 200
FAMILIES = ("cnn", "rnn", "hybrid", "mlp")
STATUSES = ("completed", "stopped", "diverged", "failed", "interrupted")


def export_bundle(records: list[dict[str, Any]]) -> str:
    """The runs (configs, per-epoch histories, test metrics) as one JSON document; uploaded data
    stays behind (only its name travels).
    """
    runs = [{key: record.get(key) for key in RECORD_FIELDS} for record in records]
    for run in runs:
        dataset = {key: value for key, value in run["config"]["dataset"].items() if key != "upload"}
        run["config"] = {**run["config"], "dataset": dataset}
    return json.dumps({"format": FORMAT, "version": VERSION, "exported": time.time(), "runs": runs}, indent=1)


def import_bundle(data: bytes, workspace: str) -> list[dict[str, Any]]:
    """Read a bundle for a workspace; every run is checked whole. Any problem: one UserError.

    Each run's id is made from the workspace and the run's content, so importing the same bundle
    twice gives the same ids (the store keeps one copy).
    """
    if len(data) > budget.BUNDLE_BYTES:
        megabytes, limit = len(data) / 1e6, budget.BUNDLE_BYTES / 1e6
        raise UserError(f"The bundle is {megabytes:.1f} MB; at most {limit:.0f} MB are accepted.")
    try:
        bundle = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise UserError("The bundle is not a JSON file.") from None
    except RecursionError:
        raise UserError("The bundle nests too deeply to be read.") from None
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise UserError(f"The file is not a bundle of this app (its format should be {FORMAT!r}).")
    if bundle.get("version") != VERSION:
        raise UserError(
            f"The bundle has version {bundle.get('version')!r}; this app reads version {VERSION}."
        )
    runs = bundle.get("runs")
    if not isinstance(runs, list) or not 1 <= len(runs) <= MAX_RUNS:
        raise UserError(f"The bundle must hold 1 to {MAX_RUNS} runs.")
    return [
        {**_check_run(number, run), "id": _content_id(workspace, run)}
        for number, run in enumerate(runs, start=1)
    ]


def import_into(store: RunStore, data: bytes, workspace: str) -> tuple[int, int]:
    """Check a bundle and save all its runs in one transaction, or none; returns how many runs were
    added and how many were already in the workspace (imported before).
    """
    records = import_bundle(data, workspace)
    try:
        added = store.import_runs(records, workspace)
    except sqlite3.Error as error:
        raise UserError(
            f"The runs could not be saved to {store.path} ({error}); nothing was imported."
        ) from None
    return added, len(records) - added


def _content_id(workspace: str, run: dict[str, Any]) -> str:
    canonical = json.dumps([workspace, run], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:10]


def _check_run(number: int, run: Any) -> dict[str, Any]:
    where = f"Run {number} of the bundle"
    if not isinstance(run, dict):
        raise UserError(f"{where} is not an object.")
    unknown = set(run) - set(RECORD_FIELDS)
    if unknown:
        raise UserError(f"{where} has an unknown field {sorted(unknown)[0]!r}.")
    _expect(run.get("name"), str, f"{where} needs a name.", lambda v: 0 < len(v) <= 60)
    _expect(run.get("family"), str, f"{where} has an unknown family.", lambda v: v in FAMILIES)
    _expect(run.get("task"), str, f"{where} has an unknown task.", lambda v: v in TASKS)
    _expect(run.get("status"), str, f"{where} has an unknown status.", lambda v: v in STATUSES)
    _expect(
        run.get("reason", ""), str, f"{where} has a reason that is not a short text.", lambda v: len(v) <= 500
    )
    _expect(
        run.get("params"),
        int,
        f"{where} has a parameter count that is not a whole number.",
        lambda v: 0 <= v <= 10**10,
    )
    _expect(
        run.get("train_seconds", 0),
        (int, float),
        f"{where} has a training time that is not a number.",
        lambda v: math.isfinite(v) and v >= 0,
    )
    config = run.get("config")
    if not isinstance(config, dict) or set(config) != {"dataset", "model", "train"}:
        raise UserError(f"{where} needs a config with dataset, model and train.")
    dataset = config["dataset"]
    if not isinstance(dataset, dict) or not isinstance(dataset.get("id"), str) or len(dataset["id"]) > 120:
        raise UserError(f"{where} names no valid dataset.")
    if set(dataset) - {"id", "settings", "limit"} or not isinstance(dataset.get("settings"), dict):
        raise UserError(f"{where} has a dataset that is not an id with settings.")
    _expect(
        dataset.get("limit", 1),
        int,
        f"{where} has a sample limit that is not a positive whole number.",
        lambda v: v > 0,
    )
    if dataset["id"] != run.get("dataset"):
        raise UserError(f"{where} names two different datasets.")
    if not (dataset["id"] in DATASETS or dataset["id"].startswith("upload:")):
        raise UserError(f"{where} names an unknown dataset {dataset['id'][:40]!r}.")
    if dataset["id"] in DATASETS and DATASETS[dataset["id"]].task != run["task"]:
        raise UserError(
            f"{where} has the task {run['task']}, but its dataset is for {DATASETS[dataset['id']].task}."
        )
    try:
        ModelSpec.from_dict(config["model"])
        check_train_settings(config["train"], run["task"])
    except SpecError as error:
        raise UserError(f"{where}: {error.problems[0]}") from None
    for field in ("created", "started", "finished"):
        _expect(
            run.get(field, 0) or 0,
            (int, float),
            f"{where} has a {field} time that is not a number.",
            lambda v: math.isfinite(v) and v >= 0,
        )
    try:
        check_history(run.get("history"))
        check_metrics(run["task"], run.get("metrics"))
        check_estimate(run.get("estimate"))
    except UserError as error:
        raise UserError(f"{where}: {error}") from None
    return {**run, "reason": run.get("reason", "")}


def _expect(value: Any, kind: type | tuple, message: str, check: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, kind) or not check(value):
        raise UserError(message)
