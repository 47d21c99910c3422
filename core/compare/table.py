"""Comparing finished runs honestly: runs grouped by dataset, every metric beside its baseline, "best"
only among models that beat it, and a sentence when a model learned nothing.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pandas as pd

from core.datasets import DATASETS
from core.errors import SpecError
from core.tasks.registry import TASKS

RECORD_FIELDS = (  # what a run record holds, as stored, exported and imported
    "id",
    "name",
    "family",
    "dataset",
    "task",
    "status",
    "reason",
    "params",
    "train_seconds",
    "created",
    "started",
    "finished",
    "config",
    "history",
    "metrics",
    "estimate",  # the cost estimated before training (core.runs.estimates), with the peak memory measured
)
ITEMS = {"images": "images", "text": "texts", "series": "windows", "sequences": "sequences"}
COMMON_COLUMNS = [
    ("params", "Parameters", False),
    ("train_seconds", "Training s", False),
    ("seconds_per_epoch", "s / epoch", False),
    ("samples_per_second", "Samples / s", True),
    ("latency_ms", "Latency ms / sample", False),
]


def task_of(record: dict[str, Any]) -> str:
    return record.get("task", "classification")


def run_label(record: dict[str, Any]) -> str:
    return f"{record['name']} · {record['id'][:6]}"


def beats_baseline(record: dict[str, Any]) -> bool | None:
    """Whether the run's main test metric is better than its baseline (None where either is missing)."""
    return TASKS[task_of(record)].beats(record.get("metrics") or {})


def verdict(record: dict[str, Any]) -> str | None:
    """A sentence when a run learned nothing its baseline does not know; None when it beats it."""
    if beats_baseline(record) is not False:
        return None
    metrics, task = record["metrics"], TASKS[task_of(record)]
    items = ITEMS.get(modality_of(record), "samples")
    share = metrics.get("top_prediction_share", 0.0)
    if share >= 0.9:
        found = f"predicts '{metrics['top_prediction']}' for {share:.0%} of the test {items}"
    else:
        found = task.found.format(items=items, **metrics)
    return f"{record['name']} {found}: {task.told.format(**metrics)}; {task.advice}."


def baseline_sentence(record: dict[str, Any]) -> str | None:
    """What the test split scores without a model, in words (None for runs without baselines)."""
    metrics, task = record.get("metrics") or {}, TASKS[task_of(record)]
    if not all(key in metrics for key, _ in task.baselines):
        return None
    return task.without_model.format(**metrics)


def modality_of(record: dict[str, Any]) -> str:
    description = record["config"]["dataset"]
    info = DATASETS.get(description["id"])
    return info.modality if info else description.get("upload", {}).get("kind", "")


def comparable_key(record: dict[str, Any]) -> str:
    """Runs with the same key used the same data, split and preprocessing: only they are compared."""
    description = dict(record["config"]["dataset"])
    info = DATASETS.get(description["id"])
    if info is not None:
        with contextlib.suppress(SpecError):  # odd settings: compared only with the very same ones
            description["settings"] = info.check_settings(description.get("settings"))
    return json.dumps(description, sort_keys=True)


def group_label(record: dict[str, Any]) -> str:
    """The data a group of comparable runs used, in words: dataset, changed settings, slice."""
    description = record["config"]["dataset"]
    info = DATASETS.get(description["id"])
    name = info.name if info else description.get("upload", {}).get("name", description["id"])
    defaults = {param.name: param.default for param in info.settings} if info else {}
    changed = [f"{k}={v}" for k, v in sorted(description.get("settings", {}).items()) if defaults.get(k) != v]
    limit = [f"first {description['limit']:,} training samples"] if description.get("limit") else []
    return " · ".join([name, *changed, *limit])


