"""The sequence lab: the tasks registry driving head, loss, metrics, sentences and panels; the regression
and sequence-labelling tasks; the four sequence benchmarks generated from a seed with their baselines;
their presets trained on short versions; and their panels on Compare.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from helpers import finished_run, script_result, shown
from streamlit.testing.v1 import AppTest
from test_app import APP

from core.compare.table import baseline_sentence, comparison_table, verdict
from core.datasets import DATASETS, load_dataset
from core.errors import UserError
from core.model.presets import BENCHMARK_PARAMS, presets_for, tcn_dilations
from core.model.receptive_field import receptive_field
from core.model.spec import ModelSpec
from core.model.trace import trace_model
from core.runs.schema import METRICS, check_metrics
from core.runs.store import RunStore
from core.shapes import SEQUENCE, TOKENS, Shape, Signature
from core.tasks.registry import REGRESSION, TASKS

BENCHMARKS = ["adding", "copy_memory", "seq_mnist", "perm_mnist"]
SHORT = {  # short versions that train in seconds
    "adding": {"length": 20, "samples": 400},
    "copy_memory": {"length": 10, "samples": 400},
    "seq_mnist": {},
    "perm_mnist": {},
}
SIGNATURES = {
    "classification": Signature(Shape(SEQUENCE, (12, 1)), "classification", 10),
    "forecasting": Signature(Shape(SEQUENCE, (12, 2)), "forecasting", 3),
    "language-model": Signature(Shape(TOKENS, (12,)), "language-model", 30, 30),
    "regression": Signature(Shape(SEQUENCE, (12, 2)), "regression", 1),
    "sequence-labelling": Signature(Shape(TOKENS, (12,)), "sequence-labelling", 10, 10),
}


def short(dataset_id: str):
    dataset = load_dataset(dataset_id, SHORT[dataset_id])
    return dataset.head(64) if dataset_id.endswith("mnist") else dataset


# ---- the four datasets, generated from a seed -----------------------------------------------------


@pytest.mark.parametrize("dataset_id", BENCHMARKS)
def test_each_benchmark_generates_the_same_data_from_the_same_seed(no_network, dataset_id):
    settings = SHORT[dataset_id]
    first, again = (
        load_dataset(dataset_id, {**settings, "seed": 3}),
        load_dataset(dataset_id, {**settings, "seed": 3}),
    )
    other = load_dataset(dataset_id, {**settings, "seed": 4})
    assert DATASETS[dataset_id].origin == "built-in" and DATASETS[dataset_id].modality == "sequences"
    for split in ("train", "validation", "test"):
        assert np.array_equal(getattr(first, split).x, getattr(again, split).x)
        assert np.array_equal(getattr(first, split).y, getattr(again, split).y)
        assert getattr(first, split).x.shape[1:] == first.signature.input.dims
    assert not np.array_equal(first.test.x, other.test.x)


def test_adding_marks_one_step_in_each_half_and_sums_them():
    dataset = load_dataset("adding", {"length": 11, "samples": 500})
    x, y = dataset.train.x, dataset.train.y
    values, markers = x[..., 0], x[..., 1]
    assert dataset.signature == Signature(Shape(SEQUENCE, (11, 2)), "regression", 1)
    assert (values >= 0).all() and (values <= 1).all()
    assert (markers[:, :5].sum(axis=1) == 1).all() and (markers[:, 5:].sum(axis=1) == 1).all()
    assert y[:, 0] == pytest.approx((values * markers).sum(axis=1), abs=1e-6)


def test_predicting_the_mean_of_the_adding_problem_scores_about_a_sixth():
    from core.training.evaluation import PREDICTION_POINTS, regression

    dataset = load_dataset("adding", {"length": 10, "samples": 50_000})
    constant = np.full((len(dataset.test), 1), dataset.train.y.mean())
    metrics = regression(None, dataset, constant)
    assert metrics["baseline_mse"] == pytest.approx(1 / 6, abs=0.01)
    assert metrics["mse"] == pytest.approx(metrics["baseline_mse"])
    exact = regression(None, dataset, dataset.test.y)
    assert exact["mse"] == 0 and exact["mae"] == 0
    assert exact["predictions"]["count"] == len(dataset.test) > PREDICTION_POINTS
    assert exact["predictions"]["true"] == exact["predictions"]["predicted"]
    assert len(exact["predictions"]["true"]) == PREDICTION_POINTS


def test_copy_memory_repeats_ten_symbols_after_the_delimiter():
    dataset = load_dataset("copy_memory", {"length": 15, "samples": 200})
    x, y = dataset.train.x, dataset.train.y
    assert dataset.signature == Signature(Shape(TOKENS, (35,)), "sequence-labelling", 10, 10)
    assert ((x[:, :10] >= 1) & (x[:, :10] <= 8)).all() and (x[:, 10:24] == 0).all()
    assert (x[:, 24] == 9).all() and (x[:, 25:] == 0).all()
    assert (y[:, :25] == 0).all() and np.array_equal(y[:, 25:], x[:, :10])
    assert dataset.scored_steps == (25, 35)


def test_the_copy_memory_baseline_is_ten_ln_eight_over_t_plus_twenty():
    from core.training.evaluation import sequence_labelling

    length = 40
    dataset = load_dataset("copy_memory", {"length": length, "samples": 20_000})
    steps = length + 20
    memoryless = np.zeros((len(dataset.test), steps, 10))  # blanks for sure, then any of the 8 symbols
    memoryless[:, :-10, 0] = 1.0
    memoryless[:, -10:, 1:9] = 1 / 8
    metrics = sequence_labelling(None, dataset, memoryless)
    expected = 10 * math.log(8) / steps
    assert metrics["loss"] == pytest.approx(expected, rel=1e-6)
    assert metrics["baseline_loss"] == pytest.approx(expected, rel=0.01)
    assert metrics["baseline_accuracy"] == pytest.approx(1 / 8, abs=0.02)
    perfect = np.eye(10)[dataset.test.y]
    solved = sequence_labelling(None, dataset, perfect)
    assert solved["accuracy"] == 1.0 and solved["step_accuracy"] == [1.0] * 10 and solved["loss"] < 1e-6
    assert solved["examples"][0]["true"] == dataset.test.y[0, -10:].tolist()
    check_metrics("sequence-labelling", {**solved, "latency_ms": 0.1})


def test_sequential_mnist_reads_pixels_and_the_permuted_one_a_fixed_order():
    plain, permuted = load_dataset("seq_mnist"), load_dataset("perm_mnist")
    full = load_dataset("seq_mnist", {"size": "28x28"})
    assert plain.signature.input.dims == (196, 1) and full.signature.input.dims == (784, 1)
    assert np.array_equal(plain.test.y, permuted.test.y)
    assert not np.array_equal(plain.test.x, permuted.test.x)
    assert np.array_equal(np.sort(plain.test.x, axis=1), np.sort(permuted.test.x, axis=1))
    assert np.array_equal(permuted.as_image(permuted.test.x[0]), plain.as_image(plain.test.x[0]))
    image = full.as_image(full.test.x[0])[..., 0]
    pooled = image.reshape(14, 2, 14, 2).mean(axis=(1, 3))
    assert plain.as_image(plain.test.x[0])[..., 0] == pytest.approx(pooled, abs=1e-6)
    again = load_dataset("perm_mnist", {"seed": 5})
    assert np.array_equal(np.sort(again.train.x[:, :, 0], axis=1)[0], np.sort(again.train.x[0, :, 0]))
    assert np.array_equal(permuted.as_image(permuted.train.x[0]).shape, (14, 14, 1))


def test_a_benchmark_beyond_the_dataset_budget_is_one_sentence():
    with pytest.raises(UserError, match=r"^This would make 200,000,000 input values .* at most 40,000,000"):
        load_dataset("adding", {"length": 2000, "samples": 50_000})


# ---- the registry drives head, loss, metrics and panels -------------------------------------------


@pytest.mark.parametrize("task", list(TASKS))
def test_each_task_has_its_evaluation_schema_and_panel_under_its_own_name(task):
    from app_pages.parts.task_panels import PANELS
    from core.training.evaluation import EVALUATIONS

    entry = TASKS[task]
    assert entry.name == task and all(task in pieces for pieces in (EVALUATIONS, METRICS, PANELS))
    assert set(EVALUATIONS) == set(METRICS) == set(PANELS) == set(TASKS)  # no piece of a task gone
    assert entry.main in {column.key for column in entry.columns}
    assert entry.baseline in {key for key, _ in entry.baselines}
    assert set(entry.baseline_of) <= {column.key for column in entry.columns}


@pytest.mark.parametrize("task", list(TASKS))
def test_the_builder_appends_the_head_and_compiles_the_loss_of_the_task_entry(task):
    from core.training.builder import build_model, compile_model

    signature = SIGNATURES[task]
    entry = TASKS[task]
    recurrent = {"kind": "GRU", "units": 8, "return_sequences": entry.head.per_step}
    spec = ModelSpec.from_dict({"name": "m", "layers": [recurrent]})
    head = trace_model(spec, signature).rows[-1]
    assert head.role == "head" and head.call.kwargs["activation"] == entry.head.activation
    assert head.shape.dims == (*((12,) if entry.head.per_step else ()), signature.outputs)
    model = build_model(spec, signature)
    compile_model(model, task, "adam", 0.001)
    assert model.layers[-1].get_config()["activation"] == entry.head.activation
    assert tuple(model.output.shape[1:]) == head.shape.dims
    compiled = model.get_compile_config()
    assert compiled["loss"] == entry.loss and (compiled["metrics"] or []) == list(entry.keras_metrics)


def test_a_label_at_every_step_needs_the_time_axis_kept_at_full_length():
    signature = SIGNATURES["sequence-labelling"]
    ended = ModelSpec.from_dict({"name": "m", "layers": [{"kind": "LSTM", "units": 8}]})
    pooled = ModelSpec.from_dict(
        {"name": "m", "layers": [{"kind": "Conv1D", "filters": 8}, {"kind": "MaxPooling1D", "pool_size": 2}]}
    )
    assert (
        "a label at every time step needs (batch, time, features)"
        in trace_model(ended, signature).problems[0]
    )
    assert "ends with 5 time steps but the input has 12" in trace_model(pooled, signature).problems[0]


def toy_run(task: str, metrics: dict, name: str = "GRU") -> dict:
    dataset = {"regression": "adding", "sequence-labelling": "copy_memory"}.get(task, "adding")
    return finished_run(f"{name}-{task}", name, dataset, task, metrics, family="rnn")


def test_a_new_task_is_one_registry_entry(monkeypatch):
    """A task added to the registry (with its metrics check under its name) gets its columns, baseline,
    verdict, sentence and schema."""
    toy = replace(
        REGRESSION,
        name="toy",
        main="mae",
        baseline_of={"mae": "baseline_mse"},
        found="is off by {mae}",
        advice=("rest",),
    )
    monkeypatch.setitem(TASKS, "toy", toy)
    monkeypatch.setitem(METRICS, "toy", METRICS["regression"])
    bad, good = (
        toy_run("toy", {"mae": 0.3, "baseline_mse": 0.2}),
        toy_run("toy", {"mae": 0.1, "baseline_mse": 0.2}),
    )
    table, best = comparison_table([bad, good])
    assert list(table.columns[4:8]) == ["MSE", "MAE", "Beats baseline", "Baseline MSE"]
    assert list(table["Beats baseline"]) == ["not shown", "yes"] and best["MAE"] == [False, True]
    assert verdict(good) is None
    assert (
        verdict(bad)
        == "GRU is off by 0.3: no better than always predicting the training mean (0.2); try rest."
    )
    assert (
        baseline_sentence(bad)
        == "Without a model: always predicting the training mean gives a test MSE of 0.2."
    )
    with pytest.raises(UserError, match=r"metrics\.mse must be present"):
        check_metrics("toy", {"mae": 0.1})


def test_regression_and_labelling_runs_are_told_against_their_baselines():
    lazy = toy_run("regression", {"mse": 0.17, "mae": 0.33, "baseline_mse": 0.166})
    assert verdict(lazy) == (
        "GRU has a test MSE of 0.17: no better than always predicting the training mean (0.166); try more "
        "epochs, a gated recurrent layer, or a convolution that sees the whole input."
    )
    lazy["config"]["model"] = {"name": "GRU", "layers": [{"kind": "Bidirectional", "layer": "GRU"}]}
    assert verdict(lazy).endswith("; try more epochs or a convolution that sees the whole input.")
    forgetful = toy_run("sequence-labelling", {"loss": 0.35, "accuracy": 0.12, "baseline_loss": 0.347})
    assert (
        "has a test loss of 0.35 (accuracy 0.120 on the steps that matter): no better than guessing"
        in verdict(forgetful)
    )
    assert verdict(toy_run("regression", {"mse": 0.01, "mae": 0.05, "baseline_mse": 0.166})) is None


# ---- presets: a TCN covering T and three RNNs of about the same size ------------------------------


@pytest.mark.parametrize("dataset_id", BENCHMARKS)
def test_benchmark_presets_match_in_size_and_the_tcn_covers_the_sequence(dataset_id):
    from core.training.builder import build_model

    dataset = short(dataset_id)
    presets = presets_for(dataset.signature)
    assert list(presets) == ["Dilated causal CNN (TCN)", "LSTM", "GRU", "SimpleRNN"]
    counts = [trace_model(spec, dataset.signature).total_params for spec in presets.values()]
    assert all(abs(count - BENCHMARK_PARAMS) <= 0.05 * BENCHMARK_PARAMS for count in counts), counts
    assert receptive_field(presets["Dilated causal CNN (TCN)"]).steps >= dataset.signature.input.dims[0]
    for spec in presets.values():
        model = build_model(spec, dataset.signature)
        rows = trace_model(spec, dataset.signature).rows[1:]
        assert [tuple(layer.output.shape[1:]) for layer in model.layers[1:]] == [
            row.shape.dims for row in rows
        ]


def test_the_tcn_dilations_double_up_to_the_layer_limit_until_they_cover_the_sequence():
    assert tcn_dilations(100) == [1, 2, 4, 8, 16, 32]  # 1 + 2 * 63 = 127 steps
    assert tcn_dilations(2020)[-3:] == [256, 256, 256]  # 1 + 2 * (511 + 512) = 2047 steps


PRESET_CASES = [
    (dataset_id, preset) for dataset_id in BENCHMARKS for preset in presets_for(short(dataset_id).signature)
]


@pytest.mark.slow
@pytest.mark.parametrize(("dataset_id", "preset"), PRESET_CASES, ids=[f"{d}-{p}" for d, p in PRESET_CASES])
def test_benchmark_presets_train_one_epoch_on_short_versions(dataset_id, preset):
    from core.training.job import TrainingJob

    dataset = short(dataset_id)
    record = TrainingJob(
        dataset, presets_for(dataset.signature)[preset], {"epochs": 1, "batch_size": 32}
    ).run()
    assert record["status"] == "completed", record["reason"]
    assert len(record["history"]) == 1 and math.isfinite(record["history"][0]["loss"])
    task = TASKS[record["task"]]
    assert {column.key for column in task.columns} <= set(record["metrics"])
    assert {key for key, _ in task.baselines} <= set(record["metrics"])
    check_metrics(record["task"], record["metrics"])
    json.dumps(record)


@pytest.fixture(scope="module")
def trained() -> list[dict]:
    """A short GRU run on each new task's benchmark."""
    from core.training.job import TrainingJob

    runs = []
    for dataset_id in ("adding", "copy_memory"):
        dataset = short(dataset_id)
        spec = presets_for(dataset.signature)["GRU"]
        runs.append(TrainingJob(dataset, spec, {"epochs": 2, "batch_size": 32, "seed": 3}).run())
    return runs


