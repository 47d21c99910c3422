"""Where two runs on the same test split disagree, example by example.

Classification: the 2x2 table (both right, only A right, only B right, both wrong) and examples from
each cell, mistakes most confident first. Forecasting: the windows where one model's error most
exceeds the other's, with the truth and the naive forecast. Everything comes from the runs' stored
per-example results (``metrics.test_results``); texts and pixels from the dataset where it loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.datasets import Dataset
from core.datasets.described import load_described
from core.errors import UserError
from core.runs.record import ITEMS, comparable_key, group_label, modality_of, run_label, task_of
from core.runs.store import RunStore
from core.tasks.registry import TASKS

CELLS = {  # key -> (A right, B right)
    "both_right": (True, True),
    "only_a_right": (True, False),
    "only_b_right": (False, True),
    "both_wrong": (False, False),
}
EXAMPLES_PER_CELL = 6
WINDOWS_SHOWN = 3


def sample_content(dataset: Dataset, index: int) -> dict[str, Any]:
    """What a test example shows: ``{"text": ...}`` for tokens, ``{"image": rows}`` (0-255) for pixels."""
    sample = dataset.test.x[index]
    if dataset.as_image is not None:
        sample = dataset.as_image(sample)
    elif dataset.signature.tokens:
        return {"text": dataset.test_texts[index] if dataset.test_texts else dataset.decode(sample)}
    return {"image": np.round(sample * 255).astype(np.uint8).tolist()}


def names_of(a: dict[str, Any], b: dict[str, Any]) -> tuple[str, str]:
    """How two runs are named in sentences: their model names, or name and id where the names match."""
    if a["name"] != b["name"]:
        return a["name"], b["name"]
    return run_label(a), run_label(b)


def items_of(record: dict[str, Any]) -> str:
    """What one test example of the run is called, in the plural: images, texts or windows."""
    return ITEMS.get(modality_of(record), "examples")


def results_of(record: dict[str, Any]) -> dict[str, Any]:
    """The run's per-example test results, or one sentence saying why it has none."""
    label = run_label(record)
    if TASKS[task_of(record)].example_results is None:
        compared = " and ".join(name for name, task in TASKS.items() if task.example_results)
        raise UserError(
            f"{label} is a {task_of(record)} run; runs are compared example by example for {compared} only."
        )
    results = (record.get("metrics") or {}).get("test_results")
    if not results:
        raise UserError(
            f"{label} has no per-example test results (it was evaluated before runs kept them, or did "
            "not finish); train it again to compare it example by example."
        )
    return results


def check_same_data(a: dict[str, Any], b: dict[str, Any]) -> None:
    """One sentence unless the two runs used the same data, split and preprocessing."""
    if comparable_key(a) != comparable_key(b):
        raise UserError(
            f"{run_label(a)} used {group_label(a)} and {run_label(b)} used {group_label(b)}: only runs "
            "on the same data and split can be compared."
        )


