"""The verdict engine: "beats the baseline" is a test, and "best" is only for completed runs that pass it."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import finished_run

from core.compare.pair import _run_summary
from core.compare.table import comparison_table, verdict
from core.compare.verdicts import (
    AGAINST_NAIVE,
    DIFFERENCE,
    EXACT,
    NOT_SHOWN,
    YES,
    beats_baseline,
    naive_errors,
)
from core.runs.record import RunStatus

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


def test_a_task_without_per_example_results_is_judged_by_the_difference_and_says_so():
    record = finished_run("r", "GRU", "adding", "regression", {"mse": 0.01, "mae": 0.1, "baseline_mse": 0.17})
    found = beats_baseline(record)
    assert found.verdict == YES and found.test == DIFFERENCE and found.p_value is None
    assert found.sentence.endswith("(not tested).")


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
