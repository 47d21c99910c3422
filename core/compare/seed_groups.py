"""Runs of the same configuration trained with different seeds, as groups: their mean curves with bands,
and their test metrics as mean, standard deviation and 95% interval.

The same configuration: the same data, split and preprocessing (``comparable_key``), the same model
spec, and the same training settings except the seed.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.errors import UserError
from core.inputs import shown
from core.runs.queue import checked_seeds
from core.runs.record import configuration_key, seed_of, task_of
from core.tasks.registry import TASKS

CONFIDENCE = 0.95


@dataclass
class SeedGroup:
    """Runs of one configuration, one per seed (the newest of each), oldest first; how many runs repeated
    a seed and were left out; and how the group is named where it is shown.
    """

    runs: list[dict[str, Any]]
    repeats: int = 0
    label: str = ""

    @property
    def name(self) -> str:
        return self.runs[0]["name"]

    @property
    def seeds(self) -> list[int | None]:
        return [seed_of(run) for run in self.runs]


def one_run_per_seed(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest run of each seed, in the order the runs were given: a seed trained twice is one piece
    of evidence, not two. Runs without a seed are all kept.
    """
    newest: dict[int, dict[str, Any]] = {}
    for run in runs:
        seed = seed_of(run)
        if seed is not None and (seed not in newest or _finished(run) >= _finished(newest[seed])):
            newest[seed] = run
    return [run for run in runs if seed_of(run) is None or newest[seed_of(run)] is run]


def _finished(run: dict[str, Any]) -> float:
    return run.get("finished") or run.get("created") or 0.0


def seed_groups(records: list[dict[str, Any]]) -> list[SeedGroup]:
    """The runs grouped by configuration, in the order each group's first run appears, one run per seed,
    each labelled by its model and seeds (``CNN · seeds 1, 2, 3``), and by its first run's id where that
    label repeats.
    """
    found: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        found.setdefault(configuration_key(record), []).append(record)
    groups = []
    for runs in found.values():
        kept = one_run_per_seed(runs)
        groups.append(SeedGroup(kept, repeats=len(runs) - len(kept)))
    for group in groups:
        seeds = ", ".join(str(seed) for seed in group.seeds)
        group.label = f"{group.name} · seed{'s' if len(group.runs) > 1 else ''} {seeds}"
    counts = Counter(group.label for group in groups)
    for group in groups:
        if counts[group.label] > 1:
            group.label += f" · {group.runs[0]['id'][:6]}"
    return groups


def seeds_from_text(text: str) -> list[int]:
    """Seeds written as ``1,2,3`` (distinct whole numbers, at most ``budget.SEEDS``), or one sentence."""
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isascii() and part.isdigit() and len(part) <= 10 for part in parts):
        raise UserError(f"Seeds must be whole numbers separated by commas, such as 1,2,3, not {shown(text)}.")
    return checked_seeds([int(part) for part in parts])


@dataclass(frozen=True)
class Summary:
    """A metric over a group's runs: how many, mean, standard deviation and the 95% interval of the mean
    (Student's t; sd and interval are NaN for a single run).
    """

    n: int
    mean: float
    sd: float
    low: float
    high: float

    def text(self, digits: int = 3) -> str:
        """``0.912 ± 0.004 (95% interval 0.902 to 0.922, 3 runs)``, or the value alone for one run."""
        if self.n < 2:
            return f"{self.mean:.{digits}f} (1 run)"
        return (
            f"{self.mean:.{digits}f} ± {self.sd:.{digits}f} "
            f"(95% interval {self.low:.{digits}f} to {self.high:.{digits}f}, {self.n} runs)"
        )


def summarize(values: list[float]) -> Summary:
    """Mean, sample standard deviation and the 95% t-interval of the mean of ``values`` (at least one)."""
    from scipy import stats  # imported on use: it weighs about 45 MB in the web process

    data = np.asarray(values, dtype=float)
    mean = float(data.mean())
    if len(data) < 2:
        return Summary(len(data), mean, math.nan, math.nan, math.nan)
    sd = float(data.std(ddof=1))
    if sd == 0:
        return Summary(len(data), mean, 0.0, mean, mean)
    low, high = stats.t.interval(CONFIDENCE, len(data) - 1, loc=mean, scale=sd / math.sqrt(len(data)))
    return Summary(len(data), mean, sd, float(low), float(high))


def metric_values(runs: list[dict[str, Any]], metric: str) -> list[float]:
    """The runs' finite test values of ``metric`` (runs without it are left out)."""
    values = [(run.get("metrics") or {}).get(metric) for run in runs]
    return [
        float(v)
        for v in values
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    ]


def group_metrics(groups: list[SeedGroup]) -> pd.DataFrame:
    """A row per group and test metric: group, metric, title, n, mean, sd, low, high and the text to show."""
    rows = []
    for group in groups:
        for column in TASKS[task_of(group.runs[0])].columns:
            values = metric_values(group.runs, column.key)
            if values:
                summary = summarize(values)
                rows.append(
                    {
                        "group": group.label,
                        "metric": column.key,
                        "title": column.title,
                        **vars(summary),
                        "text": summary.text(),
                    }
                )
    return pd.DataFrame(rows, columns=["group", "metric", "title", "n", "mean", "sd", "low", "high", "text"])


def group_table(groups: list[SeedGroup]) -> pd.DataFrame:
    """A row per group: model, seeds, and each test metric as ``mean ± sd (95% interval ...)``."""
    metrics = group_metrics(groups)
    table = pd.DataFrame({"Group": [group.label for group in groups], "Model": [g.name for g in groups]})
    table["Runs"] = [len(group.runs) for group in groups]
    if metrics.empty:
        return table
    wide = metrics.pivot(index="group", columns="title", values="text")
    titles = list(dict.fromkeys(metrics["title"]))
    return table.join(wide[titles], on="Group")


def group_curves(groups: list[SeedGroup], metric: str) -> pd.DataFrame:
    """Per group, epoch and split (train, validation): the mean, sd, min and max of ``metric`` over the
    runs that reached the epoch, and ``low``/``high`` = mean -/+ sd, long form for Altair bands.
    """
    rows = []
    for group in groups:
        values: dict[tuple[int, str], list[float]] = {}
        for run in group.runs:
            for entry in run.get("history") or []:
                for split, key in (("train", metric), ("validation", f"val_{metric}")):
                    if key in entry:
                        values.setdefault((entry["epoch"], split), []).append(entry[key])
        for (epoch, split), found in sorted(values.items()):
            data = np.asarray(found, dtype=float)
            sd = float(data.std(ddof=1)) if len(data) > 1 else 0.0
            mean = float(data.mean())
            rows.append(
                {
                    "group": group.label,
                    "epoch": epoch,
                    "split": split,
                    "runs": len(data),
                    "mean": mean,
                    "sd": sd,
                    "min": float(data.min()),
                    "max": float(data.max()),
                    "low": mean - sd,
                    "high": mean + sd,
                }
            )
    columns = ["group", "epoch", "split", "runs", "mean", "sd", "min", "max", "low", "high"]
    return pd.DataFrame(rows, columns=columns)
