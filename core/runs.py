"""Comparing finished runs: tables, curves and best values, from plain run records."""

from __future__ import annotations

from typing import Any

import pandas as pd

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
)
MAIN_METRIC = {  # the metric a comparison ranks by, and whether higher is better
    "classification": ("accuracy", True),
    "forecasting": ("mae", False),
    "language-model": ("perplexity", False),
}
TASK_COLUMNS = {
    "classification": [("accuracy", "Accuracy", True), ("macro_f1", "Macro F1", True)],
    "forecasting": [
        ("mae", "MAE", False),
        ("rmse", "RMSE", False),
        ("mape", "MAPE %", False),
        ("naive_mae", "Naive MAE", False),
    ],
    "language-model": [("accuracy", "Accuracy", True), ("perplexity", "Perplexity", False)],
}
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


def best_epoch(record: dict[str, Any]) -> int | None:
    history = record.get("history") or []
    scored = [h for h in history if "val_loss" in h]
    return min(scored, key=lambda h: h["val_loss"])["epoch"] if scored else None


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """One row of numbers for a run: test metrics, size, speed and its best epoch."""
    history = record.get("history") or []
    metrics = record.get("metrics") or {}
    row = {key: metrics.get(key) for key, _, _ in TASK_COLUMNS[task_of(record)]}
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


def comparison_table(records: list[dict[str, Any]]) -> tuple[pd.DataFrame, dict[str, bool]]:
    """A row per run with readable column names, and for each numeric column whether higher is better."""
    if not records:
        return pd.DataFrame(), {}
    columns = TASK_COLUMNS[task_of(records[0])] + COMMON_COLUMNS
    rows = []
    for record in records:
        numbers = summary(record)
        row = {
            "Run": run_label(record),
            "Model": record["name"],
            "Family": record.get("family", ""),
            "Status": record["status"],
        }
        row.update({title: numbers[key] for key, title, _ in columns})
        row["Best epoch"] = best_epoch(record)
        rows.append(row)
    return pd.DataFrame(rows), {title: higher for _, title, higher in columns}


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
