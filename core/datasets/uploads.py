"""The user's own data: a CSV of series, a CSV of labelled texts, or a ZIP of class-named folders.

Nothing uploaded is executed or unpickled; every limit of ``core.budget`` is checked before the work it
protects, and every malformed file gets one sentence naming the problem.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
import zlib
from collections import Counter
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format
from PIL import Image

from core import budget
from core.datasets.base import SEED, Dataset, DatasetInfo, counted
from core.datasets.images import ImageHeader, decode_image, image_dataset, read_header
from core.datasets.series import forecasting_dataset, series_settings
from core.datasets.text import CLASSIFICATION_SETTINGS, labelled_text_dataset
from core.errors import UserError

MAX_COMPRESSION_RATIO = 100
MIN_BOMB_BYTES = 1024 * 1024  # a smaller entry is no zip bomb, however well it compresses
MIN_SERIES_ROWS = 50
MIN_TEXT_ROWS = 20
MIN_PER_CLASS = 2
IMAGE_SIDE = 64  # images are shrunk to at most this many pixels a side
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
READABLE_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}  # zipfile inflates bzip2 and lzma unbounded
ENCRYPTED = 0x1  # the ZIP entry flag of a password-protected entry
UNPACK_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError)
LARGEST_VALUE = float(np.finfo(np.float32).max)  # series values are trained on as 32-bit floats
TEXT_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")  # tried in turn; Latin-1 reads any bytes
BINARY_SHARE = 0.01  # more control characters than this share of a file means binary data
CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")
LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\r?\n)+")
DELIMITERS = ",;\t|"
SNIFF_CHARACTERS = 16_384
FILE_KINDS = (  # the first bytes of files often uploaded in place of a CSV, and what they are
    (b"PK\x03\x04", "a ZIP archive, or an Excel workbook: save the sheet as CSV and upload that"),
    (b"\xd0\xcf\x11\xe0", "an old Office document, such as an .xls workbook: save the sheet as CSV"),
    (b"\x1f\x8b", "a gzip-compressed file: unpack it first"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"SQLite format 3", "an SQLite database"),
)
TIME_SHARE = 0.95  # a column reads as times when at least this share of its written cells are dates


def _check_size(data: bytes, name: str) -> None:
    if len(data) > budget.UPLOAD_BYTES:
        megabytes, limit = len(data) / 2**20, budget.UPLOAD_BYTES / 2**20
        raise UserError(f"{name} is {megabytes:.1f} MB; uploads are limited to {limit:.0f} MB.")
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


# ---- CSV files -------------------------------------------------------------------------------


def read_csv(data: bytes, name: str, strings: bool = False) -> pd.DataFrame:
    """Parse an uploaded CSV, or say in one sentence why it cannot be read.

    The delimiter is sniffed among ``DELIMITERS`` (a comma otherwise); leading blank lines and a
    byte-order mark are dropped. ``strings`` keeps every cell as text, an empty cell as "".
    """
    _check_size(data, name)
    text = LEADING_BLANK_LINES.sub("", _text(data, name), count=1)
    delimiter = _delimiter(text[:SNIFF_CHARACTERS])
    header = _parse(text, name, sep=delimiter, header=None, nrows=1)
    budget.check(len(header.columns), budget.CSV_COLUMNS, f"columns in {name}", "Keep the columns you need.")
    frame = _parse(text, name, sep=delimiter, **({"dtype": str, "na_filter": False} if strings else {}))
    if frame.empty:
        raise UserError(f"{name} has a header but no rows.")
    return frame


def _text(data: bytes, name: str) -> str:
    """The file as text: UTF-16 with a byte-order mark, else UTF-8, Windows-1252 or Latin-1."""
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    text = _decoded(data, ("utf-16",) if utf16 else TEXT_ENCODINGS)
    if text is None or len(CONTROL.findall(text)) > BINARY_SHARE * len(text):
        kind = next((f" ({kind})" for start, kind in FILE_KINDS if data.startswith(start)), "")
        raise UserError(f"{name} is not a text CSV file; it looks like binary data{kind}.")
    return text


def _decoded(data: bytes, encodings: tuple[str, ...]) -> str | None:
    """``data`` read in the first of ``encodings`` that fits it, or None."""
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _delimiter(sample: str) -> str:
    """The delimiter the sniffer finds among ``DELIMITERS``, else a comma (a single column)."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def _parse(text: str, name: str, **options: Any) -> pd.DataFrame:
    try:
        return pd.read_csv(io.StringIO(text), **options)
    except pd.errors.EmptyDataError:
        raise UserError(f"{name} is empty.") from None
    except ValueError as error:  # pandas' ParserError is one
        reason = str(error).removeprefix("Error tokenizing data. C error: ").strip().rstrip(".")
        raise UserError(f"{name} is not a readable CSV file: {reason.splitlines()[0]}.") from None


