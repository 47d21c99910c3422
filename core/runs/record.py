"""The run record: the one definition of what a run is, from the queue to the store, bundles and the CLI.

A record is born in the queue (``core.runs.queue.queued_record``); a worker updates its status, times,
history and metrics and never rebuilds it. Its plain form (``RunRecord.to_dict``) is what pages read
and what bundles, ``train --out`` and ``runs --json`` write, with ``FORMAT_VERSION``. Whatever comes
from outside (a bundle, a store row of an older version, CLI JSON) becomes a ``RunRecord`` through
``RunRecord.from_outside`` or is refused with one sentence. The readers below are the one place where
a record's meaning (its task, modality, label, gradient profiles, what it is comparable with) is read.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from core.datasets import DATASETS
from core.errors import SpecError, UserError
from core.model.spec import FAMILY_NAMES, ModelSpec
from core.runs.schema import check_estimate, check_history, check_metrics, check_signature
from core.shapes import Signature
from core.tasks.registry import TASKS
from core.tasks.settings import check_train_settings

FORMAT_VERSION = 2  # 1: records before this module (no signature); 2: with the dataset signature
VERSION_KEY = "format_version"
PROFILE_KEY = "input_gradient"  # a history entry's per-step input-gradient norms (core.compare.memory)
ITEMS = {"images": "images", "text": "texts", "series": "windows", "sequences": "sequences"}
MOST_NAME, MOST_REASON, MOST_PARAMS = 60, 500, 10**10


class RunStatus(StrEnum):
    """Where a run is in its life: waiting, training, or one of the ways it can end."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    STOPPED = "stopped"  # by request, or cancelled before it started; its partial results are kept
    DIVERGED = "diverged"  # the loss stopped being finite
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # its worker went away; the finished epochs are kept

    @property
    def finished(self) -> bool:
        return self in FINISHED


UNFINISHED = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})
FINISHED = frozenset(RunStatus) - UNFINISHED
ENDED_WITH_RESULTS = frozenset({RunStatus.COMPLETED, RunStatus.STOPPED})  # test metrics were measured


class WorkStatus(StrEnum):
    """Where a download or a calibration is: queued for a worker, being made, done, or failed."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


PENDING = frozenset({WorkStatus.QUEUED, WorkStatus.RUNNING})


@dataclass(frozen=True)
class RunRecord:
    """One run: what was asked (config: dataset, model, train; the data's signature), where it is
    (status, reason, times) and what it gave (history, metrics, the cost estimate).
    """

    id: str
    name: str
    family: str
    dataset: str
    task: str
    status: RunStatus
    config: dict[str, Any]
    reason: str = ""
    params: int = 0
    train_seconds: float = 0.0
    created: float | None = None
    started: float | None = None
    finished: float | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    estimate: dict[str, Any] | None = None  # the cost estimated before training (core.runs.estimates)
    signature: dict[str, Any] | None = None  # the data's Signature.to_dict(), kept at queue time

    def to_dict(self) -> dict[str, Any]:
        """The plain, JSON-able form, with the format version."""
        return {**asdict(self), "status": str(self.status), VERSION_KEY: FORMAT_VERSION}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RunRecord:
        """A record from the store's own columns (JSON already decoded); fields an older store lacks
        take their defaults.
        """
        known = {name: row[name] for name in FIELDS if name in row and row[name] is not None}
        return cls(**{**known, "status": RunStatus(row["status"])})

    @classmethod
    def from_outside(cls, data: Any, where: str = "The run") -> RunRecord:
        """Check a finished run's record from outside whole (types, sizes, its model spec, training
        settings, history and metrics); any problem is one UserError that starts with ``where``.
        """
        if not isinstance(data, dict):
            raise UserError(f"{where} is not an object.")
        version = data.get(VERSION_KEY, 1)
        if version not in range(1, FORMAT_VERSION + 1) or isinstance(version, bool):
            raise UserError(f"{where} has record version {version!r}; this app reads 1 to {FORMAT_VERSION}.")
        run = {key: value for key, value in data.items() if key != VERSION_KEY}
        if unknown := set(run) - set(FIELDS):
            raise UserError(f"{where} has an unknown field {sorted(unknown)[0]!r}.")
        _expect(run.get("id"), str, f"{where} has no valid id.", lambda v: 0 < len(v) <= 64)
        _expect(run.get("name"), str, f"{where} needs a name.", lambda v: 0 < len(v) <= MOST_NAME)
        _expect(run.get("family"), str, f"{where} has an unknown family.", lambda v: v in FAMILY_NAMES)
        _expect(run.get("task"), str, f"{where} has an unknown task.", lambda v: v in TASKS)
        _expect(run.get("status"), str, f"{where} has an unknown status.", lambda v: v in FINISHED_VALUES)
        reason_problem = f"{where} has a reason that is not a short text."
        _expect(run.get("reason", ""), str, reason_problem, lambda v: len(v) <= MOST_REASON)
        count_problem = f"{where} has a parameter count that is not a whole number."
        _expect(run.get("params"), int, count_problem, lambda v: 0 <= v <= MOST_PARAMS)
        for name in ("train_seconds", "created", "started", "finished"):
            words = "training time" if name == "train_seconds" else f"{name} time"
            _expect(run.get(name) or 0, (int, float), f"{where} has a {words} that is not a number.", _time)
        _check_config(run, where)
        try:
            check_history(run.get("history"))
            check_metrics(run["task"], run.get("metrics"))
            check_estimate(run.get("estimate"))
            check_signature(run.get("signature"), run["task"])
        except UserError as error:
            raise UserError(f"{where}: {error}") from None
        return cls(
            **{
                **{name: run[name] for name in FIELDS if run.get(name) is not None},
                "status": RunStatus(run["status"]),
                "params": int(run["params"]),
                "train_seconds": float(run.get("train_seconds") or 0.0),
            }
        )


FIELDS = tuple(item.name for item in fields(RunRecord))
FINISHED_VALUES = frozenset(status.value for status in FINISHED)


def _time(value: float) -> bool:
    try:
        return math.isfinite(value) and value >= 0
    except OverflowError:  # a whole number too large for a float
        return False


def _expect(value: Any, kind: type | tuple[type, ...], message: str, check: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, kind) or not check(value):
        raise UserError(message)


def _check_config(run: dict[str, Any], where: str) -> None:
    """The config names a known dataset of the run's task, a valid model and valid training settings."""
    config = run.get("config")
    if not isinstance(config, dict) or set(config) != {"dataset", "model", "train"}:
        raise UserError(f"{where} needs a config with dataset, model and train.")
    dataset = config["dataset"]
    if not isinstance(dataset, dict) or not isinstance(dataset.get("id"), str) or len(dataset["id"]) > 120:
        raise UserError(f"{where} names no valid dataset.")
    if set(dataset) - {"id", "settings", "limit"} or not isinstance(dataset.get("settings"), dict):
        raise UserError(f"{where} has a dataset that is not an id with settings.")
    limit_problem = f"{where} has a sample limit that is not a positive whole number."
    _expect(dataset.get("limit", 1), int, limit_problem, lambda v: 0 < v <= MOST_PARAMS)
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


