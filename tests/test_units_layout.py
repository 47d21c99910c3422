"""Every chart and tile says its unit, and every label and line can be read: issue 17's defects."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import finished_run
from streamlit.testing.v1 import AppTest
from test_app import APP

from app_pages.parts.task_panels import FORECAST_LINES, confusion_chart, forecast_chart
from app_pages.parts.widgets import with_unit
from core.datasets.registry import column_unit
from core.runs.pool import WorkerPool
from core.runs.store import RunStore
from core.tasks.registry import TASKS

TOPICS = ["business", "politics", "sport", "technology"]
FORECAST = {
    "time": ["2001-01-06", "2001-01-13", "2001-01-20"],
    "truth": [370.1, 370.4, 370.2],
    "predicted": [370.0, 370.5, 370.3],
    "naive": [370.2, 370.1, 370.4],
    "target": "co2",
    "points": 3,
}
HISTORY = [
    {"epoch": 1, "seconds": 1.0, "wall_seconds": 1.0, "samples_per_second": 10.0, "loss": 0.5, "mae": 0.4}
    | {"val_loss": 0.6, "val_mae": 0.5}
]


def forecast_run() -> dict:
    """A finished run on co2 (ppm) whose errors are in ppm and whose curves are scaled."""
    metrics = {
        "mae": 0.1,
        "rmse": 0.12,
        "mape": 0.03,
        "naive_mae": 0.2,
        "naive_rmse": 0.25,
        "naive_mape": 0.05,
        "forecast": FORECAST,
    }
    return finished_run("unit-run", "GRU", "co2", "forecasting", metrics, history=HISTORY)


def vega_specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def layers(spec: dict) -> list[dict]:
    """A chart's marks, whether it is one chart or a layer of them."""
    return spec.get("layer", [spec])


def test_units_come_from_the_dataset_or_the_column_name():
    assert column_unit("co2", "co2") == "ppm" and column_unit("seattle_weather", "wind") == "m/s"
    assert column_unit("upload:hourly.csv", "temperature (°F)") == "°F"
    assert column_unit("upload:grid.csv", "load [MW]") == "MW"
    assert column_unit("upload:hourly.csv", "temperature") is None
    assert with_unit("co2", "ppm") == "co2 (ppm)"
    assert with_unit("temperature (°F)", "°F") == "temperature (°F)"  # never "(°F) (°F)"
    assert with_unit("temperature", None) == "temperature"


def test_forecasting_curves_say_they_are_scaled():
    forecasting = TASKS["forecasting"]
    assert forecasting.curve_title("mae") == "MAE (scaled)"
    assert forecasting.curve_title("loss") == "Loss (MSE, scaled)"
    assert TASKS["classification"].curve_title("accuracy") == "Accuracy"
    assert [column.title for column in forecasting.columns if column.in_target_units] == ["MAE", "RMSE"]


@pytest.mark.parametrize(("count", "angle"), [(4, -45), (20, -90)])
def test_a_confusion_matrix_names_every_class_on_both_axes(count, angle):
    names = TOPICS if count == 4 else [f"topic number {i}" for i in range(count)]
    matrix = np.arange(count * count).reshape(count, count)
    spec = confusion_chart(names, matrix).to_dict()
    heat = layers(spec)[0]  # the cells, under their counts where the cells are wide enough for them
    cell = (spec.get("width") or heat["width"])["step"]
    for channel in ("x", "y"):
        encoding = heat["encoding"][channel]
        axis = encoding["axis"]
        assert encoding["sort"] == names
        assert axis["labels"] and axis["labelOverlap"] is False, channel
        assert axis["labelFontSize"] <= cell - 2  # one name per cell, without overlapping its neighbour
    assert heat["encoding"]["x"]["axis"]["labelAngle"] == angle  # 13 px cells: slanted names would overlap


def test_the_forecast_draws_the_truth_over_the_model_in_the_targets_unit():
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(FORECAST["time"]),
            "naive (last value)": FORECAST["naive"],
            "truth": FORECAST["truth"],
            "model": FORECAST["predicted"],
        }
    )
    spec = forecast_chart(frame, "co2", "co2 (ppm)").to_dict()
    drawn = [layer["transform"][0]["filter"] for layer in spec["layer"]]
    assert drawn[-1] == "(datum.series === 'truth')"  # the last layer is drawn on top
    model = next(line for line in FORECAST_LINES if line[0] == "model")
    assert model[4] < 1  # the model's line lets the truth beneath it show
    assert spec["layer"][0]["encoding"]["y"]["title"] == "co2 (ppm)"
    assert spec["layer"][0]["encoding"]["y"]["scale"]["zero"] is False


@pytest.fixture
def store_with_a_forecast(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RUNS_DB", str(tmp_path / "runs.db"))
    monkeypatch.setattr(WorkerPool, "ensure", lambda self: None)  # no worker for the cost estimates
    RunStore(tmp_path / "runs.db").save_record(forecast_run(), "mine")


def page_on_co2(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.query_params["workspace"] = "mine"
    at.session_state["choice"] = {"id": "co2", "settings": {}}
    at.session_state["runs"] = ["unit-run"]
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_train_says_curves_are_scaled_and_errors_in_the_targets_unit(store_with_a_forecast):
    at = page_on_co2("app_pages/train.py")
    labels = [metric.label for metric in at.metric]
    assert {"MAE (ppm)", "RMSE (ppm)", "MAPE %"} <= set(labels), labels
    curves = {spec["title"]: spec["encoding"]["y"]["title"] for spec in vega_specs(at)}
    assert curves == {
        "Loss (MSE, scaled) per epoch": "Loss (MSE, scaled)",
        "MAE (scaled) per epoch": "MAE (scaled)",
    }


def test_compares_forecast_panel_says_its_unit(store_with_a_forecast):
    at = page_on_co2("app_pages/compare.py")
    forecast = next(spec for spec in vega_specs(at) if "Test forecast" in str(spec.get("title")))
    assert {layer["encoding"]["y"]["title"] for layer in layers(forecast)} == {"co2 (ppm)"}
    assert any("for the naive forecast, in ppm" in caption.value for caption in at.caption)
