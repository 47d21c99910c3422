"""Reproducing Bai, Kolter and Koltun (2018) at CPU scale: the paper's Table 1 as data, our plan for its
sequence tasks (data, lengths, samples, epochs and the four benchmark presets), and a verdict on each of
the paper's claims, judged from the runs in the store.

Two kinds of claim per task: that a model *learns* it — its main test metric beats what the task scores
without a model by at least ``MARGIN`` of that baseline — and which model is *best*. A claim is
reproduced where our runs agree and not reproduced where they do not; a best-model claim is
inconclusive where a significance test (over seeds, or example by example) finds the gap too small to
tell, and untested where no test applies (one seed of a task without per-example results).
"""

from __future__ import annotations

import functools
import math
import statistics
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.compare.seed_groups import configuration_key, metric_values
from core.compare.significance import Significance, compare
from core.datasets import DATASETS
from core.datasets.described import load_described
from core.errors import UserError
from core.runs.queue import one_per_seed, queued_record
from core.runs.record import RunStatus
from core.runs.sweep import named_preset
from core.tasks.registry import TASKS

CITATION = (
    "Shaojie Bai, J. Zico Kolter and Vladlen Koltun (2018). An Empirical Evaluation of Generic "
    "Convolutional and Recurrent Networks for Sequence Modeling. arXiv:1803.01271, Table 1."
)
TCN = "Dilated causal CNN (TCN)"
MODELS = ("LSTM", "GRU", "SimpleRNN", TCN)  # the paper's LSTM, GRU, RNN and TCN, as our presets name them
MARGIN = 0.1  # a model learns a task when its main metric beats the baseline by this share of it
DEFAULT_SEED = 42
REPRODUCED, NOT_REPRODUCED = "reproduced", "not reproduced"
INCONCLUSIVE, NOT_RUN = "inconclusive", "not run yet"
NOT_IN_PLAN = "not in this plan"
STATUSES = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_RUN)
UNTESTED = "Untested: one seed per model, and this task has no per-example test; train more seeds."


@dataclass(frozen=True)
class PaperTask:
    """One column of the paper's Table 1: its results per model, in the units of our main metric."""

    dataset: str  # our dataset of the task
    title: str
    phrase: str  # the task in a sentence
    setting: str  # the paper's sequence length
    results: dict[str, float]  # preset name -> the paper's result
    baseline: float  # what the paper's setting scores without a model

    @property
    def metric(self) -> str:
        return TASKS[DATASETS[self.dataset].task].main

    @property
    def metric_words(self) -> str:
        title = TASKS[DATASETS[self.dataset].task].main_column.title
        return title if title.isupper() else title.lower()

    @property
    def higher(self) -> bool:
        return TASKS[DATASETS[self.dataset].task].main_column.higher

    @property
    def winner(self) -> str:
        """The model with the paper's best result."""
        pick = max if self.higher else min
        return pick(self.results, key=self.results.__getitem__)


TABLE_1 = (
    PaperTask(
        "adding",
        "Adding problem",
        "the adding problem",
        "T = 600",
        {"LSTM": 0.164, "GRU": 5.3e-5, "SimpleRNN": 0.177, TCN: 5.8e-5},
        1 / 6,  # the variance of a sum of two uniform values: the MSE of always guessing 1
    ),
    PaperTask(
        "copy_memory",
        "Copy memory",
        "copy memory",
        "T = 1000",
        {"LSTM": 0.0204, "GRU": 0.0197, "SimpleRNN": 0.0202, TCN: 3.5e-5},
        10 * math.log(8) / 1020,  # blanks, then a uniform guess of the ten symbols
    ),
    PaperTask(
        "seq_mnist",
        "Sequential MNIST",
        "sequential MNIST",
        "T = 784",
        {"LSTM": 0.872, "GRU": 0.962, "SimpleRNN": 0.215, TCN: 0.990},
        0.1,  # chance
    ),
    PaperTask(
        "perm_mnist",
        "Permuted MNIST",
        "permuted MNIST",
        "T = 784",
        {"LSTM": 0.857, "GRU": 0.873, "SimpleRNN": 0.253, TCN: 0.972},
        0.1,
    ),
)
PAPER = {task.dataset: task for task in TABLE_1}


# ---- the plan ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedData:
    """One task's data in a plan: its dataset settings and, optionally, a cut of its training split."""

    dataset: str
    settings: dict[str, Any] = field(hash=False)  # a plan is hashed by the rest, cached by plan_keys
    limit: int | None = None

    @property
    def description(self) -> dict[str, Any]:
        """How a worker loads it: ``{"id", "settings", "limit"?}``."""
        found = {"id": self.dataset, "settings": dict(self.settings)}
        return {**found, "limit": self.limit} if self.limit else found


