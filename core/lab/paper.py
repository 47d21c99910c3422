"""Reproducing Bai, Kolter and Koltun (2018) at CPU scale: the paper's Table 1 as data, our plan for its
sequence tasks (data, lengths, samples, epochs and the four benchmark presets), and a verdict on each of
the paper's claims, judged from the runs in the store.

Two kinds of claim per task: that a model *learns* it, and which model is *best*. In the paper a model
learns a task when its published result beats what the task scores without a model by at least
``MARGIN`` of that baseline; here, when the runs of more than half of its seeds beat the baseline by the
app's verdict engine (``core.compare.verdicts.beats_baseline``). A claim is reproduced where our runs
agree and not reproduced where they do not; a best-model claim is inconclusive where a significance test
(over seeds, or example by example) finds the gap too small to tell or where no test applies (one seed
of a task without per-example results). A plan too small for any model to learn (the quick
one) judges no claim: its runs are "not enough training to judge".
"""

from __future__ import annotations

import functools
import math
import statistics
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.compare.seed_groups import configuration_key, metric_values
from core.compare.significance import pair_verdict
from core.compare.verdicts import BaselineVerdict, beats_baseline
from core.datasets import DATASETS
from core.datasets.described import load_described
from core.model.spec import ModelSpec
from core.runs import estimates
from core.runs.queue import one_per_seed, queued_record
from core.runs.record import RunStatus
from core.runs.sweep import named_preset
from core.shapes import Signature
from core.tasks.registry import TASKS

CITATION = (
    "Shaojie Bai, J. Zico Kolter and Vladlen Koltun (2018). An Empirical Evaluation of Generic "
    "Convolutional and Recurrent Networks for Sequence Modeling. arXiv:1803.01271, Table 1."
)
TCN = "Dilated causal CNN (TCN)"
MODELS = ("LSTM", "GRU", "SimpleRNN", TCN)  # the paper's LSTM, GRU, RNN and TCN, as our presets name them
MARGIN = 0.1  # in the paper, a model learns a task when its result beats the baseline by this share of it
DEFAULT_SEED = 42
REPRODUCED, NOT_REPRODUCED = "reproduced", "not reproduced"
INCONCLUSIVE, NOT_RUN = "inconclusive", "not run yet"
TOO_LITTLE = "not enough training to judge"
NOT_IN_PLAN = "not in this plan"
STATUSES = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_RUN, TOO_LITTLE)
PLUMBING = (
    "The quick plan trains too little for any model to learn these tasks, so it only checks that the "
    "plumbing works and judges no claim."
)
UNJUDGED = "No model can learn at this plan's scale, so the claim is not judged."


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
    """What to train: the four presets on each task's data, for ``epochs`` epochs in batches of 32.
    ``judges`` says whether it trains at a scale where the paper's claims can be judged (the default
    plan does; the quick one only checks the plumbing).
    """

    name: str
    data: tuple[PlannedData, ...]
    epochs: int
    judges: bool = True
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
    return Plan(name, GENERATED[name] + (MNIST[name] if mnist else ()), EPOCHS[name], judges=not quick)


@dataclass(frozen=True)
class _Configuration:
    """One preset on one task's data as the plan queues it (before its seed), and the sizes of the
    training and validation splits it will train on.
    """

    record: dict[str, Any]
    sizes: tuple[int, int]

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec.from_dict(self.record["config"]["model"])

    @property
    def signature(self) -> Signature:
        return Signature.from_dict(self.record["signature"])

    @property
    def settings(self) -> dict[str, Any]:
        return self.record["config"]["train"]

    @property
    def calibration(self) -> dict[str, Any]:
        """What a worker times to estimate its cost (``estimates.calibration_request``)."""
        return estimates.calibration_request(self.spec, self.signature, self.settings)


@functools.cache
def _configurations(chosen: Plan) -> tuple[_Configuration, ...]:
    """Each preset on each task's data of the plan, checked as a worker will build it."""
    found = []
    for data in chosen.data:
        dataset = load_described(data.description)
        sizes = (len(dataset.train), len(dataset.validation))
        for name in MODELS:
            spec = named_preset(name, dataset)
            record = queued_record(data.description, dataset.info, dataset.signature, spec, chosen.training)
            found.append(_Configuration(record, sizes))
    return tuple(found)


