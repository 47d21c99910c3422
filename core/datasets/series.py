"""Forecasting sets: regular time steps, gaps filled, chronological split, train-only scaling."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from core import budget
from core.datasets.base import DATA_DIR, Dataset, DatasetInfo, SeriesTarget, Split, counted
from core.errors import UserError
from core.params import Param, ParamValues
from core.shapes import SEQUENCE, Shape, Signature

PARTS = ("train", "validation", "test")
FRACTIONS = (0.7, 0.15)
WRITTEN_UNIT = re.compile(r"[(\[]\s*([^()\[\]]{1,16}?)\s*[)\]]\s*$")  # "temp (°F)", "load [MW]"


def series_settings(window: int, columns: tuple[str, ...], predict: str = "level") -> tuple[Param, ...]:
    return (
        Param("window", "int", window, "Past time steps the model reads.", 2, 400),
        Param("horizon", "int", 1, "Future time steps it predicts.", 1, 60),
        Param("target", "choice", columns[0], "The column to forecast.", choices=columns),
        Param(
            "predict",
            "choice",
            predict,
            "level: the future values; change: how far they move from the last value seen "
            "(better for trending series).",
            choices=("level", "change"),
        ),
    )


def written_unit(column: str) -> str | None:
    """The unit a column's name ends with in brackets, as in "temp (°F)" or "load [MW]", or None."""
    found = WRITTEN_UNIT.search(column)
    return found.group(1) if found else None


def regularize(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Put the rows in time order on a regular grid (the step of the first rows) and fill gaps by
    interpolation, saying how many values were filled and how many rows repeated a time.
    """
    frame = frame.sort_index(kind="stable")
    repeated = frame.index.duplicated()
    frame = frame[~repeated]
    notes = []
    if repeated.any():
        notes.append(
            f"{counted(int(repeated.sum()), 'row', 'repeats')} an earlier time; "
            "only the first row of each time was kept."
        )
    if isinstance(frame.index, pd.DatetimeIndex) and len(frame) >= 3:
        with pd.option_context("future.infer_freq_returns_offset", True):
            frequency = pd.infer_freq(frame.index[:50])
        if frequency:
            _check_grid(frame.index)
            frame = frame.asfreq(frequency)
    missing = int(frame.isna().sum().sum())
    if missing:
        frame = frame.interpolate(method="linear", limit_direction="both")
        notes.append(
            f"{counted(missing, 'missing value', 'was')} filled by linear interpolation between neighbours."
        )
    return frame, notes


def _check_grid(index: pd.DatetimeIndex) -> None:
    """Refuse times so irregular that a grid at the step of the first rows would be mostly filled gaps."""
    first = index[:50]
    rows = (index[-1] - index[0]) / ((first[-1] - first[0]) / (len(first) - 1)) + 1
    if rows > 2 * len(index):
        raise UserError(
            f"The times are too irregular for one time step: at the step of the first rows, {rows:,.0f} rows "
            f"would lie between the first and the last time, for {len(index):,} given."
        )


def forecasting_dataset(
    info: DatasetInfo, settings: ParamValues, frame: pd.DataFrame, notes: list[str] | None = None
) -> Dataset:
    """Window a numeric frame (time index, one column per variable) into forecasting samples."""
    frame, filled = regularize(frame)
    window, horizon, target = settings["window"], settings["horizon"], settings["target"]
    rows = len(frame)
    train_end, validation_end = int(rows * FRACTIONS[0]), int(rows * sum(FRACTIONS))
    if rows - validation_end < horizon + 1 or train_end < window + horizon + 8:
        raise UserError(
            f"The series has {rows} rows, too few for a window of {window} and a horizon of {horizon}; "
            "shorten the window or the horizon."
        )
    samples = rows - window - horizon + 1
    budget.check_values(samples, window * len(frame.columns), "Shorten the window or use fewer columns.")
    values = frame.to_numpy(dtype=np.float64)
    mean, std = values[:train_end].mean(axis=0), values[:train_end].std(axis=0)
    std[std == 0] = 1.0
    scaled = ((values - mean) / std).astype(np.float32)
    column = list(frame.columns).index(target)
    starts = np.arange(0, samples)
    inputs = scaled[starts[:, None] + np.arange(window)]
    targets = scaled[starts[:, None] + window + np.arange(horizon), column]
    relative = settings["predict"] == "change"
    if relative:
        targets = targets - inputs[:, -1, column][:, None]
    first, last = starts + window, starts + window + horizon - 1
    splits = []
    for begin, end in ((0, train_end), (train_end, validation_end), (validation_end, rows)):
        inside = (first >= begin) & (last < end)
        splits.append(Split(inputs[inside], targets[inside]))
    test_first = first[(first >= validation_end) & (last < rows)]
    parts = np.repeat(PARTS, [train_end, validation_end - train_end, rows - validation_end])
    return Dataset(
        info=info,
        settings=settings,
        signature=Signature(Shape(SEQUENCE, (window, len(frame.columns))), "forecasting", horizon),
        train=splits[0],
        validation=splits[1],
        test=splits[2],
        notes=[
            *(notes or []),
            *filled,
            "Scaling (mean and standard deviation) was fitted on the training part only.",
        ],
        preview={"frame": frame.assign(part=parts)},
        target=SeriesTarget(
            target,
            column,
            float(mean[column]),
            float(std[column]),
            [str(t) for t in frame.index[test_first]],
            relative,
        ),
    )


def read_dated_csv(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA_DIR / name, parse_dates=["date"], index_col="date")


def load_co2(info: DatasetInfo, settings: ParamValues) -> Dataset:
    return forecasting_dataset(info, settings, read_dated_csv("co2_weekly.csv.gz"))


def load_sunspots(info: DatasetInfo, settings: ParamValues) -> Dataset:
    return forecasting_dataset(info, settings, read_dated_csv("sunspots_yearly.csv.gz"))


def load_weather(info: DatasetInfo, settings: ParamValues) -> Dataset:
    return forecasting_dataset(info, settings, read_dated_csv("seattle_weather.csv.gz"))
