"""The Keras classics, downloaded through ``keras.datasets`` on demand, in a worker process.

``fetch()`` (which imports Keras) downloads a dataset once and keeps it as plain arrays in an
``.npz`` file (no pickles); the loaders read only that file, so a process without Keras (the web
server) can show and describe a dataset a worker has fetched.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import numpy as np

from core.datasets.base import Dataset, DatasetInfo, Split, shuffled_splits
from core.datasets.images import image_dataset
from core.datasets.text import PAD, UNKNOWN
from core.errors import UserError
from core.params import Param, ParamValues
from core.shapes import TOKENS, Shape, Signature

LIMIT = Param("limit", "int", 10000, "Use at most this many samples (keeps memory small).", 100, 70000)
WORD_SETTINGS = (
    Param("vocab_size", "int", 10000, "Keep this many most frequent words.", 100, 50000),
    Param("sequence_length", "int", 200, "Words per sample: longer texts are cut, shorter padded.", 8, 1000),
    LIMIT,
)
FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
IMDB_CLASSES = ["negative", "positive"]
OUT_OF_VOCABULARY = 2  # the id Keras gives words beyond the vocabulary


class NotFetched(UserError):
    """A Keras dataset that has not been downloaded on this machine yet."""


def cache_file(name: str) -> Path:
    """Where a fetched dataset is kept: beside Keras' own downloads (``$KERAS_HOME``, ``~/.keras``)."""
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    return home / "datasets" / "cnn-rnn" / f"{name}.npz"


def fetch(name: str) -> None:
    """Download ``keras.datasets.<name>`` and keep it as plain arrays; a failure is one sentence."""
    module = importlib.import_module(f"keras.datasets.{name}")
    try:
        (x_train, y_train), (x_test, y_test) = module.load_data()
        index = module.get_word_index() if hasattr(module, "get_word_index") else {}
    except Exception:  # Keras raises bare Exceptions for network failures: their text is for developers
        raise UserError(
            f"The Keras dataset '{name}' could not be downloaded; "
            "check the network connection or pick a built-in dataset."
        ) from None
    x, y = np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test]).reshape(-1)
    arrays = {"y": y}
    if x.dtype == object:  # word-id sequences of different lengths: flat ids and where each ends
        arrays["ids"] = np.concatenate(x).astype(np.int32)
        arrays["ends"] = np.cumsum([len(sequence) for sequence in x])
        arrays["words"] = np.array(list(index), dtype=str)
        arrays["ranks"] = np.array(list(index.values()), dtype=np.int64)
    else:
        arrays["x"] = x
    target = cache_file(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.npz")
    np.savez_compressed(partial, **arrays)
    partial.replace(target)


def _fetched(name: str) -> dict[str, np.ndarray]:
    path = cache_file(name)
    if not path.exists():
        raise NotFetched(f"The Keras dataset '{name}' has not been downloaded yet.")
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def _subsample(count: int, limit: int) -> np.ndarray:
    return np.random.default_rng(0).permutation(count)[:limit]


def load_keras_images(info: DatasetInfo, settings: ParamValues) -> Dataset:
    arrays = _fetched(info.id)
    pixels, labels = arrays["x"], arrays["y"]
    keep = _subsample(len(pixels), settings["limit"])
    names = {"fashion_mnist": FASHION_CLASSES, "cifar10": CIFAR_CLASSES}.get(
        info.id, [str(d) for d in range(10)]
    )
    notes = [f"A random {len(keep):,} of {len(pixels):,} images are used."]
    return image_dataset(info, settings, pixels[keep], labels[keep], names, notes)


def load_keras_words(info: DatasetInfo, settings: ParamValues) -> Dataset:
    """IMDB and Reuters come as word ids (1 = start, 2 = unknown, 3+ = words by frequency)."""
    arrays = _fetched(info.id)
    ends, size = arrays["ends"], settings["vocab_size"]
    starts = np.concatenate([[0], ends[:-1]])
    labels = arrays["y"]
    keep = _subsample(len(ends), settings["limit"])
    length = settings["sequence_length"]
    ids = np.zeros((len(keep), length), dtype=np.int32)
    for row, sample in enumerate(keep):
        sequence = arrays["ids"][starts[sample] : ends[sample]][:length]
        ids[row, length - len(sequence) :] = np.where(sequence < size, sequence, OUT_OF_VOCABULARY)
    labels = labels[keep].astype(np.int32)
    classes = IMDB_CLASSES if info.id == "imdb" else [f"topic {i}" for i in range(int(labels.max()) + 1)]
    train, validation, test = shuffled_splits(len(ids), 0)
    vocabulary = _word_vocabulary(arrays, size)
    return Dataset(
        info=info,
        settings={**settings, "tokens": "word"},
        signature=Signature(Shape(TOKENS, (length,)), "classification", len(classes), settings["vocab_size"]),
        train=Split(ids[train], labels[train]),
        validation=Split(ids[validation], labels[validation]),
        test=Split(ids[test], labels[test]),
        class_names=classes,
        vocabulary=vocabulary,
        notes=[f"A random {len(keep):,} of {len(ends):,} texts are used."],
    )


def _word_vocabulary(arrays: dict[str, np.ndarray], size: int) -> list[str]:
    """Words by id (Keras shifts word ranks by 3: 0 pad, 1 start, 2 unknown); ids left unnamed read #id."""
    vocabulary = [PAD, "<start>", UNKNOWN] + [f"#{i}" for i in range(3, size)]
    for word, rank in zip(arrays["words"].tolist(), arrays["ranks"].tolist(), strict=True):
        if rank + 2 < size:
            vocabulary[rank + 2] = word
    return vocabulary
