"""The gradient probe: at each epoch's end, the loss gradient on a fixed probe batch (the first
validation samples) with respect to the input at every time step, one norm per step. The web side reads
the profiles it leaves in the history through ``core.compare.memory``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from core.compare.memory import PROBE_SAMPLES
from core.datasets import Split
from core.runs.record import PROFILE_KEY

SIGNIFICANT_DIGITS = 3  # a profile's norms as kept: enough for a log-scale colour and the 1% rule


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
