"""The Keras classics, downloaded through ``keras.datasets`` on demand and cached by Keras."""

from __future__ import annotations

import importlib

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


def download(name: str, **kwargs) -> tuple:
    """Call ``keras.datasets.<name>.load_data``; a failed download becomes one sentence."""
    module = importlib.import_module(f"keras.datasets.{name}")
    try:
        (x_train, y_train), (x_test, y_test) = module.load_data(**kwargs)
    except Exception as error:  # Keras raises bare Exceptions for network failures
        raise UserError(
            f"The Keras dataset '{name}' could not be downloaded ({error.__class__.__name__}); "
            "check the network connection or pick a built-in dataset."
        ) from None
    return np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test]).reshape(-1)


def _subsample(count: int, limit: int) -> np.ndarray:
    return np.random.default_rng(0).permutation(count)[:limit]


def load_keras_images(info: DatasetInfo, settings: ParamValues) -> Dataset:
    pixels, labels = download(info.id)
    keep = _subsample(len(pixels), settings["limit"])
    names = {"fashion_mnist": FASHION_CLASSES, "cifar10": CIFAR_CLASSES}.get(
        info.id, [str(d) for d in range(10)]
    )
    notes = [f"A random {len(keep):,} of {len(pixels):,} images are used."]
    return image_dataset(info, settings, pixels[keep], labels[keep], names, notes)


def load_keras_words(info: DatasetInfo, settings: ParamValues) -> Dataset:
    """IMDB and Reuters come as word ids (1 = start, 2 = unknown, 3+ = words by frequency)."""
    sequences, labels = download(info.id, num_words=settings["vocab_size"])
    keep = _subsample(len(sequences), settings["limit"])
    length = settings["sequence_length"]
    ids = np.zeros((len(keep), length), dtype=np.int32)
    for row, sequence in enumerate(sequences[keep]):
        sequence = sequence[:length]
        ids[row, length - len(sequence) :] = sequence
    labels = labels[keep].astype(np.int32)
    classes = IMDB_CLASSES if info.id == "imdb" else [f"topic {i}" for i in range(int(labels.max()) + 1)]
    train, validation, test = shuffled_splits(len(ids), 0)
    vocabulary = _word_vocabulary(info.id, settings["vocab_size"])
    return Dataset(
        info=info,
        settings={**settings, "tokens": "word"},
        signature=Signature(Shape(TOKENS, (length,)), "classification", len(classes), settings["vocab_size"]),
        train=Split(ids[train], labels[train]),
        validation=Split(ids[validation], labels[validation]),
        test=Split(ids[test], labels[test]),
        class_names=classes,
        vocabulary=vocabulary,
        notes=[f"A random {len(keep):,} of {len(sequences):,} texts are used."],
    )


def _word_vocabulary(name: str, size: int) -> list[str]:
    """Words by id where the word index downloads too, else placeholders naming the id."""
    vocabulary = [PAD, "<start>", UNKNOWN] + [f"#{i}" for i in range(3, size)]
    try:
        index = importlib.import_module(f"keras.datasets.{name}").get_word_index()
    except Exception:  # the index is optional: ids stay readable as #id
        return vocabulary
    for word, rank in index.items():
        if rank + 2 < size:
            vocabulary[rank + 2] = word
    return vocabulary
