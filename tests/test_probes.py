"""Gradients through time: per-step profiles for every input kind, vanishing gradients in a SimpleRNN,
memory horizons, the schema of profiles, and the heatmaps and memory chart on Train and Compare.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import cli_with_store, small
from streamlit.testing.v1 import AppTest
from test_app import APP

from app_pages.parts.memory_panels import gradient_chart
from core.compare.memory import (
    gradient_frame,
    log_ticks,
    memory_frame,
    memory_horizon,
    memory_metrics,
    memory_sentences,
)
from core.datasets import load_dataset
from core.errors import UserError
from core.model.presets import presets_for
from core.model.receptive_field import receptive_field
from core.model.spec import ModelSpec
from core.runs.record import input_gradient
from core.runs.schema import MAX_STEPS, check_history, check_metrics
from core.runs.store import RunStore
from core.training.builder import build_model, compile_model
from core.training.gradient_probe import GradientProbe
from core.training.job import TrainingJob

SHORT = {"length": 40, "samples": 300}  # a generated benchmark, short and small
KINDS_OF_INPUT = [  # (dataset, its settings, preset): every kind of input, every task
    ("digits_8x8", {}, "CNN"),  # images, read by rows: classification
    ("rotten_tomatoes", {}, "LSTM"),  # tokens: classification
    ("sunspots", {}, "Dilated causal CNN (TCN)"),  # series: forecasting
    ("shakespeare", {}, "Char-RNN (Keras example)"),  # tokens: language model
    ("adding", SHORT, "GRU"),  # series: regression
    ("copy_memory", SHORT, "Dilated causal CNN (TCN)"),  # tokens: a class at every step
]


@pytest.mark.slow
@pytest.mark.parametrize(("dataset_id", "settings", "preset"), KINDS_OF_INPUT)
def test_every_epoch_keeps_one_gradient_norm_per_input_step(dataset_id, settings, preset):
    dataset = load_dataset(dataset_id, settings).head(64) if settings else small(dataset_id, 64)
    spec = presets_for(dataset.signature)[preset]
    record = TrainingJob(dataset, spec, {"epochs": 2, "batch_size": 32}).run()
    assert record["status"] == "completed", record["reason"]
    steps = dataset.signature.input.dims[0]  # time steps, tokens, or image rows
    profiles = input_gradient(record)
    assert [len(profile) for profile in profiles] == [steps, steps]
    assert all(norm >= 0 for profile in profiles for norm in profile) and max(profiles[-1]) > 0
    assert record["metrics"]["receptive_field"] == receptive_field(spec).to_json()
    assert record["metrics"]["memory_horizon"] == memory_horizon(profiles[-1])
    check_history(record["history"])
    check_metrics(record["task"], record["metrics"])
    json.dumps(record)


@pytest.mark.slow
def test_a_simple_rnn_gradient_vanishes_far_from_the_output_on_adding():
    """The first marked value lies in the first half: a SimpleRNN's gradient barely reaches it."""
    steps = 100
    dataset = load_dataset("adding", {"length": steps, "samples": 600})
    record = TrainingJob(dataset, presets_for(dataset.signature)["SimpleRNN"], {"epochs": 1}).run()
    profile = np.array(input_gradient(record)[-1])
    assert len(profile) == steps
    assert profile[-10:].mean() > 100 * profile[:10].mean()  # near the output against far from it
    assert profile[-1] > profile[steps // 2] > profile[0]
    assert record["metrics"]["receptive_field"] is None and record["metrics"]["memory_horizon"] < steps


def test_no_probe_samples_and_a_diverged_model_keep_no_profile():
    dataset = small("sunspots", 64)
    model = build_model(presets_for(dataset.signature)["GRU"], dataset.signature)
    compile_model(model, "forecasting", "adam", 0.001)
    assert GradientProbe(dataset.validation.head(0)).measure(model) == {}
    model.set_weights([np.full_like(weights, np.nan) for weights in model.get_weights()])
    assert GradientProbe(dataset.validation).measure(model) == {}


@pytest.mark.parametrize(
    ("profile", "horizon"),
    [
        ([0.001, 0.5, 2.0, 10.0], 3),  # 0.5 is the farthest at 1% of 10 or more
        ([0.1, 0.0, 10.0], 3),  # exactly 1% counts, a dip on the way does not end it
        ([0.0999, 0.5, 10.0], 2),  # just under 1%
        ([10.0, 1.0, 1.0], 3),  # the largest gradient at the farthest step
        ([5.0], 1),  # the last step alone
        ([0.0, 0.0, 0.0], 0),  # no gradient at all
    ],
)
def test_memory_horizon_counts_back_to_the_farthest_step_at_one_percent(profile, horizon):
    assert memory_horizon(profile) == horizon


def model_spec(*layers: dict) -> ModelSpec:
    return ModelSpec.from_dict({"name": "Model", "layers": list(layers)})


def history(*profiles: list[float]) -> list[dict]:
    return [
        {"epoch": epoch, "seconds": 1.0, "wall_seconds": float(epoch), "samples_per_second": 10.0}
        | ({"input_gradient": profile} if profile is not None else {})
        for epoch, profile in enumerate(profiles, start=1)
    ]


def test_memory_metrics_take_the_spec_and_the_last_profile():
    tcn = model_spec({"kind": "Conv1D", "kernel_size": 3, "dilation_rate": 2}, {"kind": "Flatten"})
    assert memory_metrics(tcn, history([1.0, 1.0, 1.0], [0.0, 0.001, 1.0])) == {
        "receptive_field": 5,
        "memory_horizon": 1,
    }
    assert memory_metrics(model_spec({"kind": "LSTM", "units": 4}), history(None)) == {
        "receptive_field": None
    }


@pytest.mark.parametrize(
    ("profiles", "message"),
    [
        (([0.1, -0.2],), "history[0].input_gradient[1] must be a finite number from 0 up."),
        (([0.1, float("nan")],), "history[0].input_gradient[1] must be a finite number from 0 up."),
        (([0.1, "0.2"],), "history[0].input_gradient[1] must be a finite number from 0 up."),
        (([],), f"history[0].input_gradient must be a list of 1 to {MAX_STEPS:,} gradient norms"),
        (([0.5] * (MAX_STEPS + 1),), f"history[0].input_gradient must be a list of 1 to {MAX_STEPS:,}"),
        (({"0": 0.5},), "history[0].input_gradient must be a list of 1 to"),
        (
            ([0.1, 0.2], [0.1, 0.2, 0.3]),
            "history must be epochs whose input_gradient profiles are of one length",
        ),
    ],
)
def test_the_schema_refuses_malformed_profiles(profiles, message):
    with pytest.raises(UserError) as refused:
        check_history(history(*profiles))
    assert str(refused.value).startswith(message)


def test_the_schema_checks_the_memory_metrics_of_every_task():
    metrics = {"accuracy": 0.5, "class_names": ["a", "b"], "confusion_matrix": [[1, 0], [0, 1]]}
    check_history(history([0.1, 0.2], None, [0.3, 0.0]))
    check_metrics("classification", {**metrics, "receptive_field": None, "memory_horizon": 2})
    check_metrics("classification", {**metrics, "receptive_field": 31, "memory_horizon": 0})
    for wrong, message in [
        ({"receptive_field": 0}, "metrics.receptive_field must be a whole number from 1"),
        ({"memory_horizon": -1}, "metrics.memory_horizon must be a whole number from 0"),
        ({"memory_horizon": 2.5}, "metrics.memory_horizon must be a whole number from 0"),
    ]:
        with pytest.raises(UserError, match=message):
            check_metrics("classification", {**metrics, **wrong})


def finished_record(profiles: list[list[float]], metrics: dict) -> dict:
    """An LSTM's run on sunspots with these epochs' profiles and these metrics."""
    return {
        "id": "abcdef123456",
        "name": "LSTM",
        "config": {
            "dataset": {"id": "sunspots", "settings": {}},
            "model": model_spec({"kind": "LSTM", "units": 4}).to_dict(),
        },
        "history": history(*profiles),
        "metrics": metrics,
    }


def test_long_profiles_are_binned_for_the_heatmap_and_zero_cells_left_out():
    profile = [float(step % 3 != 0) for step in range(450)]  # 450 steps: cells of 3, each mean 2/3
    profile[-3:] = [0.0, 0.0, 0.0]
    frame = gradient_frame(finished_record([profile, profile], {}))
    assert len(frame) == 2 * 149 and set(frame["epoch"]) == {1, 2}
    assert frame["norm"].tolist() == pytest.approx([2 / 3] * len(frame))
    assert frame[["first", "last"]].iloc[0].tolist() == [1, 3] and frame["last"].max() == 447


def test_the_memory_chart_draws_an_unbounded_receptive_field_to_the_sequence_length():
    lstm = finished_record([[0.0, 0.5, 1.0]], {"receptive_field": None, "memory_horizon": 2})
    frame = memory_frame([lstm, {**lstm, "history": []}])  # a run without profiles is left out
    assert frame[["measure", "steps", "label", "length"]].to_dict("records") == [
        {"measure": "receptive field", "steps": 3, "label": "unbounded", "length": 3},
        {"measure": "memory horizon", "steps": 2, "label": "2 time steps", "length": 3},
    ]


def probed(layers: list[dict], length: int, horizon: int, task: str = "forecasting") -> dict:
    """A run of a model of ``layers`` on ``length`` steps whose gradient reaches ``horizon`` steps back."""
    spec = model_spec(*layers)
    profile = [0.0] * (length - horizon) + [1.0] * horizon
    metrics = {"receptive_field": receptive_field(spec).to_json(), "memory_horizon": horizon}
    record = finished_record([profile], metrics)
    return {**record, "task": task, "config": {**record["config"], "model": spec.to_dict()}}


CONV_8 = {"kind": "Conv1D", "kernel_size": 8}  # one position sees 8 steps


@pytest.mark.parametrize(
    ("layers", "length", "horizon", "task", "said"),
    [
        (  # Flatten sees the whole window, and the horizon can only pass the field through it
            [CONV_8, {"kind": "Flatten"}, {"kind": "Dense", "units": 4}],
            24,
            24,
            "forecasting",
            "LSTM · abcdef: Flatten lets its output see all 24 time steps, though one position before it "
            "sees 8; its gradient reaches all 24 time steps, more than the 8 one position sees, which only "
            "Flatten combining the positions makes possible, so the window, not the model, is the limit: "
            "a longer window might be used.",
        ),
        (  # a horizon shorter than what the model sees
            [{"kind": "LSTM", "units": 4}],
            24,
            5,
            "forecasting",
            "LSTM · abcdef: its recurrent state carries all 24 time steps; its gradient reaches 5 time steps "
            "back, so it can see further than it learned to use.",
        ),
        (  # a horizon as long as the window: the window is the limit
            [{"kind": "LSTM", "units": 4}],
            24,
            24,
            "forecasting",
            "LSTM · abcdef: its recurrent state carries all 24 time steps; its gradient reaches all 24 time "
            "steps, so the window, not the model, is the limit: a longer window might be used.",
        ),
        (  # global pooling: past one position's field, short of the window
            [{"kind": "Conv1D", "kernel_size": 3}, {"kind": "GlobalMaxPooling1D"}],
            12,
            9,
            "forecasting",
            "which only GlobalMaxPooling1D combining the positions makes possible, so it can see further",
        ),
        (  # a label at every step: the loss reaches past one position's field through the other outputs
            [{"kind": "Embedding", "output_dim": 4}, CONV_8 | {"padding": "same"}],
            30,
            30,
            "sequence-labelling",
            "one position sees 8 of the 30 time steps; its gradient reaches all 30 time steps, more than the "
            "8 one position sees, which the outputs at every step make possible.",
        ),
        (  # a field within the window, used to its end
            [CONV_8 | {"padding": "causal"}],
            30,
            8,
            "sequence-labelling",
            "its gradient reaches 8 time steps back, as far as it can see.",
        ),
    ],
)
def test_each_runs_field_and_horizon_are_told_in_one_sentence(layers, length, horizon, task, said):
    record = probed(layers, length, horizon, task)
    [sentence] = memory_sentences([record, {**record, "history": []}])  # an unprobed run has none
    assert said in sentence and sentence.count(".") == 1, sentence


def test_the_memory_chart_draws_what_flatten_sees_as_the_whole_window():
    frame = memory_frame([probed([CONV_8, {"kind": "Flatten"}], 24, 24)])
    assert frame[["measure", "steps", "label"]].to_dict("records") == [
        {"measure": "receptive field", "steps": 24, "label": "all 24 time steps (Flatten; 8 per position)"},
        {"measure": "memory horizon", "steps": 24, "label": "24 time steps"},
    ]


def test_each_heatmap_is_titled_by_its_run_and_its_legend_has_readable_ticks():
    record = finished_record([[1e-5, 1e-3, 0.3]], {})
    chart = gradient_chart(record, gradient_frame(record)).to_dict()
    assert chart["title"] == {"text": "LSTM · abcdef", "subtitle": "Gradient through time"}
    assert chart["encoding"]["color"]["legend"]["values"] == pytest.approx([1e-5, 1e-4, 1e-3, 1e-2, 1e-1])
    assert log_ticks(0.002, 0.04) == pytest.approx([0.002, 0.005, 0.01, 0.02])  # 1-2-5 within a decade
    assert len(log_ticks(1e-14, 1.0)) <= 6 and log_ticks(1.2, 1.5) == [1.2, 1.5]


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory):
    """A CNN and a SimpleRNN, two epochs each on digits_8x8, in workspace "mine"."""
    folder = tmp_path_factory.mktemp("probes")
    for model in ("CNN", "SimpleRNN"):
        done = cli_with_store(
            folder,
            "train",
            "--dataset",
            "digits_8x8",
            "--model",
            model,
            "--epochs",
            "2",
            "--workspace",
            "mine",
        )
        assert done.returncode == 0, done.stderr
    return folder / "runs.db"


