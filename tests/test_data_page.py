"""The Data page and what it tells about the data: class balance, coarse test splits, imbalance, kinds
that switch without stale views, series columns guessed, failed uploads, defaults and class weights that
follow the data, and links whose data stayed with the sender.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from helpers import shown, small
from streamlit.testing.v1 import AppTest
from test_app import APP
from test_share import GOOD_MODEL
from test_uploads import image_zip

from core.datasets import Split, uploads
from core.datasets.advice import coarse_test_note, imbalance_note
from core.datasets.base import counted
from core.errors import UserError
from core.exchange import share
from core.model.spec import ModelSpec
from core.tasks.settings import class_weights, train_settings_for

HOURS = np.arange(240)
WAVE = pd.DataFrame(  # hourly readings, with a row counter
    {
        "when": pd.date_range("2024-03-01", periods=240, freq="h").strftime("%Y-%m-%d %H:%M"),
        "temperature": np.round(20 + 5 * np.sin(HOURS / 4), 2),
        "humidity": 50 + HOURS % 9,
        "row": HOURS,
    }
).to_csv(index=False)


def texts_csv(labels: list[str]) -> bytes:
    return (
        "text,label\n" + "\n".join(f"words of text {i},{label}" for i, label in enumerate(labels))
    ).encode()


def as_current(at: AppTest, upload: tuple[str, str, bytes, dict]) -> None:
    """Make an upload (kind, file name, bytes, column options) the visitor's dataset, as the page does."""
    kind, name, data, options = upload
    at.session_state["upload_bytes"] = data
    at.session_state["choice"] = {
        "id": f"upload:{name}",
        "settings": {},
        "upload": {"kind": kind, "name": name, "options": options},
    }


def data_page(upload: tuple[str, str, bytes, dict] | None = None) -> AppTest:
    """The Data page, with this upload as the current dataset."""
    at = AppTest.from_file(APP, default_timeout=60).run()
    if upload:
        as_current(at, upload)
    at.switch_page("app_pages/data.py").run()
    assert not at.exception, at.exception
    return at


def chart_titles(at: AppTest) -> list[str]:
    return [json.loads(chart.proto.spec).get("title", "") for chart in at.get("vega_lite_chart")]


def messages(at: AppTest, kind: str) -> list[str]:
    return [shown(element.value) for element in getattr(at, kind)]


TEXT_COLUMNS = {"text_column": "text", "label_column": "label"}
SERIES_UPLOAD = (
    "series",
    "wave.csv",
    WAVE.encode(),
    {"time_column": "when", "value_columns": ["temperature"]},
)
TINY_TEXTS = ("text", "quotes.csv", texts_csv(["work", "love"] * 20), TEXT_COLUMNS)
TOPICS = ("text", "topics.csv", texts_csv(["news"] * 30 + ["sport"] * 6 + ["art"] * 6), TEXT_COLUMNS)


# ---- what the page shows -----------------------------------------------------------------------


def test_text_data_gets_a_class_balance_chart():
    at = data_page()
    at.radio(key="data:modality").set_value("text").run()
    assert at.session_state["choice"]["id"] == "rotten_tomatoes"
    assert "Class balance (training split)" in chart_titles(at)


def test_a_tiny_test_split_says_how_coarse_its_accuracy_is():
    at = data_page(TINY_TEXTS)
    [note] = [text for text in messages(at, "info") if "one test example" in text]
    assert "The test split holds 4 examples: one test example is worth 25.0 points of accuracy" in note
    assert coarse_test_note(small("digits_8x8", 1000)) is None  # a quarter of that: 250 test examples


def test_imbalanced_classes_are_told_with_class_weights_to_try():
    at = data_page(TOPICS)
    [warning] = messages(at, "warning")
    assert "The classes are imbalanced: 'news' has" in warning and "set Class weight to balanced" in warning
    assert imbalance_note(small("digits_8x8", 1000)) is None


def test_switching_kinds_shows_no_stale_preview_or_error():
    zipped = ("images", "pets.zip", image_zip(per_class=10), {})
    at = data_page(zipped)
    assert at.get("image") and chart_titles(at) == ["Class balance (training split)"]
    at.radio(key="data:modality").set_value("text").run()
    assert not at.get("image") and not at.get("vega_lite_chart") and not at.error and not at.metric
    assert messages(at, "info") == [
        "Your current dataset is pets.zip (images); choose a text dataset or upload one. "
        "Until then, Build and Train use pets.zip."
    ]
    gone = data_page(zipped)
    gone.session_state["upload_bytes"] = None  # its bytes lost: an error, but only beside images
    gone.run()
    assert any("is gone" in text for text in messages(gone, "error"))
    gone.radio(key="data:modality").set_value("series").run()
    assert not gone.error and not gone.get("image")


