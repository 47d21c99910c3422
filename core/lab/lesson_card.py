"""The lesson's comparison card, filled from this comparison's own measurements.

The lesson ends with a card: decide by the data's structure (a 2-D grid or a sequence), then weigh local
feature extraction, contextual memory, parallelization and typical uses. Here each row holds, per model
(seed group), what was measured: receptive field and the first convolution's span, the memory horizon
against the sequence length, the cost-vs-length slope and samples per second, where each family won, and
accuracy by text length. A cell without a measurement says how to get one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.compare.memory import step_word, steps_text
from core.compare.seed_groups import SeedGroup, metric_values, seed_groups
from core.compare.significance import p_equals, pair_verdict
from core.compare.table import comparable_groups, summary
from core.datasets import DATASETS
from core.lab.length_cost import growth
from core.model.layers import KINDS
from core.model.receptive_field import receptive_field
from core.runs.record import RunStatus, comparable_key, group_label, input_gradient, modality_of, task_of
from core.tasks.registry import TASKS

BUCKETS = 4  # accuracy by text length: quartiles of the test texts' token counts
FAMILIES = {"cnn": "CNN", "rnn": "RNN", "hybrid": "CNN+RNN hybrid"}
GRID = "images"  # the modality read as a 2-D grid; every other one is a sequence
RETRAIN = "train this model again on Train"
MEASURE_COST = "press Measure cost against length below"
LENGTH_SETTINGS = ("sequence_length", "length", "window")  # dataset settings that give the steps


@dataclass(frozen=True)
class CardRow:
    """One row of the card: what the lesson weighs, a cell per model, and how to fill the empty ones."""

    title: str
    weighs: str
    cells: dict[str, str]
    missing: list[str] = field(default_factory=list)  # how to get each measurement the row lacks
    summary: str = ""  # a sentence over the whole row, where it has one


def sequence_length(record: dict[str, Any]) -> int | None:
    """The steps the run's model read: the length of its gradient profile, or its dataset's setting."""
    if found := input_gradient(record):
        return len(found[-1])
    settings = record["config"]["dataset"].get("settings") or {}
    info = DATASETS.get(record["config"]["dataset"]["id"])
    defaults = {param.name: param.default for param in info.settings} if info else {}
    values = {**defaults, **settings}
    return next((int(values[name]) for name in LENGTH_SETTINGS if name in values), None)


def _structure(group: SeedGroup) -> str:
    record = group.runs[0]
    modality = modality_of(record) or "data"
    steps = sequence_length(record)
    if modality == GRID:
        return f"{modality}: a 2-D grid; the lesson's rule points to 2-D convolutions"
    length = f" of {steps_text(steps, step_word(record))}" if steps else ""
    return f"{modality}: a sequence{length}; the lesson's rule points to recurrent layers or 1-D convolutions"


def _first_convolution(layers: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((layer for layer in layers if KINDS[layer["kind"]].category == "convolution"), None)


def _local_features(group: SeedGroup) -> str:
    """The receptive field, and what one filter of the first convolution spans (its kernel in words)."""
    record = group.runs[0]
    layers = (record["config"].get("model") or {}).get("layers") or []
    unit = step_word(record)
    field_text = receptive_field({"layers": layers}).sentence(unit)
    conv = _first_convolution(layers)
    if conv is None:
        return f"{field_text} No convolution: no filter looks at a local window; each step is read in turn."
    kernel, dilation = conv.get("kernel_size", 3), conv.get("dilation_rate", 1)
    if conv["kind"] == "Conv2D":
        span = f"a {kernel} x {kernel}-pixel patch"
    else:
        taps = f"{kernel} {unit}s" + (f" spread over {dilation * (kernel - 1) + 1}" if dilation > 1 else "")
        span = f"{taps} at a time ({kernel}-grams)" if unit == "token" else taps
    return f"{field_text} Each filter of the first {conv['kind']} responds to {span}."


def _memory(group: SeedGroup) -> str | None:
    """The median memory horizon over the group's probed runs against the sequence length, or None."""
    horizons = metric_values(group.runs, "memory_horizon")
    if not horizons:
        return None
    record = group.runs[0]
    horizon, steps = int(np.median(horizons)), sequence_length(record)
    of = f" of {steps_text(steps, step_word(record))} ({horizon / steps:.0%})" if steps else ""
    return f"The gradient reaches back {steps_text(horizon, step_word(record))}{of}."


