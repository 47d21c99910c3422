"""The user's own data: a CSV of series, a CSV of labelled texts, or a ZIP of class-named folders.

Nothing uploaded is executed or unpickled; every malformed file gets one sentence naming the problem.
"""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from core.datasets.base import SEED, Dataset, DatasetInfo
from core.datasets.images import image_dataset
from core.datasets.series import forecasting_dataset, series_settings
from core.datasets.text import CLASSIFICATION_SETTINGS, labelled_text_dataset
from core.errors import UserError

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
MAX_ARCHIVE_ENTRIES = 20_000
MAX_IMAGE_PIXELS = 4096 * 4096
MAX_IMAGE_SIDE = 64
MIN_SERIES_ROWS = 50
MIN_TEXT_ROWS = 20
MIN_PER_CLASS = 2
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def _check_size(data: bytes, name: str) -> None:
    if len(data) > MAX_UPLOAD_BYTES:
        raise UserError(
            f"{name} is {len(data) / 1e6:.1f} MB; uploads are limited to {MAX_UPLOAD_BYTES / 1e6:.0f} MB."
        )
    if not data:
        raise UserError(f"{name} is empty.")


def _upload_info(name: str, modality: str, task: str, description: str, settings: tuple) -> DatasetInfo:
    return DatasetInfo(
        f"upload:{name}",
        name,
        modality,
        task,
        description,
        "uploaded by you",
        "yours",
        lambda info, values: None,
        settings,
        origin="upload",
    )


def read_csv(data: bytes, name: str) -> pd.DataFrame:
    """Parse an uploaded CSV, or say in one sentence why it cannot be read."""
    _check_size(data, name)
    try:
        frame = pd.read_csv(io.BytesIO(data), sep=None, engine="python")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else error.__class__.__name__
        raise UserError(f"{name} is not a readable CSV file ({reason}).") from None
    if frame.empty:
        raise UserError(f"{name} has a header but no rows.")
    return frame


