"""The batches a run trains, validates and predicts on (core.training.batches)."""

from __future__ import annotations

import numpy as np

from core.datasets import Split
from core.training.batches import batches, input_batches

SPLIT = Split(np.arange(10, dtype="float32").reshape(10, 1), np.arange(10, dtype="int32"))


def epoch(dataset) -> list[np.ndarray]:
    """One pass over the dataset: each batch's targets."""
    return [targets.numpy() for _, targets in dataset]


def test_the_batches_keep_the_order_and_a_partial_last_batch():
    passed = epoch(batches(SPLIT, 4))
    assert [len(targets) for targets in passed] == [4, 4, 2]
    assert np.concatenate(passed).tolist() == list(range(10))
    inputs = np.concatenate([x.numpy() for x in input_batches(SPLIT.x, 4)])
    assert inputs[:, 0].tolist() == list(range(10))


def test_training_batches_take_a_new_order_each_epoch_the_same_for_the_same_seed():
    first, again = batches(SPLIT, 4, shuffle_seed=7), batches(SPLIT, 4, shuffle_seed=7)
    orders = [np.concatenate(epoch(first)).tolist() for _ in range(3)]
    assert orders == [np.concatenate(epoch(again)).tolist() for _ in range(3)]
    assert all(sorted(order) == list(range(10)) for order in orders)
    assert len({tuple(order) for order in orders}) == 3
    for targets in epoch(batches(SPLIT, 4, shuffle_seed=7)):  # inputs travel with their targets
        assert targets.tolist() == [int(value) for value in targets]


def test_an_empty_split_gives_no_batches():
    empty = Split(np.zeros((0, 1), "float32"), np.zeros(0, "int32"))
    assert epoch(batches(empty, 4, shuffle_seed=1)) == []
