"""The verdict engine: "beats the baseline" is a test, and "best" is only for completed runs that pass it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import assert_one_sentence, finished_run

from core.compare.pair import _run_summary
from core.compare.table import comparison_table, verdict
from core.compare.verdicts import (
    AGAINST_NAIVE,
    DIFFERENCE,
    EXACT,
    LOSS_BASELINES,
    NOT_SHOWN,
    YES,
    beats_baseline,
    naive_errors,
)
from core.errors import UserError
from core.runs.record import RunRecord, RunStatus
from core.runs.schema import check_metrics
from core.tasks.registry import TASKS

TOPICS = ["computers", "food", "sport", "travel"]


def text_run(name: str, right_where_majority_wrong: int, wrong_where_majority_right: int, **changes) -> dict:
    """A topic classifier on 181 test texts, 160 of them 'computers' (the training majority)."""
    true = np.array([0] * 160 + [1, 2, 3] * 7)
    predicted = true.copy()
    predicted[160:] = 0  # answers the majority on every other text
    predicted[160 : 160 + right_where_majority_wrong] = true[160 : 160 + right_where_majority_wrong]
    predicted[:wrong_where_majority_right] = 1
    accuracy = float((predicted == true).mean())
    metrics = {
        "accuracy": accuracy,
        "macro_f1": 0.3,
        "majority_accuracy": 160 / 181,
        "majority_macro_f1": 0.23,
        "majority_class": "computers",
        "class_names": TOPICS,
        "confusion_matrix": [[0] * 4 for _ in TOPICS],
        "top_prediction": "computers",
        "top_prediction_share": float((predicted == 0).mean()),
        "test_results": {
            "count": 181,
            "true": true.tolist(),
            "predicted": predicted.tolist(),
            "confidence": [0.5] * 181,
        },
    }
    return {**finished_run(name, name, "rotten_tomatoes", "classification", metrics), **changes}


def test_a_classifier_that_beats_the_majority_by_a_few_texts_is_not_shown_to_beat_it():
    """The case from the field: 7 texts only it gets right, 2 only the majority gets right."""
    found = beats_baseline(text_run("CNN", 7, 2))
    assert found.verdict == NOT_SHOWN and found.test == EXACT and found.n == 9
    assert found.p_value == pytest.approx(46 / 512)  # P(X >= 7) for X ~ Binomial(9, 1/2)
    assert "gives p = 0.0898, so it is not shown to beat the baseline." in found.sentence
    assert "It answers 'computers' for 172 of 181 texts." in found.sentence
    assert verdict(text_run("CNN", 7, 2)) is not None  # and the page says it learned nothing shown


def test_a_classifier_well_clear_of_the_majority_beats_it():
    found = beats_baseline(text_run("LSTM", 20, 0))
    assert found.verdict == YES and found.p_value == pytest.approx(0.5**20)
    assert found.sentence.endswith("gives p < 0.001, so it beats the baseline.")
    assert "It answers" not in found.sentence  # 161 of 181 'computers' is short of 90% of the split


def forecast_run(name: str, errors: list[float], **changes) -> dict:
    """Windows of 3 values forecasting 2 ahead on a rising series, with the model's error per window."""
    series = [float(value) for value in range(12)]
    results = {"count": len(errors), "window": 3, "horizon": 2, "error": errors, "series": series}
    metrics = {"mae": float(np.mean(errors)), "naive_mae": 1.5, "test_results": results}
    return {**finished_run(name, name, "sunspots", "forecasting", metrics), **changes}


def test_a_forecast_is_tested_against_the_naive_forecasts_errors_window_by_window():
    assert naive_errors(forecast_run("x", [0.0] * 8)["metrics"]["test_results"]).tolist() == [1.5] * 8
    better = beats_baseline(forecast_run("CNN", [0.1 * i for i in range(8)]))
    assert better.verdict == YES and better.test == AGAINST_NAIVE and better.n == 8
    level = beats_baseline(forecast_run("GRU", [1.4, 1.6] * 4))
    assert level.verdict == NOT_SHOWN and "lower than the naive forecast's on 4 of 8" in level.sentence


BENCHMARKS = {"regression": "adding", "sequence-labelling": "copy_memory", "language-model": "shakespeare"}
MAIN_METRICS = {  # a run's metrics around its main metric and baseline's (its mean loss and the baseline's)
    "regression": lambda loss, baseline: {
        "mse": loss,
        "mae": math.sqrt(loss),
        "baseline_mse": baseline,
        "predictions": {"count": 20, "train_mean": 1.0, "true": [1.2], "predicted": [1.1]},
    },
    "sequence-labelling": lambda loss, baseline: {
        "loss": loss,
        "accuracy": 0.5,
        "baseline_loss": baseline,
        "baseline_accuracy": 0.1,
        "scored_steps": [10, 20],
        "step_accuracy": [0.5] * 10,
    },
    "language-model": lambda loss, baseline: {
        "loss": loss,
        "perplexity": math.exp(loss),
        "unigram_perplexity": math.exp(baseline),
    },
}