def planned_runs(chosen: Plan, seeds: list[int]) -> list[dict[str, Any]]:
    """The plan's runs, ready to queue: each preset on each task's data, one run per seed."""
    return [run for each in _configurations(chosen) for run in one_per_seed(each.record, seeds)]


def calibration_requests(chosen: Plan) -> dict[str, dict[str, Any]]:
    """The calibrations that estimate the plan's runs (``core.runs.estimates``), by key."""
    return {estimates.cost_key(each.calibration): each.calibration for each in _configurations(chosen)}


def seconds(
    chosen: Plan, seeds: int, calibrations: dict[str, dict[str, Any]], history: list[dict[str, Any]]
) -> float | None:
    """The estimated seconds of the plan's runs trained one after another, ``seeds`` runs per model,
    from the store's calibrations (``RunStore.calibrations``) and cost history; None where a run has no
    estimate.
    """
    total = 0.0
    for each in _configurations(chosen):
        calibration = calibrations.get(estimates.cost_key(each.calibration)) or {}
        made = estimates.estimate(
            each.spec, each.signature, each.settings, each.sizes, calibration.get("result"), history
        )
        if made["total_seconds"] is None:
            return None
        total += seeds * made["total_seconds"]
    return total


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
    status: str  # one of STATUSES
    detail: str


@dataclass
class Report:
    """Our numbers beside the paper's, a row per task and model; the verdict on each claim of the tasks
    the plan trains; the tasks it leaves out; and the completed runs counted, by dataset.
    """

    plan: Plan
    rows: pd.DataFrame
    verdicts: list[Verdict]
    left_out: list[str]
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """The report as text for a terminal."""
        lines = [f"Bai et al. (2018), Table 1, beside our runs ({self.plan.name} plan):"]
        if not self.plan.judges:
            lines.append(PLUMBING)
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


def paper_learns(task: PaperTask, model: str) -> bool:
    """The paper's side of a learning claim: its published result beats the task's baseline by at least
    ``MARGIN`` of the baseline (there are no per-example results of the paper to test).
    """
    gain = task.results[model] - task.baseline if task.higher else task.baseline - task.results[model]
    return gain >= MARGIN * abs(task.baseline)


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
    """One model's completed runs on one task of the plan: their main metric, its baseline, and each
    run's verdict against the baseline.
    """

    runs: list[dict[str, Any]]
    values: list[float]
    baseline: float
    verdicts: list[BaselineVerdict]

    @property
    def value(self) -> float:
        return statistics.mean(self.values)

    @property
    def learns(self) -> bool:
        """Whether the runs of more than half of its seeds beat the baseline."""
        return 2 * sum(verdict.beats for verdict in self.verdicts) > len(self.verdicts)

    def text(self) -> str:
        """The mean, and its spread over seeds where there are several."""
        if len(self.values) < 2:
            return _number(self.value)
        return f"{_number(self.value)} ± {_number(statistics.stdev(self.values))} ({len(self.values)} seeds)"

    def judged(self) -> str:
        """How many seeds' runs beat the baseline, what that makes of the model, and the verdict engine's
        sentence on each run (after its seed, where there are several).
        """
        said = "learns it" if self.learns else "does not learn it"
        if len(self.runs) == 1:
            counted = f"Its run {'beats' if self.learns else 'does not beat'} the baseline, so it {said}."
        else:
            beaten = sum(verdict.beats for verdict in self.verdicts)
            counted = (
                f"The runs of {beaten} of its {len(self.runs)} seeds beat the baseline, and a model learns a "
                f"task where more than half do, so it {said}."
            )
        sentences = [verdict.sentence for verdict in self.verdicts]
        if len(self.runs) > 1:
            seeds = [run["config"]["train"].get("seed") for run in self.runs]
            sentences = [f"Seed {seed}: {text}" for seed, text in zip(seeds, sentences, strict=True)]
        return " ".join([counted, *sentences])