# ---- series uploads ----------------------------------------------------------------------------


def test_a_time_column_and_the_numeric_columns_are_found():
    frame = uploads.read_csv(WAVE.encode(), "wave.csv")
    assert uploads.series_columns(frame) == ("when", ["temperature", "humidity"])  # row is a counter
    numbers = pd.DataFrame({"year": range(1700, 1760), "spots": np.arange(60) % 11, "empty": np.nan})
    assert uploads.series_columns(numbers) == (None, ["spots"])
    mostly = pd.DataFrame({"t": ["2024-01-01"] * 18 + ["soon", "later"], "v": range(20)})
    assert uploads.series_columns(mostly)[0] is None  # 90% dates: not a time column


def test_the_page_preselects_the_time_column_and_the_numeric_columns():
    at = data_page()
    at.radio(key="data:modality").set_value("series").run()
    at.radio(key="data:origin").set_value("upload").run()
    at.file_uploader(key="data:file:series").set_value(("wave.csv", WAVE.encode(), "text/csv")).run()
    assert at.selectbox[0].value == "when"
    assert at.multiselect[0].value == ["temperature", "humidity"]
    assert any("'when' reads as dates" in text for text in messages(at, "caption"))
    next(button for button in at.button if button.label == "Use this upload").click().run()
    assert at.session_state["choice"]["upload"]["options"] == {
        "time_column": "when",
        "value_columns": ["temperature", "humidity"],
    }
    assert "This upload is your current dataset." in messages(at, "caption")


def test_a_failed_upload_leaves_the_previous_dataset_usable():
    at = data_page(SERIES_UPLOAD)
    before = dict(at.session_state["choice"])
    at.radio(key="data:origin").set_value("upload").run()
    broken = WAVE.replace("20.", "hot", 1).encode()
    at.file_uploader(key="data:file:series").set_value(("broken.csv", broken, "text/csv")).run()
    at.multiselect[0].set_value(["temperature"]).run()  # not preselected: it holds a word
    [error] = messages(at, "error")
    assert "holds 'hot" in error and error.endswith("Your current dataset stays in use.")
    assert "Use this upload" not in [button.label for button in at.button]
    assert at.session_state["choice"] == before and at.session_state["upload_bytes"] == SERIES_UPLOAD[2]
    at.switch_page("app_pages/build.py").run()
    assert not at.exception and not at.error
    assert list(at.session_state["models"]["upload:wave.csv"]) == ["CNN", "Stacked LSTM (Keras example)"]


def series_axis(at: AppTest) -> dict:
    """The value axis of the series preview: its title and scale."""
    [chart] = at.get("vega_lite_chart")
    _bands, lines = json.loads(chart.proto.spec)["layer"]
    return lines["encoding"]["y"]


def test_a_series_preview_starts_at_the_data_and_names_its_unit():
    at = data_page()
    at.radio(key="data:modality").set_value("series").run()  # co2, about 310 to 375 ppm
    assert series_axis(at) == {
        "field": "value",
        "type": "quantitative",
        "title": "co2 (ppm)",
        "scale": {"zero": False},
    }
    in_fahrenheit = WAVE.replace("temperature", "temperature (°F)").encode()
    at = data_page(
        ("series", "f.csv", in_fahrenheit, {"time_column": "when", "value_columns": ["temperature (°F)"]})
    )
    assert series_axis(at)["title"] == "temperature (°F)"  # the unit its name writes, once
    assert [metric.label for metric in at.metric][:3] == [
        "Training windows",
        "Validation windows",
        "Test windows",
    ]


def test_a_text_csv_of_one_column_says_a_label_column_is_missing():
    at = data_page()
    at.radio(key="data:modality").set_value("text").run()
    at.radio(key="data:origin").set_value("upload").run()
    lines = "\n".join(f"a sentence about topic {i}" for i in range(40))
    at.file_uploader(key="data:file:text").set_value(
        ("notes.csv", f"text\n{lines}\n".encode(), "text/csv")
    ).run()
    [error] = messages(at, "error")
    assert error.startswith(
        "A text CSV needs a text column and a label column, but notes.csv has only one column, 'text'."
    ), error


def test_a_setting_the_data_cannot_take_keeps_the_previous_one():
    at = data_page()
    at.radio(key="data:modality").set_value("series").run()
    at.selectbox(key="data:dataset:series:built-in").set_value("sunspots").run()
    at.number_input(key="data:settings:sunspots:window").set_value(400).run()
    [error] = messages(at, "error")
    assert "too few for a window of 400" in error and error.endswith("keeps its previous settings.")
    assert at.session_state["choice"]["settings"].get("window", 0) != 400
    assert at.metric  # the dataset is still shown