def loss_run(task: str, losses: list[float], baseline_losses: list[float], kept: bool = True) -> dict:
    """A GRU's run of ``task`` on its benchmark whose main metric and baseline are the means of ``losses``
    and ``baseline_losses``, with them kept example by example (``kept``) or not, as before they were.
    """
    metrics = MAIN_METRICS[task](float(np.mean(losses)), float(np.mean(baseline_losses)))
    if kept:
        metrics["test_results"] = {"count": 20, "loss": losses, "baseline_loss": baseline_losses}
    model = {"name": "GRU", "layers": [{"kind": "GRU"}]}
    return finished_run("r", "GRU", BENCHMARKS[task], task, metrics, model=model)


CLEARLY_LOWER = [0.01 * i for i in range(1, 21)]  # below the baseline's 0.5 on all 20, by distinct amounts


@pytest.mark.parametrize("task", list(BENCHMARKS))
def test_a_run_clearly_below_its_baselines_loss_example_by_example_beats_it(task):
    found = beats_baseline(loss_run(task, CLEARLY_LOWER, [0.5] * 20))
    assert found.verdict == YES and found.test == LOSS_BASELINES[task].test and found.n == 20
    assert found.p_value == pytest.approx(0.5**20)  # every one of 20 differences below zero, exactly
    items = LOSS_BASELINES[task].items or "sequences"  # the benchmarks' own word
    assert found.sentence.endswith(
        f"on 20 of 20 test {items}: a {found.test} gives p < 0.001, so it beats the baseline."
    )


@pytest.mark.parametrize("task", list(BENCHMARKS))
def test_lower_on_most_examples_but_not_on_average_is_not_shown_to_beat_the_baseline(task):
    skewed = [0.49 - 0.001 * i for i in range(18)] + [3.0, 3.0]  # a little lower on 18, far higher on 2
    found = beats_baseline(loss_run(task, skewed, [0.5] * 20))
    assert found.p_value < 0.05 and found.verdict == NOT_SHOWN
    assert found.sentence.endswith(
        "but its mean error is not lower, so it is not shown to beat the baseline."
    )


def test_the_regression_sentence_says_what_was_counted_and_tested():
    found = beats_baseline(loss_run("regression", [0.4, 0.6] * 10, [0.5] * 20))
    assert found.sentence == (
        "GRU has a lower squared error than always predicting the training mean on 10 of 20 test sequences: "
        "a Wilcoxon signed-rank test against the training mean gives p = 0.5, so it is not shown to beat the "
        "baseline."
    )


@pytest.mark.parametrize("task", list(BENCHMARKS))
def test_a_run_level_with_its_baseline_is_not_shown_to_beat_it_even_a_little_below(task):
    level = beats_baseline(loss_run(task, [0.5] * 20, [0.5] * 20))
    assert level.verdict == NOT_SHOWN and level.p_value == 1.0 and level.n == 20
    assert "on 0 of 20 test" in level.sentence and level.sentence.endswith("not shown to beat the baseline.")
    record = loss_run(task, [0.49, 0.48, 0.47, 0.46] + [0.5] * 16, [0.5] * 20)  # lower on four, level on 16
    assert TASKS[task].beats(record["metrics"])  # the difference of the main metric would say "yes"
    few = beats_baseline(record)  # exactly: all four below with probability 1/16 if neither is better
    assert few.verdict == NOT_SHOWN and few.p_value == pytest.approx(1 / 16)  # (approximated: 0.034)
    assert "on 4 of 20 test" in few.sentence


@pytest.mark.parametrize("task", list(BENCHMARKS))
def test_an_old_run_without_per_example_results_is_judged_by_the_difference_and_says_so(task):
    found = beats_baseline(loss_run(task, CLEARLY_LOWER, [0.5] * 20, kept=False))
    assert found.verdict == YES and found.test == DIFFERENCE and found.p_value is None
    assert found.sentence.endswith("(not tested).")