@dataclass(frozen=True)
class Plan:
    """What to train: the four presets on each task's data, for ``epochs`` epochs in batches of 32."""

    name: str
    data: tuple[PlannedData, ...]
    epochs: int
    batch_size: int = 32

    @property
    def training(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "batch_size": self.batch_size}

    def scale(self, dataset_id: str) -> str | None:
        """The scale this plan trains a task at, in words ("T = 100, 10,000 samples, 8 epochs"); None
        for a task it leaves out.
        """
        data = next((data for data in self.data if data.dataset == dataset_id), None)
        if data is None:
            return None
        settings = data.settings
        words = [f"T = {settings['length']}"] if "length" in settings else []
        words += [f"{settings['samples']:,} samples"] if "samples" in settings else []
        words += [f"{settings['size']} digits"] if "size" in settings else []
        words += [f"the first {data.limit:,} training samples"] if data.limit else []
        return ", ".join([*words, f"{self.epochs} epoch{'s' if self.epochs > 1 else ''}"])


GENERATED = {  # the two tasks the plan always trains, at each scale
    "default": (
        PlannedData("adding", {"length": 100, "samples": 10_000}),
        PlannedData("copy_memory", {"length": 50, "samples": 10_000}),
    ),
    "quick": (
        PlannedData("adding", {"length": 20, "samples": 200}),
        PlannedData("copy_memory", {"length": 10, "samples": 200}),
    ),
}
MNIST = {
    "default": tuple(PlannedData(name, {"size": "14x14"}) for name in ("seq_mnist", "perm_mnist")),
    "quick": tuple(PlannedData(name, {"size": "14x14"}, limit=64) for name in ("seq_mnist", "perm_mnist")),
}
EPOCHS = {"default": 8, "quick": 1}


def plan(quick: bool = False, mnist: bool = False) -> Plan:
    """The CPU-scale plan (adding at T = 100 and copy memory at T = 50, 10,000 samples, 8 epochs), or a
    quick one that trains in seconds; with ``mnist``, sequential and permuted MNIST (14x14) as well.
    """
    name = "quick" if quick else "default"
    return Plan(name, GENERATED[name] + (MNIST[name] if mnist else ()), EPOCHS[name])


def planned_runs(chosen: Plan, seeds: list[int]) -> list[dict[str, Any]]:
    """The plan's runs, ready to queue: each preset on each task's data, one run per seed."""
    records = []
    for data in chosen.data:
        dataset = load_described(data.description)
        for name in MODELS:
            spec = named_preset(name, dataset)
            record = queued_record(data.description, dataset.info, dataset.signature, spec, chosen.training)
            records += one_per_seed(record, seeds)
    return records


@functools.cache
def plan_keys(chosen: Plan) -> dict[str, tuple[str, str]]:
    """Each planned configuration (``configuration_key``: any seed) -> its dataset and model."""
    return {
        configuration_key(record): (record["dataset"], record["name"])
        for record in planned_runs(chosen, [DEFAULT_SEED])
    }


# ---- the verdicts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """One of the paper's claims and what our runs say of it."""

    dataset: str
    model: str | None  # None: the claim of which model is best
    claim: str
    status: str  # REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE or NOT_RUN
    detail: str


@dataclass
class Report:
    """Our numbers beside the paper's, a row per task and model; the verdict on each claim of the tasks
    the plan trains; and the tasks it leaves out.
    """

    plan: Plan
    rows: pd.DataFrame
    verdicts: list[Verdict]
    left_out: list[str]

    def lines(self) -> list[str]:
        """The report as text for a terminal."""
        lines = [f"Bai et al. (2018), Table 1, beside our runs ({self.plan.name} plan):"]
        for row in self.rows.itertuples():
            lines.append(
                f"  {row.Task:<17} {row.Model:<25} paper {row.Paper:<8} ours {row.Ours:<32} "
                f"baseline {row.Baseline:<7} {row.Verdict}"
            )
        lines.append("Claims:")
        lines += [f"  [{verdict.status}] {verdict.claim}. {verdict.detail}" for verdict in self.verdicts]
        if self.left_out:
            lines.append(f"Not in this plan: {', '.join(self.left_out)} (--mnist adds them).")
        lines.append(f"Source: {CITATION}")
        return lines


def learns(value: float, baseline: float, higher: bool) -> bool:
    """Whether a main metric beats its baseline by at least ``MARGIN`` of the baseline."""
    gain = value - baseline if higher else baseline - value
    return gain >= MARGIN * abs(baseline)


def _number(value: float) -> str:
    return f"{value:.3g}"


