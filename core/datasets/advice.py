"""What a classification set's balance and size mean for the results: notes to show beside the data."""

from __future__ import annotations

import numpy as np

from core.datasets.base import Dataset, counted
from core.tasks.registry import TASKS

COARSE_TEST = 50  # a test split smaller than this measures accuracy only in coarse steps
IMBALANCE_RATIO = 2  # classes are imbalanced when the largest has over this many times the smallest's samples


def class_counts(dataset: Dataset) -> dict[str, int]:
    """Training samples per class, in class order; empty for a dataset without classes."""
    if not dataset.class_names:
        return {}
    counts = np.bincount(dataset.train.y, minlength=len(dataset.class_names))
    return dict(zip(dataset.class_names, counts.tolist(), strict=True))


def coarse_test_note(dataset: Dataset) -> str | None:
    """How much one test example moves a classifier's accuracy, when the test split is small."""
    size = len(dataset.test)
    if not TASKS[dataset.signature.task].small_test_note or not 0 < size < COARSE_TEST:
        return None
    return (
        f"The test split holds {counted(size, 'example')}: one test example is worth {100 / size:.1f} points "
        "of accuracy, so a gap of a few points between two models may be luck."
    )


def imbalance_note(dataset: Dataset) -> str | None:
    """A warning, and the class weights to try, when the largest class dwarfs the smallest."""
    counts = class_counts(dataset)
    if not counts:
        return None
    largest, smallest = max(counts, key=counts.get), min(counts, key=counts.get)
    if counts[largest] <= IMBALANCE_RATIO * counts[smallest]:
        return None
    total = sum(counts.values())
    most, least = counts[largest] / total, counts[smallest] / total
    return (
        f"The classes are imbalanced: {largest!r} has {most:.0%} of the training samples, {smallest!r} "
        f"{least:.0%}. A model that always answers {largest!r} scores about {most:.0%} accuracy; set Class "
        "weight to balanced on the Train page so that every class weighs the same."
    )
