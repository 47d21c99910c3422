"""Image classification sets shipped in data/."""

from __future__ import annotations

import numpy as np

from core import budget
from core.datasets.base import DATA_DIR, Dataset, DatasetInfo, Split, shuffled_splits
from core.params import ParamValues
from core.shapes import IMAGE, Shape, Signature


def image_dataset(
    info: DatasetInfo,
    settings: ParamValues,
    pixels: np.ndarray,
    labels: np.ndarray,
    class_names: list[str],
    notes: list[str] | None = None,
) -> Dataset:
    """Scale uint8 images to [0, 1], add a channel axis if needed, and split them seeded."""
    budget.check_values(len(pixels), pixels[0].size if len(pixels) else 0, "Use fewer images.")
    images = pixels.astype(np.float32) / 255.0
    if images.ndim == 3:
        images = images[..., np.newaxis]
    labels = labels.astype(np.int32)
    train, validation, test = shuffled_splits(len(images), settings.get("seed", 0))
    return Dataset(
        info=info,
        settings=settings,
        signature=Signature(Shape(IMAGE, images.shape[1:]), "classification", len(class_names)),
        train=Split(images[train], labels[train]),
        validation=Split(images[validation], labels[validation]),
        test=Split(images[test], labels[test]),
        class_names=class_names,
        notes=notes or [],
    )


def load_npz_images(info: DatasetInfo, settings: ParamValues) -> Dataset:
    with np.load(DATA_DIR / f"{info.id}.npz") as archive:
        pixels, labels = archive["x"], archive["y"]
    return image_dataset(info, settings, pixels, labels, [str(d) for d in range(10)])
