"""Comparison bundles: runs exported as one JSON file and imported elsewhere, validated strictly."""

from __future__ import annotations

import json
import math
import time
import uuid
from typing import Any

from core.datasets import DATASETS
from core.errors import SpecError, UserError
from core.runs import RECORD_FIELDS
from core.spec import ModelSpec
from core.tasks import LOSSES, check_train_settings

FORMAT = "cnn-rnn-dashboard/runs"
VERSION = 1
MAX_BUNDLE_BYTES = 5 * 1024 * 1024
MAX_RUNS = 200
MAX_EPOCHS = 1000
FAMILIES = ("cnn", "rnn", "hybrid", "mlp")
STATUSES = ("completed", "stopped", "diverged", "failed", "interrupted")


def export_bundle(records: list[dict[str, Any]]) -> str:
    """The runs (configs, per-epoch histories, test metrics) as one JSON document."""
    runs = [{key: record.get(key) for key in RECORD_FIELDS} for record in records]
    return json.dumps({"format": FORMAT, "version": VERSION, "exported": time.time(), "runs": runs}, indent=1)


def import_bundle(data: bytes) -> list[dict[str, Any]]:
    """Read a bundle; every run is checked, and each gets a fresh id. Any problem: one UserError."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise UserError(
            f"The bundle is {len(data) / 1e6:.1f} MB; at most {MAX_BUNDLE_BYTES / 1e6:.0f} MB are accepted."
        )
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
    return [_check_run(number, run) for number, run in enumerate(runs, start=1)]


def _check_run(number: int, run: Any) -> dict[str, Any]:
    where = f"Run {number} of the bundle"
    if not isinstance(run, dict):
        raise UserError(f"{where} is not an object.")
    unknown = set(run) - set(RECORD_FIELDS)
    if unknown:
        raise UserError(f"{where} has an unknown field {sorted(unknown)[0]!r}.")
    _expect(run.get("name"), str, f"{where} needs a name.", lambda v: 0 < len(v) <= 60)
    _expect(run.get("family"), str, f"{where} has an unknown family.", lambda v: v in FAMILIES)
    _expect(run.get("task"), str, f"{where} has an unknown task.", lambda v: v in LOSSES)
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
    try:
        ModelSpec.from_dict(config["model"])
        check_train_settings(config["train"], run["task"])
    except SpecError as error:
        raise UserError(f"{where}: {error.problems[0]}") from None
    history = run.get("history")
    if not isinstance(history, list) or len(history) > MAX_EPOCHS or not all(map(_numbers, history)):
        raise UserError(f"{where} has a history that is not a list of epochs with numbers.")
    metrics = run.get("metrics")
    if not isinstance(metrics, dict) or not all(isinstance(key, str) for key in metrics):
        raise UserError(f"{where} has metrics that are not an object.")
    for key, value in metrics.items():
        if isinstance(value, float) and not math.isfinite(value) and key != "mape":
            raise UserError(f"{where} has a metric {key[:40]!r} that is not a finite number.")
    return {**run, "id": uuid.uuid4().hex[:10], "reason": run.get("reason", "")}


def _expect(value: Any, kind: type | tuple, message: str, check: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, kind) or not check(value):
        raise UserError(message)


def _numbers(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and all(
            isinstance(key, str)
            and len(key) <= 40
            and isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
            for key, value in entry.items()
        )
        and isinstance(entry.get("epoch"), int)
    )
