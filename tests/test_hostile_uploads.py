"""Hostile and malformed uploads: CSVs of series and texts, ZIPs of image folders.

Each case either ends in one sentence (a ``UserError`` of one line, no traceback, no codec jargon)
holding the key phrase that names its problem, or is read correctly. The memory bombs run in a child
process whose address space is capped, so that decoding them at full size could only end in a
``MemoryError``: they must end in their sentence instead.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT
from PIL import Image
from streamlit.testing.v1 import AppTest
from test_uploads import zip_bytes

from core import budget
from core.datasets import uploads
from core.errors import UserError

JARGON = re.compile(r"Traceback|codec|can't decode|\b0x[0-9a-f]{2}|position \d|C error|Errno", re.IGNORECASE)
MEMORY_LIMIT = 1024**3  # address space of the child; a normal upload peaks near 350 MB there
DAYS = pd.date_range("2024-01-01", periods=60).strftime("%Y-%m-%d").tolist()
SECONDS = [f"2024-01-01T00:00:{second:02d}" for second in range(59)]
SUMMER_TIME = [t.isoformat() for t in pd.date_range("2024-03-31", periods=60, freq="h", tz="Europe/Paris")]
PAIRS = ["yes", "no"] * 15
FOUR = [f"{label}/{i}.png" for label in "ab" for i in range(2)]  # two classes of two images
LOADED = "loaded"


READERS = {  # kind: the reader in core.datasets.uploads and the file name it is given
    "csv": ("read_csv", "up.csv"),
    "series": ("series_upload", "up.csv"),
    "text": ("text_upload", "up.csv"),
    "images": ("images_upload", "up.zip"),
}


def load(kind: str, data: bytes, **options: Any) -> Any:
    """Read an upload as the app does; ``kind`` is csv (the column reader), series, text or images."""
    reader, name = READERS[kind]
    return getattr(uploads, reader)(data, name, **options)


# ---- building uploads from bytes ---------------------------------------------------------------


def replaced(values: Sequence[Any], row: int, value: Any) -> list[Any]:
    return [value if i == row else v for i, v in enumerate(values)]


def series_csv(values: Sequence[Any] = range(60), times: Sequence[Any] | None = None) -> bytes:
    if times is None:
        return "\n".join(["v", *map(str, values)]).encode()
    return "\n".join(["t,v", *(f"{t},{v}" for t, v in zip(times, values, strict=True))]).encode()


def values_of(*cells: str) -> list[Any]:
    """Sixty numbers, the first ones replaced by ``cells``."""
    return [*cells, *range(len(cells), 60)]


def values_with(row: int, value: str) -> bytes:
    return series_csv(replaced(range(60), row, value))


def timed(times: Sequence[Any]) -> bytes:
    return series_csv(range(len(times)), times)


def times_with(row: int, value: str) -> bytes:
    return timed(replaced(DAYS, row, value))


def texts_csv(labels: Sequence[str], texts: Sequence[str] | None = None, encoding: str = "utf-8") -> bytes:
    rows = zip(texts or ["t"] * len(labels), labels, strict=True)
    return "\n".join(["text,label", *(f"{text},{label}" for text, label in rows)]).encode(encoding)


def encoded(image: Image.Image, fmt: str = "PNG", **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def picture(mode: str = "L", size: tuple[int, int] = (8, 8), value: Any = 0, fmt: str = "PNG") -> bytes:
    return encoded(Image.new(mode, size, value), fmt)


def png_claiming(width: int, height: int) -> bytes:
    """A greyscale PNG whose header claims ``width`` x ``height`` while its data holds one row: a few
    hundred bytes that a decoder would have to allocate in full.
    """

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">2I5B", width, height, 8, 0, 0, 0, 0)
    row = zlib.compress(bytes(width + 1))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", row) + chunk(b"IEND", b"")


def classes_of(image: bytes, classes: Sequence[str] = ("a", "b"), per_class: int = 2) -> dict[str, bytes]:
    """``per_class`` copies of ``image`` in a folder per class."""
    return {f"{label}/{i}.png": image for label in classes for i in range(per_class)}


def folders(image: bytes, classes: Sequence[str] = ("a", "b"), per_class: int = 2, **extra: bytes) -> bytes:
    """A ZIP of ``image`` in class folders, with ``extra`` entries."""
    return zip_bytes({**classes_of(image, classes, per_class), **extra})


def plus(data: bytes, name: str = "a/x.png") -> bytes:
    """Two classes of two good images, and one more entry."""
    return folders(picture(), **{name: data})


def raw_zip(*entries: tuple[str, bytes, dict[str, int]]) -> bytes:
    """A ZIP written byte by byte, so that an entry's header can say what zipfile never writes:
    each entry is (name, stored bytes, header fields among flags, method, crc and size).
    """
    local, central = b"", b""
    for name, data, overrides in entries:
        fields = {"flags": 0, "method": 0, "crc": zlib.crc32(data), "size": len(data), **overrides}
        head = (fields["flags"], fields["method"], 0, 0, fields["crc"], len(data), fields["size"])
        path = name.encode()
        central += struct.pack("<4s6H3L5H2L", b"PK\1\2", 20, 20, *head, len(path), 0, 0, 0, 0, 0, len(local))
        central += path
        local += struct.pack("<4s5H3L2H", b"PK\3\4", 20, *head, len(path), 0) + path + data
    count = len(entries)
    return (
        local + central + struct.pack("<4s4H2LH", b"PK\5\6", 0, 0, count, count, len(central), len(local), 0)
    )


def good_entries() -> list[tuple[str, bytes, dict[str, int]]]:
    """Raw entries of two classes of two good images."""
    return [(name, picture(), {}) for name in FOUR]


def headed(data: bytes | None = None, **fields: int) -> bytes:
    """A raw ZIP of two classes of two images whose first entry, a/0.png, holds ``data`` (a good image
    by default) under these header fields.
    """
    return raw_zip(("a/0.png", picture() if data is None else data, fields), *good_entries()[1:])


def deflated(data: bytes, copies: int = 1) -> bytes:
    """Raw deflate data of ``data`` repeated ``copies`` times, made cheaply: one block compressed with
    its history flushed, repeated, then an empty final block.
    """
    compressor = zlib.compressobj(wbits=-15)
    return (compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)) * copies + b"\x03\x00"


def zeros(megabytes: int, **fields: int) -> bytes:
    """Two classes of two images, the first entry a/0.png deflated zeros under these header fields."""
    return headed(deflated(bytes(2**20), megabytes), method=8, **fields)


def animated_gif() -> bytes:
    black, white = Image.new("L", (8, 8), 0), Image.new("L", (8, 8), 255)
    return encoded(black, "GIF", save_all=True, append_images=[white])


def transparent_gif() -> bytes:
    image = Image.new("P", (8, 8), 0)
    image.putpalette([0, 0, 0, 255, 0, 0])
    return encoded(image, "GIF", transparency=0)


def palette_png() -> bytes:
    image = Image.new("P", (8, 8), 1)
    image.putpalette([0, 0, 0, 255, 0, 0])
    return encoded(image)


def flat(value: float, dtype: type, fmt: str = "PNG") -> bytes:
    """An image of one value in a NumPy type: 16-bit, 32-bit or floating-point greyscale."""
    return encoded(Image.fromarray(np.full((8, 8), value, dtype)), fmt)


# ---- what a case expects ------------------------------------------------------------------------


def cases_of(kind: str, **defaults: Any) -> Callable[..., Any]:
    """A maker of table rows for one reader: (id, upload, what it must give, marks, options)."""

    def case(case_id: str, data: Any, expected: Any, *marks: Any, **options: Any) -> Any:
        return pytest.param(kind, data, {**defaults, **options}, expected, id=case_id, marks=marks)

    return case


csv_case = cases_of("csv")
series_case = cases_of("series", value_columns=["v"])
timed_case = cases_of("series", value_columns=["v"], time_column="t")
text_case = cases_of("text", text_column="text", label_column="label")
zip_case = cases_of("images")


def columns(*names: str) -> Callable[[pd.DataFrame], bool]:
    return lambda frame: list(frame.columns) == list(names)


def both(*checks: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda dataset: all(check(dataset) for check in checks)


def noted(phrase: str) -> Callable[[Any], bool]:
    return lambda dataset: any(phrase in note for note in dataset.notes)


def classes(*names: str) -> Callable[[Any], bool]:
    return lambda dataset: dataset.class_names == list(names)


def first_time(dataset: Any) -> pd.Timestamp:
    return dataset.preview["frame"].index[0]


def first_text(text: str) -> Callable[[Any], bool]:
    return lambda dataset: dataset.preview["texts"][0] == text


def shaped(*dims: int) -> Callable[[Any], bool]:
    return lambda dataset: dataset.train.x.shape[1:] == dims


def pixels(value: float | tuple[float, ...], channels: int) -> Callable[[Any], bool]:
    """Every pixel within 1.5/255 of ``value`` (per channel), in ``channels`` channels."""
    return lambda dataset: (
        dataset.train.x.shape[-1] == channels
        and np.allclose(dataset.train.x, np.broadcast_to(value, channels), atol=1.5 / 255)
    )


def one_sentence(call: Callable[[], Any]) -> str:
    """The message of the UserError that ``call`` raises, checked to be one plain line."""
    with pytest.raises(UserError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message and not JARGON.search(message), message
    assert message.endswith("."), message
    return message


LOUD_BOMBS = pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")
QUIET_BOMBS = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
LONG_SEQUENCES = {"settings": {"sequence_length": 1000}}
CLAIMED_280_MB = [(n, np.random.default_rng(1).bytes(2**20), {"size": 70 * 2**20}) for n in FOUR]
REFUSED = [
    # any CSV
    csv_case("empty file", b"", "up.csv is empty"),
    csv_case("only blank lines", b"\n \n\r\n", "up.csv is empty"),
    csv_case("a header without rows", b"t,v\n", "has a header but no rows"),
    csv_case("over 20 MB", b"v\n" + b"1\n" * (budget.UPLOAD_BYTES // 2), "uploads are limited to 20 MB"),
    csv_case("a PNG named .csv", picture(), "is not a text CSV file; it looks like binary data"),
    csv_case("UTF-16 without a BOM", "t,v\n1,2\n".encode("utf-16-le"), "it looks like binary data"),
    csv_case("a ZIP named .csv", folders(picture()), "it looks like binary data"),
    csv_case("random bytes", np.random.default_rng(0).bytes(4096), "it looks like binary data"),
    csv_case("1,001 columns", b"c," * 1000 + b"c\n" + b"1," * 1000 + b"1", "1,001 columns in up.csv"),
    csv_case("a name repeated 5,000 times", b"a," * 4999 + b"a\n", "at most 1,000 are allowed"),
    csv_case("a ragged row", b"a,b\n1,2\n1,2,3\n", "not a readable CSV file: Expected 2 fields in line 3"),
    csv_case("an unclosed quote", b'a,b\n"1,2\n3,4\n', "not a readable CSV file"),
    # series
    series_case("no column chosen", series_csv(), "Pick at least one numeric column", value_columns=[]),
    series_case("an unknown column", series_csv(), "no column named 'cost'", value_columns=["cost"]),
    timed_case("time as values too", series_csv(range(60), DAYS), "is chosen twice", value_columns=["t"]),
    series_case("10 rows", series_csv(range(10)), "has 10 rows; a series needs at least 50"),
    series_case("a word", values_with(30, "abc"), "holds 'abc' in row 31, which is not a number"),
    series_case("a column of words", series_csv(["hi", "lo"] * 30), "'hi' in row 1, which is not a number"),
    series_case("no numbers at all", series_csv([""] * 60, DAYS), "Column 'v' of up.csv holds no numbers"),
    series_case("infinity", values_with(40, "inf"), "holds 'inf' in row 41, which is beyond ±3.4e+38"),
    series_case("minus infinity", values_with(0, "-inf"), "holds '-inf' in row 1, which is beyond"),
    series_case("1e308", values_with(5, "1e308"), "holds '1e+308' in row 6, which is beyond"),
    series_case("1e400, read as infinity", values_with(5, "1e400"), "in row 6, which is beyond"),
    timed_case("a word as time", timed(["soon"] * 60), "'soon' in row 1, which is not a date"),
    timed_case("no such date", times_with(29, "2024-13-45"), "'2024-13-45' in row 30, which is not a date"),
    timed_case("a missing time", times_with(4, ""), "holds nothing in row 5, which is not a date"),
    timed_case("dates written two ways", timed(["12/3/2024", "13/3/2024"] * 30), "'13/3/2024' in row 2"),
    timed_case("seconds since 1970", timed(range(1_700_000_000, 1_700_000_060)), "which is not a date"),
    # texts
    text_case("text as label", texts_csv(PAIRS), "'text' of up.csv is chosen twice", label_column="text"),
    text_case("an unknown label column", texts_csv(PAIRS), "no column named 'class'", label_column="class"),
    text_case("only empty texts", texts_csv(PAIRS, [" "] * 30), "has 0 labelled texts; at least 20"),
    text_case("only empty labels", texts_csv([""] * 30), "has 0 labelled texts"),
    text_case("a single class", texts_csv(["yes"] * 30), "up.csv holds a single class of texts"),
    text_case("10,000 classes", texts_csv([f"id{i}" for i in range(10_000)]), "10,000 classes of texts"),
    text_case("a lone text", texts_csv([*PAIRS, "one"]), "Class 'one' of up.csv has fewer than 2 texts"),
    text_case(
        "40,002 texts of 1,000 tokens", texts_csv(["y", "n"] * 20_001), "input values", **LONG_SEQUENCES
    ),
    text_case("a PNG of texts", picture(), "it looks like binary data"),
    # ZIP archives
    zip_case("not a ZIP", b"plain text, not a zip", "not a readable ZIP archive"),
    zip_case("a truncated ZIP", folders(picture())[:-40], "not a readable ZIP archive"),
    zip_case("an empty ZIP", zip_bytes({}), "holds no images in folders"),
    zip_case("folders only", zip_bytes({"a/": b"", "b/": b""}), "holds no images in folders"),
    zip_case("images without folders", zip_bytes({"1.png": picture()}), "holds no images in folders"),
    zip_case("only an entry named .", zip_bytes({".": picture()}), "holds no images in folders"),
    zip_case("only an entry without a name", raw_zip(("", picture(), {})), "holds no images in folders"),
    zip_case("a path up and out", plus(picture(), "../evil/a.png"), "points outside its folder"),
    zip_case("an absolute path", plus(picture(), "/etc/a.png"), "points outside its folder"),
    zip_case("a drive letter", plus(picture(), "C:/x/a.png"), "points outside its folder"),
    zip_case("backslashes up and out", plus(picture(), "..\\evil\\a.png"), "points outside its folder"),
    zip_case("a password", headed(flags=1), "'a/0.png' of up.zip is protected by a password"),
    zip_case("bzip2", zip_bytes(classes_of(picture()), zipfile.ZIP_BZIP2), "is compressed with bzip2"),
    zip_case("deflate64", headed(method=9), "is compressed with deflate64"),
    zip_case("an unknown method", headed(method=77), "is compressed with method 77"),
    zip_case("a CRC error", headed(crc=1), "'a/0.png' of up.zip is damaged and cannot be unpacked"),
    zip_case("corrupt deflate data", headed(b"\xff" * 64, method=8, size=99), "is damaged"),
    zip_case("a cut deflate stream", headed(deflated(bytes(999))[:3], method=8, size=999), "is damaged"),
    zip_case("5 MB of zeros", plus(bytes(5_000_000)), "'a/x.png' over 100 times; it looks like a zip bomb"),
    zip_case("5 MB from nothing", headed(b"", size=5_000_000), "looks like a zip bomb"),
    zip_case("20,001 entries", zip_bytes(dict.fromkeys(map(str, range(20_001)), b"")), "20,001 entries in"),
    zip_case("280 MB once unpacked", raw_zip(*CLAIMED_280_MB), "bytes once up.zip is unpacked"),
    # images
    zip_case("not an image", plus(b"not an image"), "'a/x.png' is not a readable image"),
    zip_case("a truncated PNG", plus(picture(size=(64, 64))[:60]), "'a/x.png' is not a readable image"),
    zip_case("a format not offered", plus(picture(fmt="PPM")), "'a/x.png' is not a readable image"),
    zip_case("one class", folders(picture(), ("a",)), "up.zip holds a single class of images"),
    zip_case("a lone image", plus(picture(), "c/1.png"), "Class 'c' of up.zip has fewer than 2 images"),
    zip_case("1,001 classes", folders(picture(), [f"c{i}" for i in range(1001)]), "1,001 classes of images"),
    zip_case("5000x5000 pixels", plus(png_claiming(5000, 5000)), "'a/x.png' is too large (5000x5000 pixels)"),
    zip_case("PIL's bomb warning", folders(png_claiming(10**4, 10**4)), "(10000x10000 pixels)", QUIET_BOMBS),
    zip_case("PIL's bomb error", folders(png_claiming(10**4, 10**4)), "(over 89,478,485", LOUD_BOMBS),
    zip_case("4,000 colour images", folders(picture("RGB", (64, 64)), per_class=2000), "input values"),
]
ACCEPTED = [
    # any CSV
    csv_case("blank lines before the header", b"\n \n\r\nt,v\n1,2\n", columns("t", "v")),
    csv_case("one column the sniffer splits", b"temperature\n1\n2\n3\n4\n", columns("temperature")),
    csv_case("a byte-order mark", codecs.BOM_UTF8 + b"t,v\n1,2\n", columns("t", "v")),
    csv_case("Latin-1", "t,café\n1,2\n".encode("latin-1"), columns("t", "café")),
    csv_case("Windows-1252 quotes", "t,“v”\n1,2\n".encode("cp1252"), columns("t", "“v”")),
    csv_case("UTF-16 with a BOM, tabs", "t\tv\n1\t2\n".encode("utf-16"), columns("t", "v")),
    csv_case("semicolons", b"t;v\n1,5;2\n", columns("t", "v")),
    csv_case("pipes", b"t|v\n1|2\n", columns("t", "v")),
    csv_case("commas inside quotes", b'text\n"a, b"\n"c, d"\n', lambda frame: frame.shape == (2, 1)),
    # series
    timed_case("a change to summer time", series_csv(range(60), SUMMER_TIME), noted("converted to UTC")),
    timed_case("repeated times", timed(DAYS[:57] + DAYS[:3]), noted("3 rows repeat an earlier time")),
    timed_case("years as numbers", timed(range(1749, 1809)), lambda d: first_time(d).year == 1749),
    timed_case("times in reverse", timed(DAYS[::-1]), lambda d: first_time(d) == pd.Timestamp(DAYS[0])),
    series_case("NA and nan", series_csv(replaced(values_of("NA"), 19, "nan")), noted("2 missing values")),
    # texts
    text_case("a row without text", texts_csv([*PAIRS, "yes"], [*PAIRS, " "]), noted("1 row without")),
    text_case("NA as a label", texts_csv(["NA", "yes"] * 15), classes("NA", "yes")),
    text_case("labels with spaces", texts_csv([" yes", "no "] * 15), classes("no", "yes")),
    text_case("50,000 letters", texts_csv(PAIRS, ["x " * 25_000, *PAIRS[1:]]), noted("10,000 characters")),
    text_case("UTF-16 texts", texts_csv(PAIRS, encoding="utf-16"), classes("no", "yes")),
    text_case("Latin-1 texts", texts_csv(PAIRS, ["café"] * 30, "latin-1"), first_text("café")),
    # images
    zip_case("a 16-bit PNG", folders(flat(30000, np.uint16)), pixels(30000 / 65535, 1)),
    zip_case("a 32-bit TIFF", folders(flat(30000, np.int32, "TIFF")), pixels(30000 / 65535, 1)),
    zip_case("a floating-point TIFF", folders(flat(0.25, np.float32, "TIFF")), pixels(0.25, 1)),
    zip_case("a 1-bit PNG", folders(picture("1", value=1)), pixels(1.0, 1)),
    zip_case("a palette PNG", folders(palette_png()), pixels((1.0, 0.0, 0.0), 3)),
    zip_case("a transparent GIF", folders(transparent_gif()), pixels(1.0, 3)),
    zip_case("LA image", folders(picture("LA", value=(0, 0))), both(pixels(1.0, 1), noted("transparent"))),
    zip_case("transparent red", folders(picture("RGBA", value=(255, 0, 0, 0))), pixels(1.0, 3)),
    zip_case("half-transparent black", folders(picture("RGBA", value=(0, 0, 0, 128))), pixels(127 / 255, 3)),
    zip_case("a CMYK JPEG", folders(picture("CMYK", value=(0, 0, 0, 0), fmt="JPEG")), pixels(1.0, 3)),
    zip_case("an animated GIF", folders(animated_gif()), both(pixels(0.0, 3), noted("animated"))),
    zip_case("a JPEG of 4000x3000", folders(picture("L", (4000, 3000), 128, "JPEG")), shaped(48, 64, 1)),
    zip_case("an entry named .", plus(b"x", "."), classes("a", "b")),
    zip_case("an entry without a name", raw_zip(("", b"", {}), *good_entries()), classes("a", "b")),
    zip_case("macOS litter", plus(b"junk", "__MACOSX/a/._0.png"), classes("a", "b")),
    zip_case("backslashes", zip_bytes({n.replace("/", "\\"): picture() for n in FOUR}), classes("a", "b")),
]


@pytest.mark.parametrize(("kind", "data", "options", "phrase"), REFUSED)
def test_a_hostile_upload_ends_in_one_sentence(kind, data, options, phrase):
    assert phrase in one_sentence(lambda: load(kind, data, **options))


@pytest.mark.parametrize(("kind", "data", "options", "check"), ACCEPTED)
def test_an_odd_but_meaningful_upload_is_read_correctly(kind, data, options, check):
    assert check(load(kind, data, **options))


# ---- memory bombs, read under a cap on the address space -----------------------------------------

BOMBS = [  # built only when the child runs; a normal upload of each kind must load under the cap
    zip_case(
        "30 big PNGs", lambda: folders(picture("RGBA", (4096, 4096)), per_class=15), "pixels in the images"
    ),
    zip_case("a PNG claiming 40000x40000", lambda: plus(png_claiming(40_000, 40_000)), "is too large (over"),
    zip_case("a PNG claiming 12000x12000", lambda: folders(png_claiming(12_000, 12_000)), "(12000x12000"),
    zip_case("190 MB of zeros", lambda: zeros(190, size=190 * 2**20), "looks like a zip bomb"),
    zip_case("2 GB of zeros declared as 1 KB", lambda: zeros(2048, size=1000), "is damaged"),
    timed_case("times far apart", lambda: timed([*SECONDS, "2100-01-01T00:00:00"]), "too irregular"),
    text_case("two million texts", lambda: texts_csv(["y", "n"] * 10**6), "input values", **LONG_SEQUENCES),
    zip_case("a normal ZIP", lambda: folders(picture("RGB", (640, 480), 99, "JPEG"), per_class=40), LOADED),
    series_case("a normal series", lambda: series_csv(range(5000)), LOADED),
    text_case("a normal CSV of texts", lambda: texts_csv(["yes", "no"] * 2000), LOADED),
]
CHILD = f"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT}))
from core.datasets import uploads
from core.errors import UserError
outcomes = {{}}
for case in json.load(open(sys.argv[1])):
    (reader, name), data = case["reader"], open(case["file"], "rb").read()
    try:
        getattr(uploads, reader)(data, name, **case["options"])
        outcomes[case["id"]] = "{LOADED}"
    except UserError as error:
        outcomes[case["id"]] = str(error)
    except BaseException as error:  # what the cap turns a bomb into
        outcomes[case["id"]] = f"{{type(error).__name__}}: {{error}}"
print(json.dumps(outcomes))
"""