def _require_columns(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    """Each chosen column exists and is chosen once."""
    for column, times in Counter(columns).items():
        if column not in frame.columns:
            known = ", ".join(map(str, frame.columns))
            raise UserError(f"{name} has no column named {column!r}; its columns are: {known}.")
        if times > 1:
            raise UserError(
                f"Column {column!r} of {name} is chosen twice; pick a different column for each role."
            )


def _bad_cell(frame: pd.DataFrame, column: str, bad: pd.Series, name: str, problem: str) -> UserError:
    """One sentence naming the first cell of ``column`` marked ``bad``, and what is wrong with it."""
    row = int(np.flatnonzero(bad.to_numpy())[0])
    value = frame[column].iloc[row]
    shown = "nothing" if pd.isna(value) else repr(str(value))
    return UserError(f"Column {column!r} of {name} holds {shown} in row {row + 1}, which {problem}.")


# ---- series ----------------------------------------------------------------------------------


def _numbers(frame: pd.DataFrame, column: str, name: str) -> pd.Series:
    """A column as finite numbers; an empty cell is a gap to fill, anything else not a number is refused."""
    values = pd.to_numeric(frame[column], errors="coerce")
    written = frame[column].notna() & (frame[column].astype(str).str.strip() != "")
    problems = {
        "is not a number": written & values.isna(),
        f"is beyond ±{LARGEST_VALUE:.1e}; series values must be finite numbers": values.abs() > LARGEST_VALUE,
    }
    for problem, bad in problems.items():
        if bad.any():
            raise _bad_cell(frame, column, bad, name, problem)
    if values.isna().all():
        raise UserError(f"Column {column!r} of {name} holds no numbers at all.")
    return values


def _times(frame: pd.DataFrame, column: str, name: str) -> tuple[pd.DatetimeIndex, list[str]]:
    """A time column written one way throughout (ISO 8601, or the format of its first value); times with
    different UTC offsets are converted to UTC.
    """
    texts = frame[column].astype(str).str.strip()
    notes = []
    try:
        times = _parsed_times(texts, utc=False)
    except ValueError:  # pandas refuses mixed UTC offsets unless asked to convert them
        times = _parsed_times(texts, utc=True)
        notes.append("Times with different UTC offsets were converted to UTC.")
    bad = times.isna() | frame[column].isna()
    if bad.any():
        raise _bad_cell(frame, column, bad, name, "is not a date written like the others")
    return pd.DatetimeIndex(times), notes


def _parsed_times(texts: pd.Series, utc: bool) -> pd.Series:
    """Times in ISO 8601, else all in the format of the first one: never guessed cell by cell."""
    times = pd.to_datetime(texts, errors="coerce", format="ISO8601", utc=utc)
    layout = None if times.notna().all() else guess_datetime_format(texts.iloc[0])
    return pd.to_datetime(texts, errors="coerce", format=layout, utc=utc) if layout else times


def series_columns(frame: pd.DataFrame) -> tuple[str | None, list[str]]:
    """What to preselect for a series: the first column that reads as dates or times, and the columns of
    numbers besides it, leaving out row counters.
    """
    time = next((column for column in frame.columns if _reads_as_times(frame[column])), None)
    numeric = [column for column in frame.columns if column != time and _is_variable(frame[column])]
    return time, numeric


def _reads_as_times(column: pd.Series) -> bool:
    """A column of text whose written cells are nearly all dates or times (numbers are never times)."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return False
    texts = column.dropna().astype(str).str.strip()
    texts = texts[texts != ""]
    return bool(len(texts)) and bool(_parsed_times(texts, utc=True).notna().mean() >= TIME_SHARE)


def _is_variable(column: pd.Series) -> bool:
    """A column of numbers that can be forecast: not all empty, and not a row counter (whole numbers
    that go up by the same step every row, which a model would have to extrapolate).
    """
    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return False
    steps = column.diff().dropna().unique()
    counter = pd.api.types.is_integer_dtype(column) and len(steps) == 1 and steps[0] != 0
    return bool(column.notna().any()) and not counter


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
    values = pd.DataFrame({column: _numbers(frame, column, name) for column in value_columns})
    notes = []
    if time_column:
        values.index, notes = _times(frame, time_column, name)
    if len(values) < MIN_SERIES_ROWS:
        raise UserError(f"{name} has {len(values)} rows; a series needs at least {MIN_SERIES_ROWS}.")
    window = min(24, len(values) // 5)
    info = _upload_info(
        name,
        "series",
        "forecasting",
        f"Your series: {', '.join(value_columns)}.",
        series_settings(window, tuple(value_columns)),
    )
    return forecasting_dataset(info, info.check_settings(settings), values, notes)


# ---- labelled texts and classes --------------------------------------------------------------


def _check_classes(counts: Counter[str], name: str, items: str) -> None:
    """Two to ``budget.CLASSES`` classes, each with at least ``MIN_PER_CLASS`` items."""
    if len(counts) < 2:
        raise UserError(f"{name} holds a single class of {items}; at least two are needed.")
    budget.check(
        len(counts), budget.CLASSES, f"classes of {items} in {name}", "Pick labels of fewer classes."
    )
    rarest = min(sorted(counts), key=counts.__getitem__)
    if counts[rarest] < MIN_PER_CLASS:
        raise UserError(f"Class {rarest!r} of {name} has fewer than {MIN_PER_CLASS} {items}.")


def text_upload(
    data: bytes, name: str, text_column: str, label_column: str, settings: dict[str, Any] | None = None
) -> Dataset:
    """A classification dataset from a CSV with a text column and a label column; each text is cut to
    ``budget.TEXT_CHARACTERS`` before it is tokenized.
    """
    frame = read_csv(data, name, strings=True)
    if len(frame.columns) < 2:
        raise UserError(
            f"A text CSV needs a text column and a label column, but {name} has only one column, "
            f"{frame.columns[0]!r}."
        )
    _require_columns(frame, [text_column, label_column], name)
    texts, labels = frame[text_column].str.strip(), frame[label_column].str.strip()
    kept = (texts != "") & (labels != "")
    texts, labels = texts[kept], labels[kept].tolist()
    left_out = len(frame) - len(texts)
    notes = [f"Left out: {counted(left_out, 'row')} without a text or a label."] if left_out else []
    if len(texts) < MIN_TEXT_ROWS:
        raise UserError(f"{name} has {len(texts)} labelled texts; at least {MIN_TEXT_ROWS} are needed.")
    counts = Counter(labels)
    _check_classes(counts, name, "texts")
    info = _upload_info(
        name,
        "text",
        "classification",
        f"Your texts, {len(counts)} classes.",
        (*CLASSIFICATION_SETTINGS, SEED),
    )
    values = info.check_settings(settings)
    budget.check_values(
        len(texts), values["sequence_length"], "Use fewer texts or a shorter sequence length."
    )
    long = int((texts.str.len() > budget.TEXT_CHARACTERS).sum())
    if long:
        notes.append(
            f"{counted(long, 'text', 'is')} longer than {budget.TEXT_CHARACTERS:,} characters; "
            f"only the first {budget.TEXT_CHARACTERS:,} were read."
        )
    return labelled_text_dataset(
        info, values, texts.str.slice(0, budget.TEXT_CHARACTERS).tolist(), labels, notes
    )


# ---- ZIP of image folders --------------------------------------------------------------------


def _open_zip(data: bytes, name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except UNPACK_ERRORS:
        raise UserError(f"{name} is not a readable ZIP archive.") from None


def _path(member: zipfile.ZipInfo) -> PurePosixPath:
    return PurePosixPath(member.filename.replace("\\", "/"))


def _check_path(member: zipfile.ZipInfo, name: str) -> None:
    path = _path(member)
    if path.parts and (path.is_absolute() or ".." in path.parts or ":" in path.parts[0]):
        raise UserError(f"{name} has an entry {member.filename!r} that points outside its folder.")


def _class_of(member: zipfile.ZipInfo) -> str | None:
    """The folder naming an image's class, or None for what is not an image in a folder."""
    parts = _path(member).parts
    if len(parts) < 2 or member.filename.endswith("/") or any(p.startswith((".", "__MACOSX")) for p in parts):
        return None
    return parts[-2] if PurePosixPath(parts[-1]).suffix.lower() in IMAGE_SUFFIXES else None


def _check_readable(member: zipfile.ZipInfo, name: str) -> None:
    """Refuse an entry that needs a password, a method read without bounds, or inflates like a bomb."""
    entry = f"The entry {member.filename!r} of {name}"
    if member.flag_bits & ENCRYPTED:
        raise UserError(f"{entry} is protected by a password; upload a ZIP without one.")
    if member.compress_type not in READABLE_METHODS:
        method = zipfile.compressor_names.get(member.compress_type, f"method {member.compress_type}")
        raise UserError(f"{entry} is compressed with {method}; only ordinary (deflate) ZIPs are read.")
    if member.file_size > max(MIN_BOMB_BYTES, MAX_COMPRESSION_RATIO * member.compress_size):
        raise UserError(
            f"{name} inflates {member.filename!r} over {MAX_COMPRESSION_RATIO} times; "
            "it looks like a zip bomb and was refused."
        )


def _image_members(archive: zipfile.ZipFile, name: str) -> list[tuple[str, zipfile.ZipInfo]]:
    """The images to read with their classes, once the archive's directory passes every check."""
    members = archive.infolist()
    budget.check(len(members), budget.ARCHIVE_ENTRIES, f"entries in {name}", "Split it into smaller ZIPs.")
    for member in members:
        _check_path(member, name)
    images = [(label, member) for member in members if (label := _class_of(member))]
    if not images:
        raise UserError(f"{name} holds no images in folders; put each class in a folder, e.g. cats/1.png.")
    for _, member in images:
        _check_readable(member, name)
    unpacked = sum(member.file_size for _, member in images)
    budget.check(unpacked, budget.UNZIPPED_BYTES, f"bytes once {name} is unpacked", "Upload smaller images.")
    return images


def _unpack(archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str) -> bytes:
    """An entry's bytes, checked against their CRC, never inflating more than the size it declares
    (``ZipFile.read`` inflates all its compressed data at once, whatever the size says).
    """
    try:
        with archive.open(member) as entry:
            return entry.read(member.file_size)
    except UNPACK_ERRORS:
        raise UserError(
            f"The entry {member.filename!r} of {name} is damaged and cannot be unpacked."
        ) from None


def _common_form(headers: list[ImageHeader]) -> tuple[tuple[int, int], str, list[str]]:
    """The size every image takes (the commonest, shrunk to ``IMAGE_SIDE``), the mode (greyscale unless
    any has colour) and notes on what reading them will change.
    """
    width, height = Counter(header.size for header in headers).most_common(1)[0][0]
    scale = min(1.0, IMAGE_SIDE / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    changes = {
        f"Images resized to {size[0]}x{size[1]} pixels": sum(header.size != size for header in headers),
        "Images that are animated (only the first frame was used)": sum(h.animated for h in headers),
        "Images with transparent parts, laid over white": sum(header.transparent for header in headers),
    }
    notes = [f"{change}: {count:,} of {len(headers):,}." for change, count in changes.items() if count]
    return size, "RGB" if any(header.colour for header in headers) else "L", notes


def images_upload(data: bytes, name: str, settings: dict[str, Any] | None = None) -> Dataset:
    """An image classification dataset from a ZIP with one folder per class.

    The archive's directory and every image's header are checked against the budget before any image
    is decoded; images are then decoded one at a time and shrunk at once.
    """
    _check_size(data, name)
    with _open_zip(data, name) as archive:
        members = _image_members(archive, name)
        counts = Counter(label for label, _ in members)
        _check_classes(counts, name, "images")
        headers = [read_header(_unpack(archive, member, name), member.filename) for _, member in members]
        pixels = sum(header.size[0] * header.size[1] for header in headers)
        budget.check(
            pixels, budget.TOTAL_PIXELS, f"pixels in the images of {name}", "Use fewer or smaller images."
        )
        size, mode, notes = _common_form(headers)
        budget.check_values(len(members), size[0] * size[1] * Image.getmodebands(mode), "Use fewer images.")
        images = np.stack(
            [decode_image(_unpack(archive, m, name), m.filename, size, mode) for _, m in members]
        )
    classes = sorted(counts)
    index = {label: i for i, label in enumerate(classes)}
    labels = np.array([index[label] for label, _ in members])
    info = _upload_info(name, "images", "classification", f"Your images, {len(classes)} classes.", (SEED,))
    return image_dataset(info, info.check_settings(settings), images, labels, classes, notes)
