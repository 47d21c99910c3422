"""Text sets: sentence classification (word or character tokens) and next-character modelling."""

from __future__ import annotations

import gzip
import re
from collections import Counter

import numpy as np
import pandas as pd

from core import budget
from core.datasets.base import DATA_DIR, Dataset, DatasetInfo, Split, shuffled_splits
from core.params import Param, ParamValues
from core.shapes import TOKENS, Shape, Signature

PAD, UNKNOWN = "", "<unk>"
WORD = re.compile(r"[a-z0-9']+|[^\sa-z0-9']")

CLASSIFICATION_SETTINGS = (
    Param(
        "tokens", "choice", "word", "Split text into words or single characters.", choices=("word", "char")
    ),
    Param(
        "vocab_size", "int", 5000, "Keep this many most frequent tokens; the rest become <unk>.", 10, 50000
    ),
    Param(
        "sequence_length", "int", 40, "Tokens per sample: longer texts are cut, shorter ones padded.", 4, 1000
    ),
)
LANGUAGE_MODEL_SETTINGS = (
    Param("sequence_length", "int", 40, "Characters the model reads before predicting the next one.", 4, 400),
    Param("step", "int", 16, "Characters between the starts of two training sequences.", 1, 400),
)


def tokenize(text: str, tokens: str) -> list[str]:
    text = text.lower()
    return list(text) if tokens == "char" else WORD.findall(text)


def build_vocabulary(texts: list[list[str]], size: int) -> list[str]:
    """Id 0 pads, id 1 is unknown, then the most frequent tokens of the training texts."""
    counts = Counter(token for text in texts for token in text)
    return [PAD, UNKNOWN, *(token for token, _ in counts.most_common(size - 2))]


def encode(texts: list[list[str]], vocabulary: list[str], length: int) -> np.ndarray:
    budget.check_values(len(texts), length, "Use fewer texts or a shorter sequence length.")
    index = {token: i for i, token in enumerate(vocabulary)}
    ids = np.zeros((len(texts), length), dtype=np.int32)
    for row, text in enumerate(texts):
        codes = [index.get(token, 1) for token in text[:length]]
        ids[row, length - len(codes) :] = codes  # padded at the start: the last step is real text
    return ids


def labelled_text_dataset(
    info: DatasetInfo,
    settings: ParamValues,
    texts: list[str],
    labels: list[str],
    notes: list[str] | None = None,
) -> Dataset:
    """Tokenize, build the vocabulary on the training split only, encode and pad."""
    class_names = sorted(set(labels))
    label_ids = np.array([class_names.index(label) for label in labels], dtype=np.int32)
    tokenized = [tokenize(text, settings["tokens"]) for text in texts]
    train, validation, test = shuffled_splits(len(texts), settings.get("seed", 0))
    vocabulary = build_vocabulary([tokenized[i] for i in train], settings["vocab_size"])
    ids = encode(tokenized, vocabulary, settings["sequence_length"])
    lengths = np.array([len(t) for t in tokenized])
    cut = int((lengths > settings["sequence_length"]).sum())
    notes = list(notes or [])
    if cut:
        notes.append(
            f"Texts longer than {settings['sequence_length']} tokens, cut to that length: "
            f"{cut:,} of {len(texts):,}."
        )
    return Dataset(
        info=info,
        settings=settings,
        signature=Signature(
            Shape(TOKENS, (settings["sequence_length"],)), "classification", len(class_names), len(vocabulary)
        ),
        train=Split(ids[train], label_ids[train]),
        validation=Split(ids[validation], label_ids[validation]),
        test=Split(ids[test], label_ids[test]),
        class_names=class_names,
        vocabulary=vocabulary,
        notes=notes,
        preview={"texts": texts[:200], "labels": labels[:200], "lengths": lengths.tolist()},
        test_texts=[texts[i] for i in test],
    )


def load_reviews(info: DatasetInfo, settings: ParamValues) -> Dataset:
    frame = pd.read_csv(DATA_DIR / "rotten_tomatoes.csv.gz")
    return labelled_text_dataset(info, settings, frame["text"].tolist(), frame["label"].tolist())


def load_corpus(info: DatasetInfo, settings: ParamValues) -> Dataset:
    """Next-character prediction on a chronologically split corpus (80/10/10 by characters)."""
    text = gzip.decompress((DATA_DIR / "shakespeare.txt.gz").read_bytes()).decode("utf-8").lower()
    train_end, validation_end = int(len(text) * 0.8), int(len(text) * 0.9)
    vocabulary = [PAD, *sorted(set(text[:train_end]))]
    index = {char: i for i, char in enumerate(vocabulary)}
    codes = np.array([index.get(char, 0) for char in text], dtype=np.int32)
    length, step = settings["sequence_length"], settings["step"]
    budget.check_values(len(text) // step, length, "Raise the step or shorten the sequence length.")

    def windows(start: int, end: int, stride: int) -> tuple[Split, np.ndarray]:
        starts = np.arange(start, end - length - 1, stride)
        return Split(codes[starts[:, None] + np.arange(length)], codes[starts + length]), starts

    train, _ = windows(0, train_end, step)
    validation, _ = windows(train_end, validation_end, step)
    test, test_starts = windows(validation_end, len(text), step)
    return Dataset(
        info=info,
        settings={**settings, "tokens": "char"},
        signature=Signature(Shape(TOKENS, (length,)), "language-model", len(vocabulary), len(vocabulary)),
        train=train,
        validation=validation,
        test=test,
        vocabulary=vocabulary,
        notes=[f"{len(text):,} characters, lower-cased; {len(vocabulary) - 1} distinct characters."],
        preview={"texts": [text[s : s + 300] for s in range(0, 30000, 3000)], "characters": len(text)},
        test_texts=[text[s : s + length + 1] for s in test_starts],
    )