def check_pair(a: dict[str, Any], b: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both runs' test results, when the two were tested on the very same examples; else one sentence."""
    if a["id"] == b["id"]:
        raise UserError(f"{run_label(a)} was given twice; pick two different runs.")
    check_same_data(a, b)
    first, second = results_of(a), results_of(b)
    truth = "true" if TASKS[task_of(a)].example_results == "classes" else "series"
    same = first["count"] == second["count"] and len(first[truth]) == len(second[truth])
    if not same or not np.allclose(first[truth], second[truth], rtol=1e-3, atol=1e-6):
        raise UserError(
            f"{run_label(a)} and {run_label(b)} were tested on different examples although their data "
            "is described alike; train them again to compare them example by example."
        )
    return first, second


@dataclass
class ClassDisagreement:
    """Two classification runs on one test split: who got each test example right."""

    a: dict[str, Any]
    b: dict[str, Any]
    true: np.ndarray
    predicted: tuple[np.ndarray, np.ndarray]
    confidence: tuple[np.ndarray, np.ndarray]
    count: int  # the whole test split; the table covers the first ``len(true)`` of them

    @property
    def cells(self) -> dict[str, np.ndarray]:
        """Each cell's test indexes."""
        right_a, right_b = (predicted == self.true for predicted in self.predicted)
        return {key: np.flatnonzero((right_a == ra) & (right_b == rb)) for key, (ra, rb) in CELLS.items()}

    @property
    def counts(self) -> dict[str, int]:
        return {key: len(indexes) for key, indexes in self.cells.items()}

    def table(self) -> pd.DataFrame:
        """The 2x2 table: rows A right / A wrong, columns B right / B wrong, with the runs' names."""
        name_a, name_b = names_of(self.a, self.b)
        counts = self.counts
        return pd.DataFrame(
            [
                [counts["both_right"], counts["only_a_right"]],
                [counts["only_b_right"], counts["both_wrong"]],
            ],
            index=[f"{name_a} right", f"{name_a} wrong"],
            columns=[f"{name_b} right", f"{name_b} wrong"],
        )

    def coverage(self) -> str:
        """Which test examples the table counts, in words."""
        return _coverage(len(self.true), self.count, items_of(self.a))

    def examples(self, per_cell: int = EXAMPLES_PER_CELL, dataset: Dataset | None = None) -> dict[str, list]:
        """Up to ``per_cell`` examples per cell, mistakes most confident first (both right: in test
        order), each with its label and both predictions, and its text or pixels when ``dataset`` is given.
        """
        names = self.a["metrics"]["class_names"]
        (predicted_a, predicted_b), (sure_a, sure_b) = self.predicted, self.confidence
        wrong_confidence = {
            "both_right": np.zeros(len(self.true)),
            "only_a_right": sure_b,
            "only_b_right": sure_a,
            "both_wrong": np.maximum(sure_a, sure_b),
        }
        shown_data = dataset is not None and len(dataset.test) == self.count
        found: dict[str, list] = {}
        for key, indexes in self.cells.items():
            order = indexes[np.argsort(-wrong_confidence[key][indexes], kind="stable")][:per_cell]
            found[key] = [
                {
                    "index": int(i),
                    "true": names[self.true[i]],
                    "a_predicted": names[predicted_a[i]],
                    "a_confidence": float(sure_a[i]),
                    "b_predicted": names[predicted_b[i]],
                    "b_confidence": float(sure_b[i]),
                    **(sample_content(dataset, int(i)) if shown_data else {}),
                }
                for i in order
            ]
        return found


@dataclass
class ForecastDisagreement:
    """Two forecasting runs on one test split: each window's error, and the windows to look at."""

    a: dict[str, Any]
    b: dict[str, Any]
    errors: tuple[np.ndarray, np.ndarray]
    predicted: tuple[np.ndarray, np.ndarray]  # windows x horizon
    series: np.ndarray
    window: int
    count: int

    @property
    def counts(self) -> dict[str, int]:
        """Windows where A's error is lower, where B's is, and where they are equal."""
        difference = self.errors[0] - self.errors[1]
        return {
            "a_lower_error": int((difference < 0).sum()),
            "b_lower_error": int((difference > 0).sum()),
            "equal_error": int((difference == 0).sum()),
        }

    def table(self) -> pd.DataFrame:
        """How many windows each model is closer on, and on how many they tie."""
        name_a, name_b = names_of(self.a, self.b)
        counts = self.counts
        return pd.DataFrame(
            {
                "windows": [counts["a_lower_error"], counts["b_lower_error"], counts["equal_error"]],
            },
            index=[f"{name_a} closer", f"{name_b} closer", "equally close"],
        )

    def coverage(self) -> str:
        """Which test windows the table counts, in words."""
        return _coverage(len(self.errors[0]), self.count, "windows")

    def worst_windows(self, worse: str, count: int = WINDOWS_SHOWN) -> list[int]:
        """The windows where run ``worse`` ("a" or "b") has the largest error beyond the other's."""
        excess = self.errors[0] - self.errors[1] if worse == "a" else self.errors[1] - self.errors[0]
        order = np.argsort(-excess, kind="stable")
        return [int(i) for i in order[:count] if excess[i] > 0]

    def window_frame(self, index: int) -> pd.DataFrame:
        """One window drawn: the values it read, then the truth, both forecasts and the naive forecast,
        in long form (step, value, line) with step 0 the first forecast step, for an Altair line chart.
        """
        name_a, name_b = names_of(self.a, self.b)
        horizon = self.predicted[0].shape[1]
        seen = self.series[index : index + self.window]
        ahead = np.arange(horizon)
        lines = [
            ("truth", np.arange(-self.window, horizon), self.series[index : index + self.window + horizon]),
            (name_a, ahead, self.predicted[0][index]),
            (name_b, ahead, self.predicted[1][index]),
            ("naive (last value)", ahead, np.repeat(seen[-1], horizon)),
        ]
        return pd.DataFrame(
            [
                {"step": int(step), "value": float(value), "line": line}
                for line, steps, values in lines
                for step, value in zip(steps, values, strict=True)
            ]
        )

    def window_summary(self, index: int) -> dict[str, Any]:
        """A window's number, its first forecast time (where the run kept it) and both errors."""
        times = self.a["metrics"].get("forecast", {}).get("time", [])
        return {
            "index": index,
            "time": times[index] if index < len(times) else None,
            "a_error": float(self.errors[0][index]),
            "b_error": float(self.errors[1][index]),
        }


def _coverage(kept: int, count: int, items: str) -> str:
    """``all 180 test images``, or ``the first 10,000 of 25,000 test texts`` where a run kept fewer."""
    if kept == count:
        return f"all {count:,} test {items}"
    return f"the first {kept:,} of {count:,} test {items} (the results each run keeps)"


def disagreement(a: dict[str, Any], b: dict[str, Any]) -> ClassDisagreement | ForecastDisagreement:
    """Where runs A and B, tested on the same split, disagree; one sentence when they cannot be compared."""
    first, second = check_pair(a, b)
    if TASKS[task_of(a)].example_results == "classes":
        return ClassDisagreement(
            a,
            b,
            np.asarray(first["true"]),
            (np.asarray(first["predicted"]), np.asarray(second["predicted"])),
            (np.asarray(first["confidence"]), np.asarray(second["confidence"])),
            first["count"],
        )
    return ForecastDisagreement(
        a,
        b,
        (np.asarray(first["error"]), np.asarray(second["error"])),
        (np.asarray(first["predicted"]), np.asarray(second["predicted"])),
        np.asarray(first["series"]),
        first["window"],
        first["count"],
    )


def examples_dataset(record: dict[str, Any], store: RunStore | None = None) -> tuple[Dataset | None, str]:
    """The run's data again, to show its test examples' texts or pixels; or None and a sentence why not.

    Built-in sets load without Keras; an upload is read from ``store``; a Keras classic must be downloaded.
    """
    description = record["config"]["dataset"]
    upload = description.get("upload")
    data = store.upload(upload["sha256"]) if store is not None and upload else None
    try:
        return load_described(description, data), ""
    except UserError as error:
        return None, f"The examples are shown without their content: {error}"
