"""The one place where the app decides what it claims of a run: whether it beats its baseline, and
which runs may be called best. Every page, the Lab, the lesson card and the command line ask here.

"Beats the baseline" is a test, not a difference, wherever the run kept its test results example by
example: for classification an exact binomial test on the test examples where the model and the
majority class disagree (one of them right, the other wrong); for forecasting the Wilcoxon signed-rank
test of each test window's error against the naive forecast's (repeating the window's last value); for
regression, sequence labelling and the language model the Wilcoxon signed-rank test of each test
example's loss against the task's baseline's (``LOSS_BASELINES``). All one-sided: "yes" only at
p < 0.05, "not shown" otherwise. Runs evaluated before per-example results were kept are judged by the
difference of their main metric, and say so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np

from core.compare.significance import ALPHA
from core.runs.record import RunStatus, items_word, task_of
from core.tasks.registry import TASKS

YES, NOT_SHOWN, UNKNOWN = "yes", "not shown", "–"
EXACT = "exact binomial test against the majority class"
AGAINST_NAIVE = "Wilcoxon signed-rank test against the naive forecast"
DIFFERENCE = "difference of the main metric (no per-example results to test)"
MOSTLY_ONE_CLASS = 0.9  # a classifier answering one class for this share of the test split is told so


class LossBaseline(NamedTuple):
    """How a task's kept per-example losses (``loss``, ``baseline_loss``) are tested and told."""

    loss: str  # what one kept loss is
    baseline: str  # what the baseline does
    test: str
    items: str | None = None  # what one test example is called, where not the run's own word


LOSS_BASELINES = {  # by the task's name in core.tasks.registry
    "regression": LossBaseline(
        "squared error",
        "always predicting the training mean",
        "Wilcoxon signed-rank test against the training mean",
    ),
    "sequence-labelling": LossBaseline(
        "loss",
        "guessing each step from its label frequencies",
        "Wilcoxon signed-rank test against the step label frequencies",
    ),
    "language-model": LossBaseline(
        "loss",
        "guessing by character frequency",
        "Wilcoxon signed-rank test against the unigram model",
        "characters",
    ),
}


@dataclass(frozen=True)
class BaselineVerdict:
    """Whether a run beats its baseline: ``YES``, ``NOT_SHOWN`` or ``UNKNOWN`` (nothing to judge), the test,
    its p-value and the examples it counted (None where no test applies), and the sentence.
    """

    verdict: str
    test: str | None
    p_value: float | None
    n: int | None
    sentence: str

    @property
    def beats(self) -> bool:
        return self.verdict == YES

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def beats_baseline(record: dict[str, Any]) -> BaselineVerdict:
    """The run against its task's baseline, by the strongest test its kept results allow."""
    metrics = record.get("metrics") or {}
    task = TASKS[task_of(record)]
    results = metrics.get("test_results")
    if (
        results
        and task.example_results == "classes"
        and metrics.get("majority_class") in metrics.get("class_names", [])
    ):
        return _against_majority(record, metrics, results)
    if results and task.example_results == "windows" and results.get("error"):
        return _against_naive(record, results)
    if results and task.name in LOSS_BASELINES and results.get("loss"):
        return _against_baseline_losses(record, results, LOSS_BASELINES[task.name])
    beats = task.beats(metrics)
    if beats is None:
        return BaselineVerdict(UNKNOWN, None, None, None, f"{record['name']} has no test metrics to judge.")
    main = task.main_column
    value, baseline = metrics[main.key], metrics[task.baseline]
    said = "beats" if beats else "does not beat"
    sentence = (
        f"{record['name']}'s {main.title} {value:.4g} {said} the baseline's {baseline:.4g} (not tested)."
    )
    return BaselineVerdict(YES if beats else NOT_SHOWN, DIFFERENCE, None, None, sentence)


def _outcome(p: float, mean_lower: bool = True) -> tuple[str, str]:
    """The verdict at p, and how the sentence ends; a run whose mean error is not below the baseline's
    (``mean_lower``) is not shown to beat it, whatever the ranks say.
    """
    p_text = "p < 0.001" if p < 0.001 else f"p = {p:.3g}"
    if p < ALPHA and mean_lower:
        return YES, f"{p_text}, so it beats the baseline"
    if p < ALPHA:
        return (
            NOT_SHOWN,
            f"{p_text}, but its mean error is not lower, so it is not shown to beat the baseline",
        )
    return NOT_SHOWN, f"{p_text}, so it is not shown to beat the baseline"