# ---- reading a record's plain form ---------------------------------------------------------------


def task_of(record: Mapping[str, Any]) -> str:
    return record.get("task", "classification")


def run_label(record: Mapping[str, Any]) -> str:
    return f"{record['name']} · {record['id'][:6]}"


def modality_of(record: Mapping[str, Any]) -> str:
    description = record["config"]["dataset"]
    info = DATASETS.get(description["id"])
    return info.modality if info else description.get("upload", {}).get("kind", "")


def items_word(record: Mapping[str, Any]) -> str:
    """What one test example of this run is called: images, texts, windows or sequences."""
    return ITEMS.get(modality_of(record), "samples")


def comparable_key(record: Mapping[str, Any]) -> str:
    """Runs with the same key used the same data, split and preprocessing: only they are compared."""
    description = dict(record["config"]["dataset"])
    info = DATASETS.get(description["id"])
    if info is not None:
        with contextlib.suppress(SpecError):  # odd settings: compared only with the very same ones
            description["settings"] = info.check_settings(description.get("settings"))
    return json.dumps(description, sort_keys=True)


def configuration_key(record: Mapping[str, Any]) -> str:
    """Runs with the same key differ at most in their seed: same data, model and training settings."""
    config = record["config"]
    train = {key: value for key, value in (config.get("train") or {}).items() if key != "seed"}
    return json.dumps([comparable_key(record), config.get("model"), train], sort_keys=True)


def seed_of(record: Mapping[str, Any]) -> int | None:
    """The seed the run was trained with."""
    return (record["config"].get("train") or {}).get("seed")


def group_label(record: Mapping[str, Any]) -> str:
    """The data a group of comparable runs used, in words: dataset, changed settings, slice."""
    description = record["config"]["dataset"]
    info = DATASETS.get(description["id"])
    name = info.name if info else description.get("upload", {}).get("name", description["id"])
    defaults = {param.name: param.default for param in info.settings} if info else {}
    changed = [f"{k}={v}" for k, v in sorted(description.get("settings", {}).items()) if defaults.get(k) != v]
    limit = [f"first {description['limit']:,} training samples"] if description.get("limit") else []
    return " · ".join([name, *changed, *limit])


def signature_of(record: Mapping[str, Any]) -> Signature | None:
    """The data's signature as kept at queue time (None for runs queued before it was kept)."""
    return Signature.from_dict(record["signature"]) if record.get("signature") else None


def profiles(record: Mapping[str, Any]) -> list[tuple[int, list[float]]]:
    """Each epoch that has a gradient profile, with it: (epoch number, norm per step)."""
    history = record.get("history") or []
    return [(entry["epoch"], entry[PROFILE_KEY]) for entry in history if PROFILE_KEY in entry]


def input_gradient(record: Mapping[str, Any]) -> list[list[float]]:
    """The run's per-step input-gradient norms, one list per probed epoch, oldest first (an epoch whose
    gradient was not finite, and every epoch of a run trained before the probe, has none).
    """
    return [profile for _, profile in profiles(record)]