@pytest.mark.slow
def test_the_exported_scripts_reproduce_the_new_tasks_metrics(trained, tmp_path):
    for record in trained:
        value = script_result(record, short(record["dataset"]).signature, tmp_path)
        main = TASKS[record["task"]].main
        assert value == pytest.approx(record["metrics"][main], rel=0.05)


# ---- the pages ------------------------------------------------------------------------------------


def chart_titles(at: AppTest) -> list[str]:
    titles = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        layers = [spec, *spec.get("layer", [])]
        titles += [layer.get("title") for layer in layers if isinstance(layer.get("title"), str)]
    return titles


@pytest.mark.slow
def test_compare_shows_each_new_tasks_panel(trained, tmp_path, monkeypatch):
    monkeypatch.setenv("RUNS_DB", str(tmp_path / "runs.db"))
    store = RunStore()
    for record in trained:
        store.save_record(record, "lab")
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.query_params["workspace"] = "lab"
    at.switch_page("app_pages/compare.py").run()
    seen = {}
    for index in range(2):
        at.selectbox(key="compare:group").select_index(index).run()
        assert not at.exception, at.exception
        seen[at.dataframe[0].value.columns[4]] = chart_titles(at)
    assert "Predicted against true (test split)" in seen["MSE"]
    assert "Accuracy at each scored step (test split)" in seen["Loss"]
    labels = [button.proto.label for button in at.get("download_button")]
    assert "Keras script" in labels
    at.session_state["choice"] = {"id": "adding", "settings": SHORT["adding"]}
    at.switch_page("app_pages/train.py").run()
    assert not at.exception and not at.error
    assert [metric.label for metric in at.metric][:2] == ["MSE", "MAE"]
    assert any(
        "always predicting the training mean gives a test MSE" in caption.value for caption in at.caption
    )


def test_the_data_page_previews_the_sequence_benchmarks():
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("app_pages/data.py").run()
    at.radio(key="data:modality").set_value("sequences").run()
    assert at.session_state["choice"]["id"] == "adding" and not at.exception
    assert "The first training sequences, with their targets" in chart_titles(at)
    assert any("about 1/6" in shown(info.value) for info in at.info)
    at.selectbox(key="data:dataset:sequences:built-in").set_value("perm_mnist").run()
    assert not at.exception and at.get("image")
    assert "Class balance (training split)" in chart_titles(at)
    at.radio(key="data:origin").set_value("upload").run()
    assert any("nothing to upload" in info.value for info in at.info)
    at.radio(key="data:origin").set_value("keras").run()
    assert any("No dataset of this kind comes from this source" in info.value for info in at.info)
    assert not at.exception and at.session_state["choice"]["id"] == "perm_mnist"
    at.switch_page("app_pages/build.py").run()
    assert list(at.session_state["models"]["perm_mnist"]) == ["Dilated causal CNN (TCN)", "LSTM"]