# ---- training that follows the data ------------------------------------------------------------


def test_small_classification_sets_get_longer_training_by_default():
    assert {"epochs": 30, "patience": 5}.items() <= train_settings_for(small("digits_8x8", 500)).items()
    assert {"epochs": 5, "patience": 0}.items() <= train_settings_for(small("mnist_5k", 3000)).items()
    assert train_settings_for(small("sunspots", 100))["batch_size"] == 16  # series as before
    assert train_settings_for(small("digits_8x8", 500), {"epochs": 2})["epochs"] == 2


def test_class_weights_make_every_class_weigh_the_same():
    labels = np.array([0, 0, 0, 0, 0, 0, 2, 2, 3])
    weights = class_weights(labels)
    assert weights == pytest.approx({0: 9 / 18, 2: 9 / 6, 3: 9 / 3})
    classes, counts = np.unique(labels, return_counts=True)
    assert [weights[label] * count for label, count in zip(classes, counts, strict=True)] == pytest.approx(
        [3] * 3
    )


def test_a_balanced_run_trains_and_weighs_its_loss():
    from core.training.job import TrainingJob

    dataset = small("digits_8x8", 64)
    skewed = replace(dataset, train=Split(dataset.train.x, np.where(dataset.train.y < 7, 0, dataset.train.y)))
    spec = ModelSpec.from_dict(
        {"name": "Dense", "layers": [{"kind": "Flatten"}, {"kind": "Dense", "units": 8}]}
    )
    assert imbalance_note(skewed)
    losses = {}
    for weighting in ("balanced", "none"):
        record = TrainingJob(skewed, spec, {"epochs": 1, "class_weight": weighting}).run()
        assert record["status"] == "completed", record["reason"]
        assert record["config"]["train"]["class_weight"] == weighting
        losses[weighting] = record["history"][0]["loss"]
    assert losses["balanced"] != pytest.approx(losses["none"])


# ---- links whose data stayed with the sender ---------------------------------------------------


def sent_from_an_upload() -> str:
    """A link of two models made on an uploaded series."""
    dataset = uploads.series_upload(WAVE.encode(), "wave.csv", ["temperature"], "when")
    specs = [ModelSpec.from_dict(GOOD_MODEL), ModelSpec.from_dict({**GOOD_MODEL, "name": "Other"})]
    return share.encode_without_data(share.DataShape.of(dataset), specs)


def test_a_link_from_an_upload_carries_the_shape_not_the_data():
    shared = share.decode(sent_from_an_upload())
    assert (
        shared.dataset is None
        and str(shared.shape) == "series data (forecasting), shaped (batch, time 24, features 1)"
    )
    shared.check_fits(small("sunspots"))
    with pytest.raises(UserError) as caught:
        shared.check_fits(small("digits_8x8"))
    assert (
        str(caught.value)
        == "Small digits (8x8) is images data (classification), not series data (forecasting)."
    )


def test_a_link_from_an_upload_is_applied_to_the_receivers_own_data():
    at = AppTest.from_file(APP, default_timeout=60)
    as_current(
        at, ("series", "mine.csv", WAVE.encode(), {"time_column": "when", "value_columns": ["humidity"]})
    )
    at.query_params["share"] = sent_from_an_upload()
    at.run()
    assert not at.exception and not at.error
    assert "the data stayed with the sender. They were added to your current dataset, mine.csv" in shown(
        at.success[0].value
    )
    assert list(at.session_state["models"]["upload:mine.csv"]) == ["GRU", "Other"]


def test_a_link_that_does_not_fit_loads_nothing_until_data_of_its_kind_is_picked():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["share"] = sent_from_an_upload()
    at.run()
    [info] = messages(at, "info")
    assert "made for series data (forecasting)" in info and info.endswith("Nothing was loaded.")
    assert at.session_state["models"] == {}
    at.switch_page("app_pages/data.py").run()
    at.radio(key="data:modality").set_value("series").run()
    button = next(button for button in at.button if button.label.startswith("Add them to"))
    button.click().run()
    assert list(at.session_state["models"]["co2"]) == ["GRU", "Other"]
    assert not any(button.label.startswith("Add them to") for button in at.button)


def test_the_build_page_shares_an_uploads_models_without_its_data():
    at = data_page(SERIES_UPLOAD)
    at.switch_page("app_pages/build.py").run()
    assert any("Your data stays with you" in shown(text.value) for text in at.markdown)
    token = at.code[0].value.split("share=")[1]
    assert share.decode(token).shape.input.dims == (24, 1)


def test_counts_agree_with_their_nouns():
    assert counted(1, "missing value", "was") == "1 missing value was"
    assert counted(1_200, "row", "repeats") == "1,200 rows repeat"
    assert counted(0, "text", "has") == "0 texts have"
