"""The batches a model trains, validates and predicts on: a tf.data pipeline without tf.data's
autotuning.

Keras feeds arrays through a pipeline that tf.data autotunes (a parallel batch gather, an autotuned
prefetch). On a CPU that the model's own threads already fill, the autotuner leaves the CPU idle
between batches: on one CPU, a plain ``model.fit`` of the mnist_5k CNN took 13.4 s given the arrays
and 7.4 s given these batches, with about the same CPU time (``bench/input_pipeline.py``; the other
default models 0.59-0.86x, docs/performance.md). Training batches come, as Keras' do, in a new random
order each epoch (from the run's seed).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from core.datasets import Split

_OPTIONS = tf.data.Options()
_OPTIONS.autotune.enabled = False


def batches(split: Split, batch_size: int, shuffle_seed: int | None = None) -> tf.data.Dataset:
    """The split's (inputs, targets) in batches of ``batch_size``, the last one partial; in a new
    random order each epoch when ``shuffle_seed`` is given, else in order.
    """
    return _batched(split.x, split.y, batch_size, shuffle_seed)


def input_batches(x: np.ndarray, batch_size: int) -> tf.data.Dataset:
    """Inputs alone, in order, in batches of ``batch_size`` (for ``model.predict``)."""
    return _batched(x, None, batch_size, None)


def _batched(
    x: np.ndarray, y: np.ndarray | None, batch_size: int, shuffle_seed: int | None
) -> tf.data.Dataset:
    count = len(x)
    order = tf.data.Dataset.range(count)
    if shuffle_seed is not None:
        order = order.shuffle(max(count, 1), seed=shuffle_seed, reshuffle_each_iteration=True)
    inputs = tf.convert_to_tensor(x)
    targets = None if y is None else tf.convert_to_tensor(y)

    def gather(indices: tf.Tensor) -> tf.Tensor | tuple[tf.Tensor, tf.Tensor]:
        if targets is None:
            return tf.gather(inputs, indices)
        return tf.gather(inputs, indices), tf.gather(targets, indices)

    return order.batch(batch_size).map(gather).with_options(_OPTIONS)