def comparable_groups(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Runs grouped by the data they used, the group with the latest run first."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(comparable_key(record), []).append(record)
    return dict(sorted(groups.items(), key=lambda item: -max(r.get("created") or 0 for r in item[1])))


def best_epoch(record: dict[str, Any]) -> int | None:
    history = record.get("history") or []
    scored = [h for h in history if "val_loss" in h]
    return min(scored, key=lambda h: h["val_loss"])["epoch"] if scored else None


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """One row of numbers for a run: test metrics, their baselines, size and speed."""
    history = record.get("history") or []
    metrics = record.get("metrics") or {}
    task = TASKS[task_of(record)]
    row = {column.key: metrics.get(column.key) for column in task.columns}
    row.update({key: metrics.get(key) for key, _ in task.baselines})
    row.update(
        {
            "params": record.get("params"),
            "train_seconds": record.get("train_seconds"),
            "seconds_per_epoch": (sum(h["seconds"] for h in history) / len(history)) if history else None,
            "samples_per_second": (sum(h["samples_per_second"] for h in history) / len(history))
            if history
            else None,
            "latency_ms": metrics.get("latency_ms"),
        }
    )
    return row


def comparison_table(records: list[dict[str, Any]]) -> tuple[pd.DataFrame, dict[str, list[bool]]]:
    """A row per run of one dataset with readable column names, and the cells to mark as best.

    Best is marked only in model columns (never a baseline), only where the values differ, and a
    test metric's best only among runs that beat their baseline (none when no run does).
    """
    if not records:
        return pd.DataFrame(), {}
    task = TASKS[task_of(records[0])]
    rows = []
    for record in records:
        numbers = summary(record)
        beats = beats_baseline(record)
        row = {
            "Run": run_label(record),
            "Model": record["name"],
            "Family": record.get("family", ""),
            "Status": record["status"],
        }
        row.update({column.title: numbers[column.key] for column in task.columns})
        row["Beats baseline"] = {True: "yes", False: "no", None: "–"}[beats]
        row.update({title: numbers[key] for key, title in task.baselines})
        row.update({title: numbers[key] for key, title, _ in COMMON_COLUMNS})
        row["Best epoch"] = best_epoch(record)
        rows.append(row)
    frame = pd.DataFrame(rows)
    learned = [beats_baseline(record) is True for record in records]
    best = {column.title: _best(frame[column.title], column.higher, learned) for column in task.columns}
    best.update(
        {title: _best(frame[title], higher, [True] * len(records)) for _, title, higher in COMMON_COLUMNS}
    )
    return frame, best


def _best(column: pd.Series, higher: bool, eligible: list[bool]) -> list[bool]:
    """Which cells hold the best value among the eligible rows (none when the values do not differ)."""
    values = pd.to_numeric(column, errors="coerce").where(eligible)
    distinct = values.dropna().unique()
    if len(distinct) == 0 or (len(distinct) == 1 and values.notna().all()):
        return [False] * len(column)
    target = values.max() if higher else values.min()
    return [bool(value == target) for value in values]


def curves(records: list[dict[str, Any]], metric: str) -> pd.DataFrame:
    """Long-form learning curves: run, epoch, wall seconds, split (train or validation), value."""
    rows = []
    for record in records:
        for entry in record.get("history") or []:
            for split, key in (("train", metric), ("validation", f"val_{metric}")):
                if key in entry:
                    rows.append(
                        {
                            "run": run_label(record),
                            "epoch": entry["epoch"],
                            "wall_seconds": entry["wall_seconds"],
                            "split": split,
                            "value": entry[key],
                        }
                    )
    return pd.DataFrame(rows, columns=["run", "epoch", "wall_seconds", "split", "value"])


def curve_metrics(records: list[dict[str, Any]]) -> list[str]:
    """Metric names that have a training curve in every one of these runs, loss first."""
    names: list[str] | None = None
    for record in records:
        history = record.get("history") or []
        found = [key for key in (history[0] if history else {}) if f"val_{key}" in history[0]]
        names = found if names is None else [n for n in names if n in found]
    return names or []
