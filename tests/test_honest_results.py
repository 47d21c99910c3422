"""Honest results: baselines beside every metric, a sentence when a model learned nothing, "best"
only among models that beat their baseline, and runs of different data never in one table."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import finished_run, shown
from streamlit.testing.v1 import AppTest
from test_app import APP, wait_for_runs

from core.compare.table import comparable_groups, comparison_table, verdict
from core.compare.verdicts import beats_baseline
from core.runs.record import group_label
from core.runs.store import RunStore
from core.training.evaluation import _class_baselines, _unigram_perplexity


def run(
    name: str, accuracy: float, dataset: str = "rotten_tomatoes", settings: dict | None = None, **extra
) -> dict:
    """A finished classification run with the metrics Compare reads."""
    metrics = {
        "accuracy": accuracy,
        "macro_f1": accuracy / 2,
        "majority_class": "rotten",
        "majority_accuracy": 0.6,
        "majority_macro_f1": 0.375,
        "chance_accuracy": 0.5,
        "chance_macro_f1": 0.49,
        "top_prediction": "rotten",
        "top_prediction_share": 1.0 if accuracy == 0.6 else 0.5,
        "class_names": ["fresh", "rotten"],
        "confusion_matrix": [[1, 1], [1, 1]],
        **extra,
    }
    run_id = f"{name}-{dataset}-{accuracy}"
    return finished_run(run_id, name, dataset, "classification", metrics, settings=settings)


def test_the_class_baselines_are_what_answering_without_looking_scores():
    baselines = _class_baselines(np.array([0, 0, 0, 1]), np.array([0, 0, 1, 1]), 2, ["a", "b"])
    assert baselines["majority_class"] == "a"
    assert baselines["majority_accuracy"] == 0.5 and baselines["chance_accuracy"] == 0.5
    assert baselines["majority_macro_f1"] == pytest.approx((2 * 0.5 / 1.5) / 2)
    assert baselines["chance_macro_f1"] == pytest.approx(0.5)


def test_the_unigram_perplexity_is_the_frequency_guess():
    assert _unigram_perplexity(np.array([1, 1, 1]), np.array([1, 1]), 3) == pytest.approx(6 / 4)
    assert math.isnan(_unigram_perplexity(np.array([1]), np.array([], dtype=int), 3))


def test_a_model_that_always_answers_the_commonest_class_is_told_so():
    lazy = run("GRU", 0.6)
    assert beats_baseline(lazy).verdict == "not shown"
    assert verdict(lazy) == (
        "GRU predicts 'rotten' for 100% of the test texts: no better than always answering the commonest "
        "class (0.600); try more epochs, a smaller vocabulary, or class weights."
    )
    assert verdict(run("CNN", 0.75)) is None


def test_a_forecast_no_better_than_the_last_value_is_told_so():
    record = {
        **run("LSTM", 0.0, "sunspots"),
        "task": "forecasting",
        "metrics": {"mae": 25.0, "naive_mae": 22.3},
    }
    assert "no better than repeating the last value (22.3)" in verdict(record)


def test_best_is_marked_only_among_models_that_beat_their_baseline():
    table, best = comparison_table([run("CNN", 0.6), run("GRU", 0.55)])
    assert not any(best["Accuracy"]) and not any(best["Macro F1"])  # nobody beat the majority class
    assert "Majority acc." not in best and "Chance acc." not in best  # baselines are never "best"
    assert not any(best["Parameters"])  # equal everywhere: nothing to mark
    assert list(table["Beats baseline"]) == ["not shown", "not shown"]
    _, best = comparison_table([run("CNN", 0.75), run("GRU", 0.55), run("LSTM", 0.7)])
    assert best["Accuracy"] == [True, False, False]


def test_runs_of_different_data_never_share_a_group():
    records = [
        run("CNN", 0.7),
        run("CNN", 0.7, "digits_8x8"),
        run("GRU", 0.7, settings={"tokens": "word", "vocab_size": 5000, "sequence_length": 40, "seed": 0}),
        run("LSTM", 0.7, settings={"sequence_length": 20}),
    ]
    records[1]["created"] = 5.0
    groups = list(comparable_groups(records).values())
    assert [[record["name"] for record in group] for group in groups] == [["CNN"], ["CNN", "GRU"], ["LSTM"]]
    assert group_label(records[3]) == "Movie review snippets · sequence_length=20"


def test_compare_shows_one_dataset_at_a_time_with_the_flag(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNS_DB", str(tmp_path / "runs.db"))
    store = RunStore()
    for record in (run("GRU", 0.6), run("CNN", 0.75, "digits_8x8")):
        store.save_record(record, "mine")
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.query_params["workspace"] = "mine"
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception
    assert list(at.dataframe[0].value["Model"]) == ["CNN"]  # the current dataset's group first
    at.selectbox(key="compare:group").select_index(1).run()
    assert list(at.dataframe[0].value["Model"]) == ["GRU"]
    assert any("no better than always answering the commonest class" in shown(w.value) for w in at.warning)
    infos = [info.value for info in at.info]
    assert any(info.startswith("Choose two or more completed runs above") for info in infos)  # one run
    assert any(info.startswith("None of these runs has gradients through time") for info in infos)


@pytest.mark.slow
def test_an_upload_with_a_dominant_class_and_too_little_training_is_flagged_not_crowned():
    """Quotes in four topics, one topic most of them; one epoch at a crawling learning rate."""
    topics = ["computers"] * 70 + ["sport"] * 10 + ["food"] * 10 + ["travel"] * 10
    rows = "\n".join(f"a quote about {topic} number {i},{topic}" for i, topic in enumerate(topics))
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("app_pages/data.py").run()
    at.radio(key="data:modality").set_value("text").run()
    at.radio(key="data:origin").set_value("upload").run()
    at.file_uploader(key="data:file:text").set_value(
        ("quotes.csv", f"text,topic\n{rows}\n".encode(), "text/csv")
    ).run()
    next(button for button in at.button if button.label == "Use this upload").click().run()
    assert at.session_state["choice"]["id"] == "upload:quotes.csv"
    at.switch_page("app_pages/train.py").run()
    prefix = "train:upload:quotes.csv"
    at.number_input(key=f"{prefix}:epochs").set_value(1).run()
    at.number_input(key=f"{prefix}:learning_rate").set_value(1e-6).run()
    next(button for button in at.button if button.label == "Train").click().run()
    assert all(run["status"] == "completed" for run in wait_for_runs(at))
    at.run()
    flags = [shown(warning.value) for warning in at.warning if "no better than" in shown(warning.value)]
    assert len(flags) == 2 and all("always answering the commonest class" in flag for flag in flags)
    at.switch_page("app_pages/compare.py").run()
    table = at.dataframe[0].value
    assert list(table["Beats baseline"]) == ["not shown", "not shown"]
    _, best = comparison_table(RunStore().runs(ids=at.session_state["runs"]))
    assert not any(best["Accuracy"]) and not any(best["Macro F1"])  # nothing crowned green


def test_a_run_with_too_many_classes_for_a_matrix_lists_its_most_confused_pairs(tmp_path, monkeypatch):
    """A drawn matrix of an upload's 1,000 classes would be a million cells: beyond 50, a short table."""
    monkeypatch.setenv("RUNS_DB", str(tmp_path / "runs.db"))
    names = [f"topic {i}" for i in range(60)]
    matrix = np.eye(60, dtype=int) * 3
    matrix[4, 7], matrix[9, 2] = 5, 2
    many = run("GRU", 0.7, class_names=names, confusion_matrix=matrix.tolist())
    for record in (many, run("CNN", 0.8)):  # the CNN has two classes: its matrix is drawn
        RunStore().save_record(record, "mine")
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.query_params["workspace"] = "mine"
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("60 classes are too many to draw as a matrix; the 2 pairs" in c.value for c in at.caption)
    pairs = at.dataframe[-1].value
    assert pairs.to_dict("records")[0] == {"True": "topic 4", "Predicted": "topic 7", "Test samples": 5}
    assert len(pairs) == 2
    matrices = [chart for chart in at.get("vega_lite_chart") if "Confusion matrix" in chart.proto.spec]
    assert len(matrices) == 1