def _against_majority(
    record: dict[str, Any], metrics: dict[str, Any], results: dict[str, Any]
) -> BaselineVerdict:
    """Exact binomial test on the examples where exactly one of the model and the majority class is
    right; and, when the model answers one class for most of the test split, a sentence saying so.
    """
    from scipy import stats  # imported on use: it weighs about 45 MB in the web process

    names, majority = metrics["class_names"], metrics["majority_class"]
    true, predicted = np.asarray(results["true"], dtype=int), np.asarray(results["predicted"], dtype=int)
    right, baseline_right = predicted == true, true == names.index(majority)
    only_model, only_baseline = int((right & ~baseline_right).sum()), int((~right & baseline_right).sum())
    n = only_model + only_baseline
    p = float(stats.binomtest(only_model, n, 0.5, alternative="greater").pvalue) if n else 1.0
    verdict, ending = _outcome(p)
    items = items_word(record)
    sentence = (
        f"{record['name']} is right on {only_model:,} test {items} where always answering '{majority}' is "
        f"wrong, and wrong on {only_baseline:,} where it is right: an {EXACT} gives {ending}."
    )
    if len(predicted):
        counts = np.bincount(predicted, minlength=len(names))
        top = int(counts.argmax())
        if counts[top] >= MOSTLY_ONE_CLASS * len(predicted):
            sentence += f" It answers '{names[top]}' for {int(counts[top]):,} of {len(predicted):,} {items}."
    return BaselineVerdict(verdict, EXACT, p, n, sentence)


def naive_errors(results: dict[str, Any]) -> np.ndarray:
    """Each kept test window's mean absolute error when its last value is repeated over the horizon."""
    series, window, horizon = (
        np.asarray(results["series"], dtype=float),
        results["window"],
        results["horizon"],
    )
    kept = len(results["error"])
    last = series[window - 1 : window - 1 + kept]
    truth = np.stack([series[window + step : window + step + kept] for step in range(horizon)], axis=1)
    return np.abs(truth - last[:, None]).mean(axis=1)


def _lower(difference: np.ndarray) -> tuple[int, float]:
    """How many of the model's per-example errors are below the baseline's (``difference`` is the model's
    minus the baseline's), and the one-sided Wilcoxon signed-rank test's p-value that they are lower. Ties
    at zero are set aside first, so that few differences left get the exact test, not scipy's normal
    approximation (which it takes wherever a zero is present, and which overstates the evidence there).
    """
    from scipy import stats

    nonzero = difference[difference != 0]
    p = float(stats.wilcoxon(nonzero, alternative="less").pvalue) if nonzero.size else 1.0
    return int((difference < 0).sum()), p


def _against_naive(record: dict[str, Any], results: dict[str, Any]) -> BaselineVerdict:
    """Wilcoxon signed-rank test, one-sided, of each window's error against the naive forecast's."""
    difference = np.asarray(results["error"], dtype=float) - naive_errors(results)
    lower, p = _lower(difference)
    verdict, ending = _outcome(p, difference.mean() < 0)
    sentence = (
        f"{record['name']}'s error is lower than the naive forecast's on {lower:,} of {len(difference):,} "
        f"test windows: a {AGAINST_NAIVE} gives {ending}."
    )
    return BaselineVerdict(verdict, AGAINST_NAIVE, p, len(difference), sentence)


def _against_baseline_losses(
    record: dict[str, Any], results: dict[str, Any], told: LossBaseline
) -> BaselineVerdict:
    """Wilcoxon signed-rank test, one-sided, of each kept test example's loss against the baseline's."""
    difference = np.asarray(results["loss"], dtype=float) - np.asarray(results["baseline_loss"], dtype=float)
    lower, p = _lower(difference)
    verdict, ending = _outcome(p, difference.mean() < 0)
    sentence = (
        f"{record['name']} has a lower {told.loss} than {told.baseline} on {lower:,} of {len(difference):,} "
        f"test {told.items or items_word(record)}: a {told.test} gives {ending}."
    )
    return BaselineVerdict(verdict, told.test, p, len(difference), sentence)


def may_be_best(record: dict[str, Any], judged: BaselineVerdict) -> bool:
    """Whether a run may be called best in any column: it completed, and ``judged`` (its
    ``beats_baseline``) says it beats its baseline by the test."""
    return record.get("status") == RunStatus.COMPLETED and judged.beats
