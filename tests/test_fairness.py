"""Fair comparisons: seed groups with mean and band, significance tests that mark "better" only when
p < 0.05, where two runs disagree example by example, and ``python -m core compare``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from helpers import cli_with_store, finished_run, small
from scipy import stats

from core.compare.disagreement import check_pair, disagreement
from core.compare.seed_groups import group_curves, group_table, seed_groups, seeds_from_text, summarize
from core.compare.significance import compare_runs, pair_verdict, welch_test
from core.datasets import load_dataset
from core.errors import UserError
from core.runs.queue import one_per_seed
from core.runs.schema import check_metrics
from core.runs.store import RunStore

CLASSES = ["zero", "one", "two"]


def record(run_id: str, name: str, metrics: dict, task: str = "classification", **train) -> dict:
    """A finished run of ``name`` on digits_8x8 (or sunspots for forecasting) with these metrics."""
    dataset = "digits_8x8" if task == "classification" else "sunspots"
    model, train = {"name": name, "layers": []}, {"epochs": 5, "seed": 42, **train}
    return finished_run(run_id, name, dataset, task, metrics, model=model, train=train, history=[])


def classified(
    run_id: str, name: str, true: list, predicted: list, confidence: list | None = None, classes=CLASSES
) -> dict:
    """A classification run whose per-example test results are these."""
    confidence = confidence or [0.9] * len(true)
    accuracy = float(np.mean(np.array(true) == np.array(predicted)))
    results = {"count": len(true), "true": true, "predicted": predicted, "confidence": confidence}
    matrix = np.zeros((len(classes), len(classes)), dtype=int)
    np.add.at(matrix, (true, predicted), 1)
    metrics = {
        "accuracy": accuracy,
        "class_names": classes,
        "confusion_matrix": matrix.tolist(),
        "test_results": results,
    }
    return record(run_id, name, metrics)


def forecast(run_id: str, name: str, errors: list[float], predicted: list[list[float]] | None = None) -> dict:
    """A forecasting run (window 2, horizon 1) with these per-window absolute errors."""
    count = len(errors)
    series = [float(i) for i in range(count + 2)]
    predicted = predicted or [[series[i + 2] + e] for i, e in enumerate(errors)]
    metrics = {
        "mae": float(np.mean(errors)),
        "naive_mae": 1.0,
        "forecast": {"time": [], "truth": [], "predicted": [], "naive": [], "target": "x"},
        "test_results": {
            "count": count,
            "window": 2,
            "horizon": 1,
            "error": errors,
            "predicted": predicted,
            "series": series,
        },
    }
    return record(run_id, name, metrics, task="forecasting")


def accuracy_runs(name: str, accuracies: list[float], **train) -> list[dict]:
    return [
        record(f"{name}-{i}", name, {"accuracy": a}, seed=i, **train)
        for i, a in enumerate(accuracies, start=1)
    ]


# ---- significance ------------------------------------------------------------------------------


def test_identical_predictions_are_not_marked():
    true = [0, 1, 2] * 30
    predicted = [0, 1, 1] * 30
    result = compare_runs(classified("a", "CNN", true, predicted), classified("b", "LSTM", true, predicted))
    assert result.test == "McNemar's exact test"
    assert result.p_value == 1.0 and result.better is None and result.mark is None
    assert "neither is better" in result.sentence


def test_clearly_different_predictions_are_marked_with_mcnemar():
    true = [0, 1, 2] * 30
    worse = [(label + 1) % 3 if i % 3 == 0 else label for i, label in enumerate(true)]  # 30 wrong
    result = compare_runs(classified("a", "CNN", true, true), classified("b", "LSTM", true, worse))
    assert result.p_value < 0.05 and result.p_value == pytest.approx(stats.binomtest(30, 30).pvalue)
    assert result.better == "a" and result.mark == "CNN is better than LSTM"
    assert "disagree on 30 test images" in result.sentence and "less than 0.001" in result.sentence
    assert result.sentence.endswith("so CNN is better.")


def test_a_small_difference_is_told_but_not_marked():
    true = [0] * 20
    result = compare_runs(
        classified("a", "CNN", true, [0] * 20), classified("b", "GRU", true, [0] * 18 + [1] * 2)
    )
    assert result.p_value == pytest.approx(0.5) and result.better is None and result.mark is None
    assert "probability 0.5, which is not rare enough" in result.sentence


def test_welch_marks_only_clearly_different_groups():
    good, poor = accuracy_runs("CNN", [0.90, 0.91, 0.92]), accuracy_runs("LSTM", [0.70, 0.72, 0.71])
    result = pair_verdict(good, poor)
    assert result.test == "Welch's t-test" and result.p_value < 0.05
    expected = stats.ttest_ind([0.90, 0.91, 0.92], [0.70, 0.72, 0.71], equal_var=False).pvalue
    assert result.p_value == pytest.approx(expected)
    assert result.mark == "CNN is better than LSTM" and "averages 0.91 over 3 seeds" in result.sentence
    same = pair_verdict(accuracy_runs("CNN", [0.8, 0.81, 0.82]), accuracy_runs("GRU", [0.8, 0.81, 0.82]))
    assert same.p_value == 1.0 and same.mark is None


def test_welch_needs_two_seeds_and_lower_error_is_better():
    with pytest.raises(UserError, match="at least two seeds"):
        welch_test([0.9, 0.91], [0.7], ("CNN", "LSTM"), "accuracy", True)
    low = [forecast(f"g{i}", "GRU", [0.1 + i / 100] * 4) for i in range(3)]
    high = [forecast(f"c{i}", "CNN", [0.5 + i / 100] * 4) for i in range(3)]
    assert pair_verdict(low, high).mark == "GRU is better than CNN"


def test_paired_errors_of_two_forecasts():
    errors = [0.5, 0.2, 0.9, 0.4, 0.3] * 4
    same = compare_runs(forecast("a", "GRU", errors), forecast("b", "CNN", errors))
    assert same.test == "Wilcoxon signed-rank test" and same.p_value == 1.0 and same.mark is None
    better = compare_runs(forecast("a", "GRU", [e / 2 for e in errors]), forecast("b", "CNN", errors))
    assert better.p_value < 0.05 and better.mark == "GRU is better than CNN"
    assert "GRU's absolute error is lower on 20 and CNN's on 0 of 20 test windows" in better.sentence


def test_runs_that_cannot_be_compared_are_refused_in_a_sentence():
    true = [0, 1, 2] * 5
    old = classified("b", "LSTM", true, true)
    del old["metrics"]["test_results"]
    with pytest.raises(UserError, match="no per-example test results"):
        compare_runs(classified("a", "CNN", true, true), old)
    other = classified("c", "GRU", true, true)
    other["config"]["dataset"]["settings"] = {"seed": 3}
    with pytest.raises(UserError, match="only runs on the same data and split"):
        check_pair(classified("a", "CNN", true, true), other)
    shorter = classified("d", "GRU", true[:-3], true[:-3])
    with pytest.raises(UserError, match="tested on different examples"):
        check_pair(classified("a", "CNN", true, true), shorter)


# ---- where two runs disagree -------------------------------------------------------------------


def test_the_disagreement_table_sums_to_the_test_size_and_examples_sit_in_their_cells():
    rng = np.random.default_rng(0)
    true = rng.integers(0, 3, 200).tolist()
    a_pred = [t if rng.random() < 0.8 else (t + 1) % 3 for t in true]
    b_pred = [t if rng.random() < 0.6 else (t + 2) % 3 for t in true]
    a_sure, b_sure = rng.random(200).round(3).tolist(), rng.random(200).round(3).tolist()
    found = disagreement(
        classified("a", "CNN", true, a_pred, a_sure), classified("b", "RNN", true, b_pred, b_sure)
    )
    counts = found.counts
    assert sum(counts.values()) == 200 == found.table().to_numpy().sum()
    right_a, right_b = np.array(a_pred) == true, np.array(b_pred) == true
    assert counts["only_a_right"] == int((right_a & ~right_b).sum())
    assert found.table().loc["CNN right", "RNN wrong"] == counts["only_a_right"]
    assert found.coverage() == "all 200 test images"
    examples = found.examples(per_cell=5)
    rules = {"both_right": (True, True), "only_a_right": (True, False), "only_b_right": (False, True)}
    rules["both_wrong"] = (False, False)
    for cell, (a_right, b_right) in rules.items():
        assert 0 < len(examples[cell]) <= 5
        for example in examples[cell]:
            assert (example["a_predicted"] == example["true"]) == a_right
            assert (example["b_predicted"] == example["true"]) == b_right
    wrong_b = [example["b_confidence"] for example in examples["only_a_right"]]
    assert wrong_b == sorted(wrong_b, reverse=True)
    assert wrong_b[0] == max(b_sure[i] for i in np.flatnonzero(right_a & ~right_b))


def test_examples_carry_the_pixels_of_a_loaded_dataset():
    dataset = small("digits_8x8", 96)
    true = dataset.test.y.tolist()
    wrong = [(label + 1) % 10 for label in true]
    digits = [str(i) for i in range(10)]
    a, b = (
        classified("a", "CNN", true, true, classes=digits),
        classified("b", "RNN", true, wrong, classes=digits),
    )
    [example, *_] = disagreement(a, b).examples(dataset=dataset)["only_a_right"]
    assert np.array(example["image"]).shape == (8, 8, 1)
    assert example["image"] == np.round(dataset.test.x[example["index"]] * 255).astype(int).tolist()


def test_forecast_windows_where_one_model_is_much_worse():
    errors_a, errors_b = [0.1, 3.0, 0.2, 0.1], [0.2, 0.1, 1.0, 0.1]
    found = disagreement(forecast("a", "GRU", errors_a), forecast("b", "CNN", errors_b))
    assert found.counts == {"a_lower_error": 2, "b_lower_error": 1, "equal_error": 1}
    assert found.worst_windows("a") == [1] and found.worst_windows("b") == [2, 0]
    frame = found.window_frame(1)
    truth = frame[frame["line"] == "truth"]
    assert truth["step"].tolist() == [-2, -1, 0] and truth["value"].tolist() == [1.0, 2.0, 3.0]
    assert frame[frame["line"] == "GRU"]["value"].tolist() == [6.0]  # truth 3 + error 3
    assert frame[frame["line"] == "naive (last value)"]["value"].tolist() == [2.0]


# ---- seed groups ---------------------------------------------------------------------------------


def test_runs_differing_only_in_seed_form_one_group():
    runs = [*accuracy_runs("CNN", [0.8, 0.9, 1.0]), *accuracy_runs("CNN", [0.5], epochs=9)]
    runs.append(record("x", "CNN", {"accuracy": 0.7}, seed=1) | {"dataset": "mnist_5k"})
    runs[-1]["config"]["dataset"] = {"id": "mnist_5k", "settings": {}}
    groups = seed_groups(runs)
    assert [len(group.runs) for group in groups] == [3, 1, 1]
    assert groups[0].label == "CNN · seeds 1, 2, 3" and groups[0].seeds == [1, 2, 3]
    assert [group.label for group in groups[1:]] == ["CNN · seed 1 · CNN-1", "CNN · seed 1 · x"]
    table = group_table(groups)
    assert table.loc[0, "Accuracy"] == "0.900 ± 0.100 (95% interval 0.652 to 1.148, 3 runs)"
    assert table.loc[1, "Accuracy"] == "0.500 (1 run)"


def test_a_group_metric_has_mean_sd_and_a_t_interval():
    summary = summarize([0.8, 0.9, 1.0])
    half = stats.t.ppf(0.975, 2) * 0.1 / math.sqrt(3)
    assert (summary.n, summary.mean, summary.sd) == (3, pytest.approx(0.9), pytest.approx(0.1))
    assert (summary.low, summary.high) == (pytest.approx(0.9 - half), pytest.approx(0.9 + half))
    assert math.isnan(summarize([0.5]).sd)


def test_group_curves_give_mean_and_bands_per_epoch():
    runs = accuracy_runs("CNN", [0.8, 0.9, 1.0])
    for run, losses in zip(runs, ([1.0, 0.5], [2.0, 0.7], [3.0]), strict=True):  # the last stopped early
        run["history"] = [
            {
                "epoch": e,
                "loss": v,
                "val_loss": v + 1,
                "seconds": 1.0,
                "wall_seconds": e,
                "samples_per_second": 1.0,
            }
            for e, v in enumerate(losses, start=1)
        ]
    curves = group_curves(seed_groups(runs), "loss").set_index(["epoch", "split"])
    first = curves.loc[(1, "train")]
    assert (first["runs"], first["mean"], first["sd"], first["min"], first["max"]) == (3, 2.0, 1.0, 1.0, 3.0)
    assert (first["low"], first["high"]) == (1.0, 3.0)
    second = curves.loc[(2, "validation")]
    assert (
        second["runs"] == 2 and second["mean"] == pytest.approx(1.6) and second["max"] == pytest.approx(1.7)
    )


def test_seeds_are_read_checked_and_queued_one_run_each():
    assert seeds_from_text("1, 2,3") == [1, 2, 3]
    for bad in ("1,1", "1,x", "-1", ""):
        with pytest.raises(UserError, match="Seeds must be"):
            seeds_from_text(bad)
    with pytest.raises(UserError, match="at most 20"):
        seeds_from_text(",".join(str(i) for i in range(21)))
    queued = record("q", "CNN", {}) | {"status": "queued"}
    copies = one_per_seed(queued, [7, 8])
    assert [c["config"]["train"]["seed"] for c in copies] == [7, 8] and queued["config"]["train"][
        "seed"
    ] == 42
    assert len({c["id"] for c in copies}) == 2 and len(seed_groups(copies)) == 1


# ---- per-example results in the record -----------------------------------------------------------


def test_classification_records_keep_each_test_example_compactly():
    from core.model.presets import presets_for
    from core.training.job import TrainingJob

    dataset = small("digits_8x8", 128)
    run = TrainingJob(dataset, presets_for(dataset.signature)["CNN"], {"epochs": 1}).run()
    metrics = run["metrics"]
    results = metrics["test_results"]
    check_metrics("classification", metrics)
    assert results["count"] == len(results["predicted"]) == len(dataset.test)
    assert results["true"] == dataset.test.y.tolist()
    matrix = np.zeros((10, 10), dtype=int)
    np.add.at(matrix, (results["true"], results["predicted"]), 1)
    assert matrix.tolist() == metrics["confusion_matrix"]
    assert all(0 < c <= 1 and round(c, 3) == c for c in results["confidence"])


def test_forecasting_records_keep_each_window_and_the_values_they_span():
    from core.model.presets import presets_for
    from core.training.job import TrainingJob

    dataset = load_dataset("sunspots", {"window": 12, "horizon": 3}).head(96)
    run = TrainingJob(dataset, presets_for(dataset.signature)["CNN"], {"epochs": 1}).run()
    metrics = run["metrics"]
    results = metrics["test_results"]
    check_metrics("forecasting", metrics)
    count, series = len(dataset.test), np.array(results["series"])
    assert results["count"] == count == len(results["error"]) and (results["window"], results["horizon"]) == (
        12,
        3,
    )
    assert len(series) == count + 12 + 3 - 1
    assert series[12 : 12 + count] == pytest.approx(metrics["forecast"]["truth"], abs=0.01)
    assert series[11 : 11 + count] == pytest.approx(metrics["forecast"]["naive"], abs=0.01)
    truth = np.array([series[i + 12 : i + 15] for i in range(count)])
    errors = np.abs(np.array(results["predicted"]) - truth).mean(axis=1)
    assert np.array(results["error"]) == pytest.approx(errors, abs=0.02)
    assert np.mean(results["error"]) == pytest.approx(metrics["mae"], abs=0.01)


def test_the_schema_refuses_per_example_results_that_do_not_fit():
    good = classified("a", "CNN", [0, 1, 2], [0, 1, 1])["metrics"]
    check_metrics("classification", good)
    for change, field in (
        ({"predicted": [0, 1]}, "true, predicted, confidence"),
        ({"true": [0, 1, 5]}, "below 3"),
    ):
        broken = {**good, "test_results": {**good["test_results"], **change}}
        with pytest.raises(UserError, match=field):
            check_metrics("classification", broken)
    windows = forecast("f", "GRU", [0.1, 0.2])["metrics"]
    check_metrics("forecasting", windows)
    short = {**windows, "test_results": {**windows["test_results"], "series": [1.0]}}
    with pytest.raises(UserError, match=r"test_results\.series"):
        check_metrics("forecasting", short)


# ---- the command line ----------------------------------------------------------------------------


@pytest.mark.slow
def test_train_with_seeds_and_compare_from_the_command_line(tmp_path):
    options = ["--model", "CNN", "--epochs", "1", "--limit", "200", "--seeds", "1,2"]
    trained = cli_with_store(tmp_path, "train", "--dataset", "digits_8x8", *options)
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert "CNN over 2 completed of 2 seeds:" in trained.stdout and " ± " in trained.stdout
    store = RunStore(tmp_path / "runs.db")
    first, second = store.runs()
    assert [first["config"]["train"]["seed"], second["config"]["train"]["seed"]] == [1, 2]

    text = cli_with_store(tmp_path, "compare", first["id"][:7], second["id"])
    assert text.returncode == 0, text.stderr[-2000:]
    labels = f"CNN · {first['id'][:6]} against CNN · {second['id'][:6]}"  # one model: run against run
    assert f"Verdict on {labels}" in text.stdout and "right" in text.stdout
    assert "McNemar's exact test: p_value" in text.stdout

    result = cli_with_store(tmp_path, "compare", first["id"], second["id"], "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert [run["id"] for run in report["runs"]] == [first["id"], second["id"]]
    assert {"id", "model", "params", "metrics"} <= set(report["runs"][0])
    assert report["runs"][0]["metrics"]["accuracy"] == first["metrics"]["accuracy"]
    assert sum(report["table"].values()) == first["metrics"]["test_results"]["count"] == 50
    verdict = report["verdict"]
    assert verdict["test"] == "McNemar's exact test" and 0 <= verdict["p_value"] <= 1
    assert verdict["compared"] is None and verdict["better"] in ("A", "B", None)
    assert set(report["examples"]) == {"both_right", "only_a_right", "only_b_right", "both_wrong"}

    other = record("othersplit1", "GRU", first["metrics"])
    other["config"]["dataset"]["settings"] = {"seed": 9}
    store.save_record(other, "cli")
    refused = cli_with_store(tmp_path, "compare", first["id"], "othersplit")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "only runs on the same data and split" in refused.stderr
    missing = cli_with_store(tmp_path, "compare", first["id"], "nosuchrun")
    assert missing.returncode == 2 and "No run in" in missing.stderr
