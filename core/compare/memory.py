"""Gradients through time: how much the loss depends on each input step, epoch by epoch, and how far
back a trained model's memory reaches against the receptive field its architecture allows.

At each epoch's end the worker takes the gradient of the compiled loss on a fixed probe batch (the
first validation samples) with respect to the input at every time step: the embedding's output for
token ids, a row of pixels for images, a step's features for series. Each history entry keeps the
profile under ``input_gradient``, one norm per step; the run's metrics keep ``receptive_field`` (from
the spec) and ``memory_horizon`` (from the last epoch's profile).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.model.receptive_field import receptive_field
from core.model.spec import ModelSpec
from core.runs.record import input_gradient, modality_of, profiles, run_label

PROBE_SAMPLES = 32  # the probe batch: the first validation samples, the same every epoch
HORIZON_SHARE = 0.01  # the memory horizon reaches back to the farthest step with this share of the peak
HEATMAP_COLUMNS = 200  # longer sequences are drawn in bins of neighbouring steps
STEP_WORDS = {"images": "row", "text": "token"}  # what one step is; series and the rest: a time step


def memory_horizon(profile: Sequence[float]) -> int:
    """How far back the gradient reaches: the steps from the farthest one whose norm is at least 1% of
    the largest through the last step, counted like a receptive field (the last step alone is 1);
    0 when there is no gradient at all.
    """
    values = np.asarray(profile, dtype=float)
    if not len(values) or values.max() <= 0:
        return 0
    farthest = int(np.argmax(values >= HORIZON_SHARE * values.max()))
    return len(values) - farthest


def memory_metrics(spec: ModelSpec | dict[str, Any], history: list[dict[str, Any]]) -> dict[str, int | None]:
    """The run's ``receptive_field`` (steps, None for unbounded) and, when its epochs were probed,
    ``memory_horizon`` from the last profile: for the record's metrics.
    """
    metrics: dict[str, int | None] = {"receptive_field": receptive_field(spec).to_json()}
    if found := input_gradient({"history": history}):
        metrics["memory_horizon"] = memory_horizon(found[-1])
    return metrics


def step_word(record: dict[str, Any]) -> str:
    """What one step of this run's input is: a row, a token or a time step."""
    return STEP_WORDS.get(modality_of(record), "time step")


def steps_text(count: int, unit: str) -> str:
    """E.g. "1 row", "31 time steps"."""
    return f"{count:,} {unit}{'' if count == 1 else 's'}"


def gradient_frame(record: dict[str, Any], columns: int = HEATMAP_COLUMNS) -> pd.DataFrame:
    """The heatmap's cells: epoch, the first and last step of the cell (numbered from 1; steps binned
    when there are more than ``columns``) and the mean norm over them. Cells without any gradient are
    left out: a log scale has no zero.
    """
    found = profiles(record)
    if not found:
        return pd.DataFrame(columns=["epoch", "first", "last", "norm"])
    epochs, rows = zip(*found, strict=True)
    matrix = pd.DataFrame(list(rows), index=list(epochs))
    width = math.ceil(matrix.shape[1] / columns)
    bins = np.arange(matrix.shape[1]) // width
    binned = matrix.T.groupby(bins).mean().T  # epochs x cells
    frame = binned.rename_axis(index="epoch", columns="cell").stack().rename("norm").reset_index()
    frame["first"] = frame["cell"] * width + 1
    frame["last"] = np.minimum(frame["first"] + width - 1, matrix.shape[1])
    return frame.loc[frame["norm"] > 0, ["epoch", "first", "last", "norm"]].reset_index(drop=True)


def memory_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Per probed run, its receptive field and memory horizon on one axis of steps back from the last:
    run, measure, steps (an unbounded receptive field drawn to the sequence length), a short label, a
    sentence for the tooltip, and the run's sequence length.
    """
    rows = []
    for record in records:
        metrics, found = record.get("metrics") or {}, input_gradient(record)
        if "memory_horizon" not in metrics or not found:
            continue
        length, field, horizon = len(found[-1]), metrics["receptive_field"], metrics["memory_horizon"]
        unit = step_word(record)
        shared = {"run": run_label(record), "length": length}
        rows += [
            {
                **shared,
                "measure": "receptive field",
                "steps": length if field is None else field,
                "label": "unbounded" if field is None else steps_text(field, unit),
                "note": receptive_field(record["config"]["model"]).sentence(unit),
            },
            {
                **shared,
                "measure": "memory horizon",
                "steps": horizon,
                "label": steps_text(horizon, unit),
                "note": f"The gradient still reaches 1% of its largest value {steps_text(horizon, unit)} "
                "back, the last one counted.",
            },
        ]
    return pd.DataFrame(rows, columns=["run", "measure", "steps", "label", "note", "length"])
