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
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.datasets import Split
from core.receptive_field import receptive_field
from core.runs import modality_of, run_label
from core.spec import ModelSpec

if TYPE_CHECKING:
    import keras

PROFILE_KEY = "input_gradient"  # the history entry's per-step gradient norms
PROBE_SAMPLES = 32  # the probe batch: the first validation samples, the same every epoch
SIGNIFICANT_DIGITS = 3  # a profile's norms as kept: enough for a log-scale colour and the 1% rule
HORIZON_SHARE = 0.01  # the memory horizon reaches back to the farthest step with this share of the peak
HEATMAP_COLUMNS = 200  # longer sequences are drawn in bins of neighbouring steps
STEP_WORDS = {"images": "row", "text": "token"}  # what one step is; series and the rest: a time step


class GradientProbe:
    """The per-step input-gradient norms of one training run's model on a fixed probe batch.

    A step's norm is the L2 norm of the loss gradient over that step's values (embedding dimensions,
    a row's pixels and channels, or a step's features), summed over the probe samples: with a loss
    averaged over the batch, the mean over the samples of each one's own gradient norm. The gradient
    function is traced once, on the first epoch's end, so each later probe costs one small batch.
    """

    def __init__(self, validation: Split, samples: int = PROBE_SAMPLES) -> None:
        self.batch = validation.head(samples)
        self._norms: Callable[[np.ndarray, np.ndarray], Any] | None = None

    def measure(self, model: keras.Model) -> dict[str, list[float]]:
        """The history entry's part: ``{"input_gradient": [norm per step]}``; nothing without probe
        samples, or when the gradient is not finite (a diverging run).
        """
        if not len(self.batch):
            return {}
        if self._norms is None:
            self._norms = step_gradient_norms(model)
        norms = np.asarray(self._norms(self.batch.x, self.batch.y), dtype=float)
        if not np.isfinite(norms).all():
            return {}
        return {PROFILE_KEY: [float(f"{value:.{SIGNIFICANT_DIGITS}g}") for value in norms]}


def step_gradient_norms(model: keras.Model) -> Callable[[np.ndarray, np.ndarray], Any]:
    """A traced function of a probe batch (inputs, targets) giving one gradient norm per time step.

    The model is the builder's chain (input, then one layer after another); when its first layer is
    an Embedding, the gradient is taken at the embedding's output, since token ids have none.
    """
    import keras
    import tensorflow as tf

    layers = model.layers[1:]  # after the InputLayer
    embedding = layers[0] if isinstance(layers[0], keras.layers.Embedding) else None
    chain = layers[1:] if embedding else layers

    @tf.function
    def norms(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        inputs = embedding(x) if embedding else x
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = inputs
            for layer in chain:
                outputs = layer(outputs, training=False)
            loss = model.compute_loss(y=y, y_pred=outputs, training=False)
        gradient = tape.gradient(loss, inputs)
        steps = tf.reshape(gradient, (tf.shape(gradient)[0], tf.shape(gradient)[1], -1))
        return tf.reduce_sum(tf.norm(steps, axis=-1), axis=0)

    return lambda x, y: norms(tf.convert_to_tensor(x), tf.convert_to_tensor(y)).numpy()


def profiles(record: dict[str, Any]) -> list[tuple[int, list[float]]]:
    """Each epoch that has a gradient profile, with it: (epoch number, norm per step)."""
    history = record.get("history") or []
    return [(entry["epoch"], entry[PROFILE_KEY]) for entry in history if PROFILE_KEY in entry]


def input_gradient(record: dict[str, Any]) -> list[list[float]]:
    """The run's ``probes.input_gradient``: one list of per-step norms per epoch, oldest first (an
    epoch whose gradient was not finite, and every epoch of a run trained before the probe, has none).
    """
    return [profile for _, profile in profiles(record)]


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