@pytest.fixture(scope="module")
def bomb_outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What each bomb gave in one child process with ``MEMORY_LIMIT`` of address space."""
    folder = tmp_path_factory.mktemp("bombs")
    cases = []
    for number, bomb in enumerate(BOMBS):
        kind, build, options, _ = bomb.values
        path = folder / f"{number}.upload"
        path.write_bytes(build())
        cases.append({"id": bomb.id, "reader": READERS[kind], "file": str(path), "options": options})
    (folder / "cases.json").write_text(json.dumps(cases))
    # the system allocator: Arrow's own reserves a gigabyte of address space it never uses
    env = {**os.environ, "ARROW_DEFAULT_MEMORY_POOL": "system", "OPENBLAS_NUM_THREADS": "1"}
    command = [sys.executable, "-c", CHILD, str(folder / "cases.json")]
    child = subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False
    )
    assert child.returncode == 0, child.stderr[-3000:]
    return json.loads(child.stdout)


@pytest.mark.parametrize(("kind", "build", "options", "says"), BOMBS)
def test_a_memory_bomb_ends_in_its_sentence_under_a_memory_cap(
    bomb_outcomes, request, kind, build, options, says
):
    outcome = bomb_outcomes[request.node.callspec.id]
    assert says in outcome and "Error:" not in outcome, outcome


# ---- the Data page ---------------------------------------------------------------------------------


def test_the_data_page_checks_an_upload_before_it_replaces_the_dataset():
    """A refused upload shows its sentence and no button, and the dataset in use stays; a good one
    offers the button, which replaces it.
    """
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    at.switch_page("app_pages/data.py").run()
    at.radio(key="data:modality").set_value("series").run()
    at.radio(key="data:origin").set_value("upload").run()
    before = dict(at.session_state["choice"])
    for data, error in ((values_with(3, "1e308"), "beyond"), (series_csv(), None)):
        at.file_uploader(key="data:file:series").set_value(("up.csv", data, "text/csv")).run()
        at.multiselect[0].set_value(["v"]).run()
        errors = [message.value for message in at.error]
        assert len(errors) == (error is not None) and all(error in text for text in errors), errors
        assert ("Use this upload" in [button.label for button in at.button]) is (error is None)
        assert at.session_state["choice"] == before
    next(button for button in at.button if button.label == "Use this upload").click().run()
    assert not at.exception and at.session_state["choice"]["id"] == "upload:up.csv"