@pytest.mark.parametrize(
    ("damage", "phrase"),
    [
        ({"baseline_loss": [0.5] * 19}, "metrics.test_results must be two lists of the same length"),
        ({"loss": CLEARLY_LOWER * 2, "baseline_loss": [0.5] * 40}, "metrics.test_results must be two lists"),
        ({"loss": [-0.1] * 20}, r"metrics.test_results.loss\[0\] must be a finite number from 0 up"),
        ({"baseline_loss": ["0.5"] * 20}, r"metrics.test_results.baseline_loss\[0\] must be a finite number"),
        ({"loss": [0.1] * 15_001}, "metrics.test_results.loss must be a list of at most 15,000 items"),
        ({"count": -1}, "metrics.test_results.count must be a whole number"),
    ],
)
@pytest.mark.parametrize("task", list(BENCHMARKS))
def test_a_record_from_outside_with_damaged_per_example_losses_is_refused_in_one_sentence(
    task, damage, phrase
):
    plain = RunRecord.from_row(loss_run(task, CLEARLY_LOWER, [0.5] * 20)).to_dict()
    assert RunRecord.from_outside(plain).metrics["test_results"]["loss"] == CLEARLY_LOWER
    plain["metrics"]["test_results"] |= damage
    with pytest.raises(UserError, match=f"^Run 1: {phrase}") as refused:
        RunRecord.from_outside(plain, "Run 1")
    assert_one_sentence(str(refused.value))


def test_each_examples_losses_are_kept_within_the_budget_on_one_scale():
    from core.training.evaluation import _loss_results

    kept = _loss_results(np.full(20_000, 0.5), np.ones(20_000))
    assert kept["count"] == 20_000 and len(kept["loss"]) == len(kept["baseline_loss"]) == 15_000
    rounded = _loss_results(np.array([0.123456]), np.array([10.0]))  # 5 digits of the larger, for both
    assert rounded["loss"] == [0.123] and rounded["baseline_loss"] == [10.0]


def test_the_labelling_baseline_guesses_each_step_from_its_own_label_frequencies():
    from core.training.evaluation import step_frequency_losses

    labels = np.array([[0, 1], [0, 0], [1, 1], [0, 1]])  # each step has its label three times in four
    sure, unsure = -math.log(0.75), -(math.log(0.75) + math.log(0.25)) / 2
    guessed = step_frequency_losses(labels, 2)  # each sequence's mean loss over its two steps
    assert guessed.tolist() == pytest.approx([sure, unsure, unsure, sure])


TRAINED = [
    pytest.param("adding", {"length": 20, "samples": 400}, ("mse", "baseline_mse"), id="regression"),
    pytest.param(
        "copy_memory",
        {"length": 10, "samples": 200},
        ("loss", "baseline_loss"),
        id="sequence-labelling",
        marks=pytest.mark.slow,
    ),
]


@pytest.mark.parametrize(("dataset_id", "settings", "means"), TRAINED)
def test_a_trained_run_keeps_each_test_examples_loss_and_is_judged_on_them(dataset_id, settings, means):
    from core.datasets import load_dataset
    from core.model.presets import presets_for
    from core.training.job import TrainingJob

    dataset = load_dataset(dataset_id, settings)
    spec = presets_for(dataset.signature)["GRU"]
    record = TrainingJob(dataset, spec, {"epochs": 1, "batch_size": 32}).run()
    metrics, results = record["metrics"], record["metrics"]["test_results"]
    check_metrics(record["task"], metrics)
    assert results["count"] == len(results["loss"]) == len(results["baseline_loss"]) == len(dataset.test)
    assert np.mean(results["loss"]) == pytest.approx(metrics[means[0]], rel=1e-3)
    assert np.mean(results["baseline_loss"]) == pytest.approx(metrics[means[1]], rel=1e-3)
    found = beats_baseline(record)
    assert found.test == LOSS_BASELINES[record["task"]].test and found.n == len(dataset.test)
    assert found.verdict == (YES if found.p_value < 0.05 else NOT_SHOWN)


def test_best_is_for_completed_runs_that_pass_the_test_in_every_column():
    strong = text_run("LSTM", 20, 0, params=900, train_seconds=9.0)
    stopped = text_run("Stopped", 21, 0, status=RunStatus.STOPPED, params=10, train_seconds=1.0)
    weak = text_run("CNN", 7, 2, params=50, train_seconds=2.0)
    table, best = comparison_table([strong, stopped, weak])
    assert list(table["Beats baseline"]) == [YES, YES, NOT_SHOWN]
    assert best["Accuracy"] == [True, False, False]  # the stopped run scores higher, but is never best
    assert best["Parameters"] == best["Training s"] == [True, False, False]  # fewer, but not eligible


def test_the_command_lines_json_carries_each_runs_baseline_verdict():
    summary = _run_summary(text_run("CNN", 7, 2))
    assert summary["beats_baseline"]["verdict"] == NOT_SHOWN
    assert summary["beats_baseline"]["p_value"] == pytest.approx(46 / 512)
