"""Comparing finished runs honestly: runs grouped by dataset, every metric beside its baseline, "best"
only among models that beat it, and a sentence when a model learned nothing.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from core.compare.verdicts import NOT_SHOWN, beats_baseline, may_be_best
from core.model.layers import has_gated_recurrence
from core.runs.record import comparable_key, items_word, run_label, task_of
from core.tasks.registry import GATED_RECURRENT_LAYER, TASKS

COMMON_COLUMNS = [
    ("params", "Parameters", False),
    ("train_seconds", "Training s", False),
    ("seconds_per_epoch", "s / epoch", False),
    ("samples_per_second", "Samples / s", True),
    ("latency_ms", "Latency ms / sample", False),
]
SIZE_AND_SPEED = [title for _, title, _ in COMMON_COLUMNS] + ["Best epoch"]  # a run's cost, not its score


def verdict(record: dict[str, Any]) -> str | None:
    """A sentence when a run learned nothing its baseline does not know; None when it beats it."""
    if beats_baseline(record).verdict != NOT_SHOWN:
        return None
    metrics, task = record["metrics"], TASKS[task_of(record)]
    items = items_word(record)
    share = metrics.get("top_prediction_share", 0.0)
    if share >= 0.9:
        found = f"predicts '{metrics['top_prediction']}' for {share:.0%} of the test {items}"
    else:
        found = task.found.format(items=items, **metrics)
    return f"{record['name']} {found}: {task.told.format(**metrics)}; {advice(record)}."


def advice(record: dict[str, Any]) -> str:
    """What to try, from the task's advice, without suggesting a gated recurrent layer to a model that
    has one.
    """
    gated = has_gated_recurrence((record["config"].get("model") or {}).get("layers") or [])
    tips = [tip for tip in TASKS[task_of(record)].advice if not (gated and tip == GATED_RECURRENT_LAYER)]
    if len(tips) < 3:
        return f"try {' or '.join(tips)}"
    return f"try {', '.join(tips[:-1])}, or {tips[-1]}"


def baseline_sentence(record: dict[str, Any]) -> str | None:
    """What the test split scores without a model, in words (None for runs without baselines)."""
    metrics, task = record.get("metrics") or {}, TASKS[task_of(record)]
    if not all(key in metrics for key, _ in task.baselines):
        return None
    return task.without_model.format(**metrics)


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

    Best is marked only in model columns (never a baseline), only where the values differ, and only
    among completed runs that beat their baseline by the test of ``core.compare.verdicts`` (none when
    no run does), in every column, parameters and seconds included.
    """
    if not records:
        return pd.DataFrame(), {}
    task = TASKS[task_of(records[0])]
    judged = [beats_baseline(record) for record in records]
    rows = []
    for record, found in zip(records, judged, strict=True):
        numbers = summary(record)
        row = {
            "Run": run_label(record),
            "Model": record["name"],
            "Family": record.get("family", ""),
            "Status": record["status"],
        }
        row.update({column.title: numbers[column.key] for column in task.columns})
        row["Beats baseline"] = found.verdict
        row.update({title: numbers[key] for key, title in task.baselines})
        row.update({title: numbers[key] for key, title, _ in COMMON_COLUMNS})
        row["Best epoch"] = best_epoch(record)
        rows.append(row)
    frame = pd.DataFrame(rows)
    eligible = [may_be_best(record, found) for record, found in zip(records, judged, strict=True)]
    best = {column.title: _best(frame[column.title], column.higher, eligible) for column in task.columns}
    best.update({title: _best(frame[title], higher, eligible) for _, title, higher in COMMON_COLUMNS})
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