def _latest_per_seed(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest run of each seed (a plan trained twice with one seed counts that seed once)."""
    newest: dict[Any, dict[str, Any]] = {}
    for run in sorted(runs, key=lambda run: run.get("finished") or 0):
        newest[run["config"]["train"].get("seed")] = run
    return list(newest.values())


@dataclass(frozen=True)
class _Ours:
    """One model's completed runs on one task of the plan: their main metric and its baseline."""

    runs: list[dict[str, Any]]
    values: list[float]
    baseline: float

    @property
    def value(self) -> float:
        return statistics.mean(self.values)

    def text(self) -> str:
        """The mean, and its spread over seeds where there are several."""
        if len(self.values) < 2:
            return _number(self.value)
        return f"{_number(self.value)} ± {_number(statistics.stdev(self.values))} ({len(self.values)} seeds)"


def _ours(task: PaperTask, runs: list[dict[str, Any]]) -> _Ours | None:
    values = metric_values(runs, task.metric)
    baselines = metric_values(runs, TASKS[DATASETS[task.dataset].task].baseline)
    return _Ours(runs, values, statistics.mean(baselines)) if values and baselines else None


def report(chosen: Plan, records: list[dict[str, Any]]) -> Report:
    """The paper's Table 1 beside the plan's completed runs among ``records``, and a verdict per claim."""
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    keys = plan_keys(chosen)
    for record in records:
        place = keys.get(configuration_key(record)) if record["status"] == RunStatus.COMPLETED else None
        if place is not None:
            found.setdefault(place, []).append(record)
    rows, verdicts, left_out = [], [], []
    for task in TABLE_1:
        scale = chosen.scale(task.dataset)
        ours = {
            model: _ours(task, _latest_per_seed(found[(task.dataset, model)]))
            for model in MODELS
            if (task.dataset, model) in found
        }
        learned = {model: _learn_verdict(task, model, ours.get(model), scale) for model in MODELS}
        if scale is None:
            left_out.append(task.title)
        else:
            verdicts += [*learned.values(), _best_verdict(task, ours, scale)]
        for model in MODELS:
            mine = ours.get(model)
            rows.append(
                {
                    "Task": task.title,
                    "Model": model,
                    "Paper": _number(task.results[model]),
                    "Ours": mine.text() if mine else "–",
                    "Baseline": _number(mine.baseline) if mine else "–",
                    "Verdict": learned[model].status if scale else NOT_IN_PLAN,
                }
            )
    return Report(chosen, pd.DataFrame(rows), verdicts, left_out)


def _learn_verdict(task: PaperTask, model: str, ours: _Ours | None, scale: str | None) -> Verdict:
    """Whether our runs agree with the paper on whether ``model`` learns the task."""
    paper = learns(task.results[model], task.baseline, task.higher)
    claim = f"{model} {'learns' if paper else 'does not learn'} {task.phrase} at {task.setting}"
    paper_words = (
        f"Paper: {task.metric_words} {_number(task.results[model])} against {_number(task.baseline)} "
        "without a model"
    )
    if ours is None:
        return Verdict(task.dataset, model, claim, NOT_RUN, f"{paper_words}; no completed run yet.")
    here = learns(ours.value, ours.baseline, task.higher)
    detail = (
        f"{paper_words}; here at {scale}: {ours.text()} against {_number(ours.baseline)}, so it "
        f"{'learns' if here else 'does not learn'} it."
    )
    return Verdict(task.dataset, model, claim, REPRODUCED if here == paper else NOT_REPRODUCED, detail)


def _best_verdict(task: PaperTask, ours: dict[str, _Ours], scale: str) -> Verdict:
    """Whether our runs agree on which model is best: judged against the baseline first, then by a
    significance test between our best and the paper's best (or our runner-up, where they are the same).
    """
    winner = task.winner
    claim = f"{winner} is best on {task.phrase} ({_number(task.results[winner])} at {task.setting})"
    if len(ours) < len(MODELS):
        missing = ", ".join(model for model in MODELS if model not in ours)
        return Verdict(task.dataset, None, claim, NOT_RUN, f"No completed run yet of {missing}.")
    ranked = sorted(ours, key=lambda model: ours[model].value, reverse=task.higher)
    best = ranked[0]
    found = (
        f"Here at {scale}: " + ", ".join(f"{model} {_number(ours[model].value)}" for model in ranked) + "."
    )
    if not learns(ours[winner].value, ours[winner].baseline, task.higher):
        detail = f"{found} {winner} does not beat the baseline ({_number(ours[winner].baseline)}) here."
        return Verdict(task.dataset, None, claim, NOT_REPRODUCED, detail)
    agrees = REPRODUCED if best == winner else NOT_REPRODUCED
    test = _test(ours[best].runs, ours[ranked[1] if best == winner else winner].runs)
    if test is None:
        return Verdict(task.dataset, None, claim, agrees, f"{found} {UNTESTED}")
    status = agrees if test.better else INCONCLUSIVE  # better is None where p >= 0.05
    return Verdict(task.dataset, None, claim, status, f"{found} {test.sentence}")


def _test(best: list[dict[str, Any]], rival: list[dict[str, Any]]) -> Significance | None:
    """The significance test between two models' runs (Welch over seeds, or a paired test of single
    runs); None where none applies.
    """
    try:
        return compare(best, rival)
    except UserError:
        return None