def open_page(store_path, monkeypatch, page: str) -> AppTest:
    monkeypatch.setenv("RUNS_DB", str(store_path))
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.query_params["workspace"] = "mine"
    at.session_state["choice"] = {"id": "digits_8x8", "settings": {}}
    at.switch_page(page).run()
    assert not at.exception
    return at


def chart_titles(at: AppTest) -> list[str]:
    """Each chart's title, and a heatmap's as "Gradient through time · its run"."""
    titles = [json.loads(chart.proto.spec).get("title", "") for chart in at.get("vega_lite_chart")]
    return [f"{title['subtitle']} · {title['text']}" if "subtitle" in title else title for title in titles]


@pytest.mark.slow
def test_compare_shows_the_heatmaps_side_by_side_and_the_memory_chart(store_path, monkeypatch):
    at = open_page(store_path, monkeypatch, "app_pages/compare.py")
    assert "Gradients through time" in [heading.value for heading in at.subheader]
    titles = chart_titles(at)
    runs = {run["name"]: run["id"][:6] for run in RunStore(store_path).runs("mine")}
    assert {f"Gradient through time · {name} · {run_id}" for name, run_id in runs.items()} <= set(titles)
    assert "Receptive field and memory horizon" in titles
    assert any("memory horizon is how far back" in caption.value for caption in at.caption)
    told = [item.value for item in at.markdown if "its gradient reaches" in item.value]
    assert len(told) == 2 and any(
        "one position sees 10 rows, more than the whole window of 8" in t for t in told
    )


@pytest.mark.slow
def test_train_shows_the_newest_runs_heatmap(store_path, monkeypatch):
    at = open_page(store_path, monkeypatch, "app_pages/train.py")
    titles = " ".join(chart_titles(at))
    assert "Gradient through time · SimpleRNN · " in titles
    assert "Gradient through time · CNN · " not in titles  # charts for the newest run only
