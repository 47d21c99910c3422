"""Gradients through time: how much the loss depends on each input step, epoch by epoch, and how far
back a trained model's memory reaches against the receptive field its architecture allows.

At each epoch's end the worker takes the gradient of the compiled loss on a fixed probe batch (the
first validation samples) with respect to the input at every time step: the embedding's output for
token ids, a row of pixels for images, a step's features for series. Each history entry keeps the
profile under ``input_gradient``, one norm per step; the run's metrics keep ``receptive_field`` (from
the spec) and ``memory_horizon`` (from the last epoch's profile). ``Memory.sentence`` tells what the two
mean for one run: how much of the window its output sees, and whether its memory is limited by what it
learned, by its architecture or by the window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.model.receptive_field import ReceptiveField, receptive_field
from core.model.spec import ModelSpec
from core.runs.record import input_gradient, modality_of, profiles, run_label, task_of
from core.tasks.registry import TASKS

PROBE_SAMPLES = 32  # the probe batch: the first validation samples, the same every epoch
HORIZON_SHARE = 0.01  # the memory horizon reaches back to the farthest step with this share of the peak
HEATMAP_COLUMNS = 200  # longer sequences are drawn in bins of neighbouring steps
STEP_WORDS = {"images": "row", "text": "token"}  # what one step is; series and the rest: a time step
MOST_DECADES = 6  # a colour legend shows at most this many powers of ten


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


def log_ticks(low: float, high: float) -> list[float]:
    """Readable values for a log-scale legend from ``low`` to ``high`` (both above 0): the powers of ten
    between them (at most ``MOST_DECADES``, evenly spread), or 1, 2 and 5 times each where fewer than
    three powers fall inside, or the two ends where even those are fewer.
    """
    powers = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    for factors in ((1.0,), (1.0, 2.0, 5.0)):
        ticks = [f * 10.0**power for power in powers for f in factors if low <= f * 10.0**power <= high]
        if len(ticks) >= 3:
            return ticks[:: math.ceil(len(ticks) / MOST_DECADES)] if len(factors) == 1 else ticks
    return [low, high]


@dataclass(frozen=True)
class Memory:
    """A probed run's receptive field against its memory horizon, counted in its input steps."""

    label: str  # the run as users see it (``run_label``)
    field: ReceptiveField
    horizon: int
    length: int  # the input's steps
    unit: str  # what one step is
    per_step: bool  # its task has an output at every step

    def _steps(self, count: int) -> str:
        return steps_text(count, self.unit)

    @property
    def field_steps(self) -> int:
        """How far back the field's bar reaches: the whole window where the output sees all of it, else
        one position's field (longer than the window where the architecture allows more).
        """
        if self.field.steps is None:
            return self.length
        return max(self.field.steps, self.length) if self.field.combined_by else self.field.steps

    def field_label(self) -> str:
        """The field's bar in words: "unbounded", "all 24 rows (Flatten; 8 per position)", "31 time steps"."""
        field = self.field.steps
        if field is None:
            return "unbounded"
        if self.field.combined_by and field < self.length:
            return f"all {self._steps(self.length)} ({self.field.combined_by}; {field:,} per position)"
        return self._steps(field)

    def _sees(self) -> str:
        """How much of the window the output sees, and through what."""
        field, combined, window = self.field.steps, self.field.combined_by, self._steps(self.length)
        if field is None:
            return f"its recurrent state carries all {window}"
        if field > self.length:
            return f"one position sees {self._steps(field)}, more than the whole window of {self.length:,}"
        if field == self.length:
            return f"one position sees the whole window of {window}"
        if combined:
            return (
                f"{combined} lets its output see all {window}, though one position before it sees {field:,}"
            )
        return f"one position sees {field:,} of the {window}"

    def _reach(self) -> str:
        """How far back the gradient reaches, and what limits it."""
        field, combined, horizon = self.field.steps, self.field.combined_by, self.horizon
        whole = horizon >= self.length
        reach = f"all {self._steps(self.length)}" if whole else f"{self._steps(horizon)} back"
        words = [f"its gradient reaches {reach}"]
        if field is not None and horizon > field and (combined or self.per_step):
            why = (
                f"only {combined} combining the positions makes"
                if combined
                else "the outputs at every step make"
            )
            words.append(f"more than the {field:,} one position sees, which {why} possible")
        if whole and not self.per_step:
            words.append("so the window, not the model, is the limit: a longer window might be used")
        elif horizon < self.field.seen(self.length):
            words.append("so it can see further than it learned to use")
        elif not whole:
            words.append("as far as it can see")
        return ", ".join(words)

    def sentence(self) -> str:
        """What the run's field and horizon mean, in one sentence: how much of the window its output sees,
        how far back its gradient reaches, and which limits it: what it learned, its architecture or the
        window.
        """
        if self.horizon == 0:
            return f"{self.label}: {self._sees()}, but no gradient reaches its input to measure its memory."
        return f"{self.label}: {self._sees()}; {self._reach()}."


def memory_of(record: dict[str, Any]) -> Memory | None:
    """The run's receptive field against its memory horizon; None for a run that was not probed."""
    metrics, found = record.get("metrics") or {}, input_gradient(record)
    if "memory_horizon" not in metrics or not found:
        return None
    return Memory(
        run_label(record),
        receptive_field(record["config"]["model"]),
        metrics["memory_horizon"],
        len(found[-1]),
        step_word(record),
        TASKS[task_of(record)].head.per_step,
    )


def memory_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Per probed run, its receptive field and memory horizon on one axis of steps back from the last:
    run, measure, steps (what the output sees: the whole window where a recurrent layer or a combining
    layer reads every step), a short label, a sentence for the tooltip, and the run's sequence length.
    """
    rows = []
    for memory in filter(None, map(memory_of, records)):
        shared = {"run": memory.label, "length": memory.length}
        horizon = steps_text(memory.horizon, memory.unit)
        rows += [
            {
                **shared,
                "measure": "receptive field",
                "steps": memory.field_steps,
                "label": memory.field_label(),
                "note": memory.field.sentence(memory.unit),
            },
            {
                **shared,
                "measure": "memory horizon",
                "steps": memory.horizon,
                "label": horizon,
                "note": f"The gradient still reaches 1% of its largest value {horizon} back, the last one "
                "counted.",
            },
        ]
    return pd.DataFrame(rows, columns=["run", "measure", "steps", "label", "note", "length"])


def memory_sentences(records: list[dict[str, Any]]) -> list[str]:
    """A sentence per probed run on what its receptive field and memory horizon mean."""
    return [memory.sentence() for memory in filter(None, map(memory_of, records))]
