from __future__ import annotations

import gzip
import io
import zipfile

import numpy as np
import pytest
from helpers import assert_one_sentence
from PIL import Image

from core import budget
from core.datasets import uploads
from core.errors import UserError


def csv_bytes(text: str) -> bytes:
    return text.encode("utf-8")


def series_csv(rows: int = 120, gap: bool = False) -> bytes:
    lines = ["day,price,volume"]
    for i in range(rows):
        price = "" if gap and i == 40 else f"{100 + np.sin(i / 5):.3f}"
        lines.append(f"{np.datetime64('2024-01-01') + i},{price},{i % 7}")
    return csv_bytes("\n".join(lines))


def png(size: tuple[int, int] = (10, 10), mode: str = "L", value: int = 0) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, value).save(buffer, format="PNG")
    return buffer.getvalue()


def zip_bytes(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def image_zip(per_class: int = 6, sizes: tuple = ((10, 10),)) -> bytes:
    entries = {}
    for label in ("cats", "dogs"):
        for i in range(per_class):
            size = sizes[i % len(sizes)]
            entries[f"pets/{label}/{i}.png"] = png(size, value=40 * i % 255)
    return zip_bytes(entries)


def test_series_csv_loads_with_chosen_columns_and_fills_gaps():
    dataset = uploads.series_upload(
        series_csv(gap=True), "prices.csv", ["price", "volume"], "day", {"window": 10, "target": "price"}
    )
    assert dataset.signature.input.dims == (10, 2)
    assert dataset.info.origin == "upload"
    assert "1 missing value was filled by linear interpolation between neighbours." in dataset.notes


def test_series_csv_without_time_column_uses_row_order():
    dataset = uploads.series_upload(series_csv(), "prices.csv", ["price"])
    assert dataset.signature.input.axes == ("time", "features")
    assert len(dataset.train) > len(dataset.test) > 0


def test_text_csv_loads():
    rows = (
        ["review,label"]
        + [f"good film number {i},pos" for i in range(15)]
        + [f"bad film number {i},neg" for i in range(15)]
    )
    dataset = uploads.text_upload(csv_bytes("\n".join(rows)), "reviews.csv", "review", "label")
    assert dataset.class_names == ["neg", "pos"]
    assert dataset.signature.task == "classification"


def test_image_zip_loads_and_resizes_mixed_sizes():
    dataset = uploads.images_upload(image_zip(sizes=((10, 10), (10, 10), (12, 8))), "pets.zip")
    assert dataset.class_names == ["cats", "dogs"]
    assert dataset.signature.input.dims == (10, 10, 1)
    assert any("resized to 10x10" in note for note in dataset.notes)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: uploads.series_upload(b"", "a.csv", ["x"]), "a.csv is empty"),
        (
            lambda: uploads.series_upload(b"x" * (budget.UPLOAD_BYTES + 1), "big.csv", ["x"]),
            "uploads are limited to",
        ),
        (lambda: uploads.series_upload(series_csv(), "s.csv", ["cost"]), "no column named 'cost'"),
        (lambda: uploads.series_upload(series_csv(), "s.csv", ["price"], "when"), "no column named 'when'"),
        (
            lambda: uploads.series_upload(
                csv_bytes("t,v\n" + "\n".join(f"{i},{i}" for i in range(60)) + "\n61,abc"), "s.csv", ["v"]
            ),
            "holds 'abc' in row 61",
        ),
        (
            lambda: uploads.series_upload(
                csv_bytes("t,v\n" + "\n".join(f"{i},{i}" for i in range(10))), "s.csv", ["v"]
            ),
            "has 10 rows; a series needs at least 50",
        ),
        (
            lambda: uploads.series_upload(series_csv(), "s.csv", ["price"], "volume_text"),
            "no column named 'volume_text'",
        ),
        (
            lambda: uploads.series_upload(
                csv_bytes("day,v\n" + "\n".join(f"soon{i},{i}" for i in range(60))), "s.csv", ["v"], "day"
            ),
            "which is not a date",
        ),
        (lambda: uploads.series_upload(series_csv(), "s.csv", []), "Pick at least one numeric column"),
        (
            lambda: uploads.text_upload(
                csv_bytes("a,b\n" + "\n".join(f"t{i},x" for i in range(30))), "t.csv", "a", "b"
            ),
            "holds a single class",
        ),
        (
            lambda: uploads.text_upload(csv_bytes("a,b\nhi,x\nho,y"), "t.csv", "a", "b"),
            "has 2 labelled texts; at least 20",
        ),
        (
            lambda: uploads.text_upload(
                csv_bytes("a,b\n" + "\n".join(f"t{i},x" for i in range(30)) + "\nlone,y"), "t.csv", "a", "b"
            ),
            "Class 'y' of t.csv has fewer than 2",
        ),
        (lambda: uploads.text_upload(csv_bytes("a,b\nhi,x"), "t.csv", "text", "b"), "no column named 'text'"),
        (
            lambda: uploads.text_upload(
                csv_bytes("a\n" + "\n".join(f"t{i}" for i in range(30))), "t.csv", "a", "a"
            ),
            "needs a text column and a label column, but t.csv has only one column, 'a'",
        ),
        (lambda: uploads.images_upload(b"not a zip", "i.zip"), "not a readable ZIP archive"),
        (
            lambda: uploads.images_upload(zip_bytes({"../evil/a.png": png(), "x/b.png": png()}), "i.zip"),
            "points outside its folder",
        ),
        (
            lambda: uploads.images_upload(zip_bytes({"/abs/a.png": png()}), "i.zip"),
            "points outside its folder",
        ),
        (
            lambda: uploads.images_upload(zip_bytes({"a/bomb.png": b"\0" * 5_000_000}), "i.zip"),
            "looks like a zip bomb",
        ),
        (
            lambda: uploads.images_upload(
                zip_bytes({"a/x.png": b"not an image", "a/z.png": png(), "b/y.png": png(), "b/w.png": png()}),
                "i.zip",
            ),
            "'a/x.png' is not a readable image",
        ),
        (
            lambda: uploads.images_upload(zip_bytes({"only/1.png": png(), "only/2.png": png()}), "i.zip"),
            "holds a single class of images",
        ),
        (
            lambda: uploads.images_upload(
                zip_bytes({"a/1.png": png(), "b/1.png": png(), "b/2.png": png()}), "i.zip"
            ),
            "Class 'a' of i.zip has fewer than 2 images",
        ),
    ],
)
def test_malformed_uploads_get_one_sentence(call, message):
    with pytest.raises(UserError) as caught:
        call()
    text = str(caught.value)
    assert message in text
    assert_one_sentence(text)


def test_colour_images_keep_three_channels():
    entries = {f"{label}/{i}.png": png((8, 8), "RGB", (i * 30, 0, 0)) for label in "ab" for i in range(3)}
    dataset = uploads.images_upload(zip_bytes(entries), "colour.zip")
    assert dataset.signature.input.dims == (8, 8, 3)


@pytest.mark.parametrize(
    ("data", "called"),
    [
        (png(), "(a PNG image)"),
        (zip_bytes({"xl/workbook.xml": b"<workbook/>" * 50}), "Excel workbook: save the sheet as CSV"),
        (gzip.compress(b"a,b\n1,2\n" * 50, mtime=0), "(a gzip-compressed file: unpack it first)"),
        (bytes(range(256)) * 8, "it looks like binary data."),
    ],
    ids=["png", "excel", "gzip", "binary"],  # the same on every collection (xdist compares them)
)
def test_a_binary_file_is_called_what_it_is(data, called):
    with pytest.raises(UserError) as caught:
        uploads.read_csv(data, "sales.csv")
    assert str(caught.value).startswith("sales.csv is not a text CSV file") and called in str(caught.value)