def _speed(group: SeedGroup, slopes: dict[str, float]) -> tuple[str, bool]:
    """Samples per second while training and, where measured, the slope of cost against length; and
    whether the slope was measured.
    """
    rates = [summary(run)["samples_per_second"] for run in group.runs]
    rates = [rate for rate in rates if rate is not None]
    parts = [f"trained {np.mean(rates):,.0f} samples/s here"] if rates else []
    slope = slopes.get(group.label)
    if slope is not None:
        parts.append(f"time per sample ~ T^{slope:.2f} ({growth(slope)})")
    text = "; ".join(parts)
    return (text[:1].upper() + text[1:] + "." if text else ""), slope is not None


def length_accuracy(groups: list[SeedGroup], buckets: int = BUCKETS) -> pd.DataFrame:
    """Accuracy by text length: the test texts' token counts cut at their quantiles (the same cuts for
    every model, from the first run that kept lengths), then per group and bucket the share of its runs'
    test examples it got right. Columns: model, bucket, first, last (tokens), accuracy, examples.
    """
    columns = ["model", "bucket", "first", "last", "accuracy", "examples"]
    kept = {group.label: [_results(run) for run in group.runs] for group in groups}
    reference = next((found for runs in kept.values() for found in runs if found), None)
    if reference is None:
        return pd.DataFrame(columns=columns)
    edges = bucket_edges(reference["length"], buckets)
    rows = []
    for label, runs in kept.items():
        frame = pd.concat([_hits(found, edges) for found in runs if found] or [pd.DataFrame()])
        if frame.empty:
            continue
        for index, group in frame.groupby("bucket", sort=True):
            first, last = int(edges[index]) + 1, int(edges[index + 1])
            rows.append(
                {
                    "model": label,
                    "bucket": f"{first}–{last} tokens" if first < last else f"{last} tokens",
                    "first": first,
                    "last": last,
                    "accuracy": float(group["hit"].mean()),
                    "examples": len(group),
                }
            )
    return pd.DataFrame(rows, columns=columns)


def bucket_edges(lengths: list[int], buckets: int = BUCKETS) -> np.ndarray:
    """Whole-token edges: bucket ``i`` holds the lengths above ``edges[i]`` up to ``edges[i + 1]``, cut at
    the lengths' quantiles (fewer buckets where quantiles coincide).
    """
    values = np.asarray(lengths)
    cuts = np.floor(np.quantile(values, np.linspace(0, 1, buckets + 1)[1:])).astype(int)
    return np.unique(np.concatenate([[values.min() - 1], cuts]))


def _results(record: dict[str, Any]) -> dict[str, Any] | None:
    results = (record.get("metrics") or {}).get("test_results") or {}
    return results if "length" in results else None


def _hits(results: dict[str, Any], edges: np.ndarray) -> pd.DataFrame:
    """Each kept example's bucket (by ``bucket_edges``) and whether the model got it right."""
    lengths = np.asarray(results["length"])
    bucket = np.clip(np.searchsorted(edges, lengths, side="left") - 1, 0, len(edges) - 2)
    hit = np.asarray(results["true"]) == np.asarray(results["predicted"])
    return pd.DataFrame({"bucket": bucket, "hit": hit})


def _length_cells(groups: list[SeedGroup], frame: pd.DataFrame) -> dict[str, str]:
    cells = {}
    for group in groups:
        rows = frame[frame["model"] == group.label]
        cells[group.label] = ", ".join(f"{row.bucket}: {row.accuracy:.3f}" for row in rows.itertuples())
    return cells


def family_wins(records: list[dict[str, Any]]) -> list[str]:
    """Per dataset where two families were trained: the best configuration of each family (by the mean
    main test metric over its completed runs' seeds), the best two families tested against each other
    (``core.compare.significance.pair_verdict``, the verdict every tab shows), in one sentence each.
    """
    sentences = []
    completed = [record for record in records if record["status"] == RunStatus.COMPLETED]
    for runs in comparable_groups(completed).values():
        task = TASKS[task_of(runs[0])]
        main = task.main_column
        best: dict[str, tuple[float, SeedGroup]] = {}
        for group in seed_groups(runs):
            values = metric_values(group.runs, main.key)
            family = group.runs[0]["family"]
            if not values or family not in FAMILIES:
                continue
            score = float(np.mean(values)) * (1 if main.higher else -1)
            if family not in best or score > best[family][0]:
                best[family] = (score, group)
        if len(best) < 2:
            continue
        (_, first), (_, second) = sorted(best.values(), key=lambda item: -item[0])[:2]
        sentences.append(f"{group_label(runs[0])}: {_win(first, second, main.title)}")
    return sentences