def _ours(task: PaperTask, runs: list[dict[str, Any]]) -> _Ours | None:
    values = metric_values(runs, task.metric)
    baselines = metric_values(runs, TASKS[DATASETS[task.dataset].task].baseline)
    if not values or not baselines:
        return None
    return _Ours(runs, values, statistics.mean(baselines), [beats_baseline(run) for run in runs])


def report(chosen: Plan, records: list[dict[str, Any]]) -> Report:
    """The paper's Table 1 beside the plan's completed runs among ``records``, and a verdict per claim."""
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    keys = plan_keys(chosen)
    for record in records:
        place = keys.get(configuration_key(record)) if record["status"] == RunStatus.COMPLETED else None
        if place is not None:
            found.setdefault(place, []).append(record)
    rows, verdicts, left_out, counted = [], [], [], {}
    for task in TABLE_1:
        ours = {
            model: _ours(task, _latest_per_seed(found[(task.dataset, model)]))
            for model in MODELS
            if (task.dataset, model) in found
        }
        learned = {model: _learn_verdict(task, model, ours.get(model), chosen) for model in MODELS}
        if chosen.scale(task.dataset) is None:
            left_out.append(task.title)
        else:
            verdicts += [*learned.values(), _best_verdict(task, ours, chosen)]
        if runs := [run for mine in ours.values() if mine for run in mine.runs]:
            counted[task.dataset] = runs
        for model in MODELS:
            mine = ours.get(model)
            rows.append(
                {
                    "Task": task.title,
                    "Model": model,
                    "Paper": _number(task.results[model]),
                    "Ours": mine.text() if mine else "–",
                    "Baseline": _number(mine.baseline) if mine else "–",
                    "Verdict": learned[model].status if chosen.scale(task.dataset) else NOT_IN_PLAN,
                }
            )
    return Report(chosen, pd.DataFrame(rows), verdicts, left_out, counted)


def _learn_verdict(task: PaperTask, model: str, ours: _Ours | None, chosen: Plan) -> Verdict:
    """Whether our runs agree with the paper on whether ``model`` learns the task."""
    paper = paper_learns(task, model)
    claim = f"{model} {'learns' if paper else 'does not learn'} {task.phrase} at {task.setting}"
    paper_words = (
        f"Paper: {task.metric_words} {_number(task.results[model])} against {_number(task.baseline)} "
        f"without a model ({'at least' if paper else 'less than'} {MARGIN:.0%} better)"
    )
    if ours is None:
        return Verdict(task.dataset, model, claim, NOT_RUN, f"{paper_words}; no completed run yet.")
    scale = chosen.scale(task.dataset)
    here = f"{paper_words}; here at {scale}: {ours.text()} against {_number(ours.baseline)}."
    if not chosen.judges:
        return Verdict(task.dataset, model, claim, TOO_LITTLE, f"{here} {UNJUDGED}")
    status = REPRODUCED if ours.learns == paper else NOT_REPRODUCED
    return Verdict(task.dataset, model, claim, status, f"{here} {ours.judged()}")


def _best_verdict(task: PaperTask, ours: dict[str, _Ours], chosen: Plan) -> Verdict:
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
        f"Here at {chosen.scale(task.dataset)}: "
        + ", ".join(f"{model} {_number(ours[model].value)}" for model in ranked)
        + "."
    )
    if not chosen.judges:
        return Verdict(task.dataset, None, claim, TOO_LITTLE, f"{found} {UNJUDGED}")
    if not ours[winner].learns:
        detail = (
            f"{found} {winner} does not beat the baseline ({_number(ours[winner].baseline)}) in most of its "
            "seeds here."
        )
        return Verdict(task.dataset, None, claim, NOT_REPRODUCED, detail)
    rival = ranked[1] if best == winner else winner
    verdict = pair_verdict(ours[best].runs, ours[rival].runs, (best, rival))
    if verdict.better is None:  # p >= 0.05, or no test applies (the sentence says which)
        return Verdict(task.dataset, None, claim, INCONCLUSIVE, f"{found} {verdict.text}")
    leader = best if verdict.better == "a" else rival
    status = REPRODUCED if leader == winner else NOT_REPRODUCED
    return Verdict(task.dataset, None, claim, status, f"{found} {verdict.text}")