def _require_columns(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    for column in columns:
        if column not in frame.columns:
            known = ", ".join(map(str, frame.columns))
            raise UserError(f"{name} has no column named {column!r}; its columns are: {known}.")


def _numeric(frame: pd.DataFrame, column: str, name: str) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & frame[column].notna() & (frame[column].astype(str).str.strip() != "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise UserError(
            f"Column {column!r} of {name} holds {frame[column].iloc[row]!r} in row {row + 1}; "
            "series columns must hold numbers."
        )
    return values


def series_upload(
    data: bytes,
    name: str,
    value_columns: list[str],
    time_column: str | None = None,
    settings: dict[str, Any] | None = None,
) -> Dataset:
    """A forecasting dataset from a CSV: optional time column, one or more numeric columns."""
    frame = read_csv(data, name)
    if not value_columns:
        raise UserError(f"Pick at least one numeric column of {name} to forecast.")
    _require_columns(frame, [*value_columns, *([time_column] if time_column else [])], name)
    values = pd.DataFrame({column: _numeric(frame, column, name) for column in value_columns})
    if time_column:
        times = pd.to_datetime(frame[time_column], errors="coerce", format="mixed")
        if times.isna().any():
            row = int(np.flatnonzero(times.isna().to_numpy())[0])
            raise UserError(
                f"Column {time_column!r} of {name} holds {frame[time_column].iloc[row]!r} in row {row + 1}, "
                "which is not a date."
            )
        values.index = pd.DatetimeIndex(times)
    if len(values) < MIN_SERIES_ROWS:
        raise UserError(f"{name} has {len(values)} rows; a series needs at least {MIN_SERIES_ROWS}.")
    if values.isna().all().any():
        raise UserError(f"A chosen column of {name} holds no numbers at all.")
    window = min(24, len(values) // 5)
    info = _upload_info(
        name,
        "series",
        "forecasting",
        f"Your series: {', '.join(value_columns)}.",
        series_settings(window, tuple(value_columns)),
    )
    return forecasting_dataset(info, info.check_settings(settings), values)


def text_upload(
    data: bytes, name: str, text_column: str, label_column: str, settings: dict[str, Any] | None = None
) -> Dataset:
    """A classification dataset from a CSV with a text column and a label column."""
    frame = read_csv(data, name)
    _require_columns(frame, [text_column, label_column], name)
    frame = frame[[text_column, label_column]]
    complete = frame.dropna()
    complete = complete[complete[text_column].astype(str).str.strip() != ""]
    notes = []
    if len(complete) < len(frame):
        notes.append(f"{len(frame) - len(complete)} rows without a text or a label were left out.")
    if len(complete) < MIN_TEXT_ROWS:
        raise UserError(f"{name} has {len(complete)} labelled texts; at least {MIN_TEXT_ROWS} are needed.")
    labels = complete[label_column].astype(str).tolist()
    counts = Counter(labels)
    if len(counts) < 2:
        raise UserError(f"Column {label_column!r} of {name} holds a single class; at least two are needed.")
    rare = [label for label, count in counts.items() if count < MIN_PER_CLASS]
    if rare:
        raise UserError(f"Class {rare[0]!r} of {name} has fewer than {MIN_PER_CLASS} texts.")
    info = _upload_info(
        name,
        "text",
        "classification",
        f"Your texts, {len(counts)} classes.",
        (*CLASSIFICATION_SETTINGS, SEED),
    )
    return labelled_text_dataset(
        info, info.check_settings(settings), complete[text_column].astype(str).tolist(), labels, notes
    )


def _safe_members(archive: zipfile.ZipFile, name: str) -> list[zipfile.ZipInfo]:
    """Refuse entries that escape the folder, too many entries, and archives that inflate too far."""
    members = archive.infolist()
    if len(members) > MAX_ARCHIVE_ENTRIES:
        raise UserError(
            f"{name} holds {len(members):,} entries; at most {MAX_ARCHIVE_ENTRIES:,} are allowed."
        )
    total = 0
    for member in members:
        path = PurePosixPath(member.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or ":" in path.parts[0]:
            raise UserError(f"{name} has an entry {member.filename!r} that points outside its folder.")
        total += member.file_size
        if member.compress_size and member.file_size / member.compress_size > MAX_COMPRESSION_RATIO:
            raise UserError(
                f"{name} inflates {member.filename!r} over {MAX_COMPRESSION_RATIO} times; "
                "it looks like a zip bomb and was refused."
            )
    if total > MAX_UNZIPPED_BYTES:
        raise UserError(
            f"{name} unpacks to {total / 1e6:.0f} MB; at most {MAX_UNZIPPED_BYTES / 1e6:.0f} MB are allowed."
        )
    return [m for m in members if not m.is_dir()]


def _class_and_file(member: zipfile.ZipInfo) -> tuple[str, str] | None:
    parts = PurePosixPath(member.filename).parts
    if any(part.startswith((".", "__MACOSX")) for part in parts):
        return None
    if PurePosixPath(member.filename).suffix.lower() not in IMAGE_SUFFIXES or len(parts) < 2:
        return None
    return parts[-2], member.filename


def _open_image(data: bytes, filename: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise UserError(f"The image {filename!r} has {image.width}x{image.height} pixels; too large.")
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError, ValueError):
        raise UserError(f"The file {filename!r} is not a readable image.") from None
    return image


def images_upload(data: bytes, name: str, settings: dict[str, Any] | None = None) -> Dataset:
    """An image classification dataset from a ZIP with one folder per class."""
    _check_size(data, name)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UserError(f"{name} is not a readable ZIP archive.") from None
    with archive:
        found = [entry for m in _safe_members(archive, name) if (entry := _class_and_file(m))]
        images = [(label, _open_image(archive.read(filename), filename)) for label, filename in found]
    classes = sorted({label for label, _ in images})
    if len(classes) < 2:
        raise UserError(f"{name} needs at least two folders of images, one per class (found {len(classes)}).")
    counts = Counter(label for label, _ in images)
    rare = [label for label in classes if counts[label] < MIN_PER_CLASS]
    if rare:
        raise UserError(f"The folder {rare[0]!r} in {name} has fewer than {MIN_PER_CLASS} images.")
    pixels, notes = _uniform_pixels([image for _, image in images])
    labels = np.array([classes.index(label) for label, _ in images])
    info = _upload_info(name, "images", "classification", f"Your images, {len(classes)} classes.", (SEED,))
    return image_dataset(info, info.check_settings(settings), pixels, labels, classes, notes)


def _uniform_pixels(images: list[Image.Image]) -> tuple[np.ndarray, list[str]]:
    """One size and one colour mode: the commonest size (capped), grayscale unless any has colour."""
    notes = []
    width, height = Counter(image.size for image in images).most_common(1)[0][0]
    scale = min(1.0, MAX_IMAGE_SIDE / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = sum(image.size != size for image in images)
    if resized:
        notes.append(f"{resized} of {len(images)} images were resized to {size[0]}x{size[1]} pixels.")
    colour = any(image.mode not in ("1", "L", "LA", "I", "I;16", "F") for image in images)
    mode = "RGB" if colour else "L"
    pixels = np.stack([np.asarray(image.convert(mode).resize(size)) for image in images])
    return pixels.astype(np.uint8), notes