def _win(first: SeedGroup, second: SeedGroup, metric: str) -> str:
    """Which family won between the best two, by the one pair verdict (``pair_verdict``)."""
    a, b = FAMILIES[first.runs[0]["family"]], FAMILIES[second.runs[0]["family"]]
    metric = metric if metric.isupper() else metric.lower()
    lead = f"{a} ({first.label}) leads {b} ({second.label}) on {metric}"
    found = pair_verdict(first.runs, second.runs, (first.label, second.label))
    if found.test is None:
        return f"{lead}, not tested: {found.reason}"
    if found.better == "a":
        return f"{a} won: {lead}, {found.test} {p_equals(found.p_value)}."
    if found.better == "b":  # the test's paired measure disagrees with the mean
        return f"{b} won by {found.test} ({p_equals(found.p_value)}), though {lead} on average."
    return f"no family won: {lead}, not significantly ({found.test} {p_equals(found.p_value)})."


def card_rows(
    selected: list[dict[str, Any]],
    records: list[dict[str, Any]],
    slopes: dict[str, float] | None = None,
    cost_missing: str = MEASURE_COST,
) -> tuple[list[SeedGroup], list[CardRow]]:
    """The card for the selected runs (a column per seed group), from their own measurements: ``records``
    are all runs so far (where each family won), ``slopes`` the log-log slope of training time per sample
    against the sequence length per group label (``core.lab.length_cost``), and ``cost_missing`` how to get
    the slopes that are not there.
    """
    groups = seed_groups(selected)
    slopes = slopes or {}
    labels = [group.label for group in groups]
    rows = [
        CardRow(
            "Data structure",
            "A 2-D grid or a sequence?",
            {group.label: _structure(group) for group in groups},
        ),
        CardRow(
            "Local feature extraction",
            "What one output position sees; what the first convolution's filters respond to.",
            {group.label: _local_features(group) for group in groups},
        ),
    ]
    memory = {group.label: _memory(group) for group in groups}
    rows.append(
        CardRow(
            "Contextual memory",
            "How far back the input still moves the output (memory horizon) against the sequence length.",
            {label: text or "not measured" for label, text in memory.items()},
            [f"{label}: no gradient profile; {RETRAIN}." for label, text in memory.items() if text is None],
        )
    )
    speed = {group.label: _speed(group, slopes) for group in groups}
    unmeasured = [label for label, (_, measured) in speed.items() if not measured]
    rows.append(
        CardRow(
            "Parallelization",
            "Samples per second, and how time per sample grows with the sequence length T (log-log slope).",
            {label: text or "not measured" for label, (text, _) in speed.items()},
            [f"Cost against length of {', '.join(unmeasured)}: {cost_missing}."] if unmeasured else [],
        )
    )
    shown = {comparable_key(record) for record in selected}  # the selected runs stand for their dataset
    wins = family_wins([r for r in records if comparable_key(r) not in shown] + selected)
    rows.append(
        CardRow(
            "Where each family won",
            "Over every comparable run so far, by dataset, tested for significance where possible.",
            {},
            [] if wins else ["Train a CNN and an RNN on the same data to see which wins."],
            " ".join(_sentence(win) for win in wins),
        )
    )
    lengths = length_accuracy(groups)
    cells = _length_cells(groups, lengths)
    rows.append(
        CardRow(
            "Variable length",
            "Accuracy by text length (quartiles of the test texts' token counts; padding is masked).",
            {label: cells[label] or "not measured" for label in labels},
            _length_missing(groups, cells),
        )
    )
    return groups, rows


def _length_missing(groups: list[SeedGroup], cells: dict[str, str]) -> list[str]:
    missing = []
    for group in groups:
        if cells[group.label]:
            continue
        record = group.runs[0]
        text = modality_of(record) == "text" and TASKS[task_of(record)].accuracy_by_length
        why = (
            f"{RETRAIN} (its test results predate the kept text lengths)"
            if text
            else "text classification only"
        )
        missing.append(f"{group.label}: {why}.")
    return missing


def _sentence(text: str) -> str:
    return text if text.endswith(".") else f"{text}."


def card_frame(groups: list[SeedGroup], rows: list[CardRow]) -> pd.DataFrame:
    """The card as a table: a row per card row, its title, what it weighs and a column per model."""
    return pd.DataFrame(
        [
            {"Row": row.title, "Weighs": row.weighs, **{g.label: row.cells.get(g.label, "") for g in groups}}
            for row in rows
            if row.cells
        ]
    )
