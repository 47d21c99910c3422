"""The dashboard through Streamlit's AppTest: every page, the editing actions, and a journey per modality."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard.py")
PAGES = ["pages/home.py", "pages/data.py", "pages/build.py", "pages/train.py", "pages/compare.py"]


def app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60).run()


def open_page(at: AppTest, page: str) -> AppTest:
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def wait_for_jobs(at: AppTest) -> None:
    for job in at.session_state["jobs"]:
        assert job.wait(240), f"{job.spec.name} did not finish"


def test_home_renders_without_tensorflow():
    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({APP!r}, default_timeout=30).run()\n"
        "assert not at.exception, at.exception\n"
        "assert at.title[0].value == 'CNN vs RNN'\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_errors(page):
    at = open_page(app(), page)
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == Path(page).stem.capitalize() or page.endswith("home.py")


def test_compare_without_runs_points_to_train():
    at = open_page(app(), "pages/compare.py")
    assert "No finished runs yet" in at.info[0].value


def test_data_page_switches_modality_and_shows_preview():
    at = open_page(app(), "pages/data.py")
    at.radio(key="data:modality").set_value("series").run()
    assert at.session_state["choice"]["id"] == "co2"
    assert any("missing values were filled" in info.value for info in at.info)
    at.number_input(key="data:settings:co2:window").set_value(12).run()
    assert at.session_state["choice"]["settings"]["window"] == 12
    assert "time 12" in at.markdown[-1].value or any("time 12" in m.value for m in at.markdown)


def test_keras_download_offline_shows_one_sentence(no_network, tmp_path, monkeypatch):
    from keras.src.backend import config

    monkeypatch.setattr(config, "_KERAS_DIR", str(tmp_path))
    at = open_page(app(), "pages/data.py")
    at.radio(key="data:origin").set_value("keras").run()
    button(at, "Download and use").click().run()
    assert not at.exception
    assert any("could not be downloaded" in error.value for error in at.error)


def test_build_page_edits_layers_and_validates_live():
    at = open_page(app(), "pages/build.py")
    models = at.session_state["models"]["mnist_5k"]
    assert set(models) == {"CNN", "LSTM"}
    at.selectbox(key="build:model:mnist_5k").set_value("LSTM").run()
    at.selectbox(key="build:add:LSTM").set_value("LSTM").run()
    button(at, "Add").click().run()
    lstm = at.session_state["models"]["mnist_5k"]["LSTM"]
    assert [layer["kind"] for layer in lstm["spec"]["layers"]] == ["LSTM", "LSTM"]
    assert any(
        "the time axis ended at layer 1 (LSTM); turn on return_sequences there" in e.value for e in at.error
    )
    first = lstm["uids"][0]
    at.toggle(key=f"layer:{first}:return_sequences").set_value(True).run()
    assert not at.error
    assert any("is valid" in s.value for s in at.success)
    at.button(key=f"copy:{first}").click().run()
    assert len(at.session_state["models"]["mnist_5k"]["LSTM"]["spec"]["layers"]) == 3
    second = at.session_state["models"]["mnist_5k"]["LSTM"]["uids"][1]
    at.button(key=f"remove:{second}").click().run()
    at.button(key=f"down:{first}").click().run()
    uids = at.session_state["models"]["mnist_5k"]["LSTM"]["uids"]
    assert uids[1] == first and len(uids) == 2
    button(at, "Duplicate").click().run()
    assert "LSTM copy" in at.session_state["models"]["mnist_5k"]
    assert at.session_state["build:model:mnist_5k"] == "LSTM copy"
    button(at, "Delete").click().run()
    assert "LSTM copy" not in at.session_state["models"]["mnist_5k"]
    assert any("Keras code" in tab.label for tab in at.tabs)
    assert at.session_state["build:model:mnist_5k"] == "CNN"
    assert any("keras.layers.Conv2D(32, 3" in code.value for code in at.code)


def test_build_page_creates_a_model_from_a_preset():
    at = open_page(app(), "pages/build.py")
    at.selectbox(key="build:new:preset").set_value("GRU").run()
    button(at, "Create").click().run()
    assert at.session_state["build:model:mnist_5k"] == "GRU"
    assert at.session_state["models"]["mnist_5k"]["GRU"]["spec"]["layers"][0]["kind"] == "GRU"


JOURNEYS = [
    ("images", "mnist_5k", "accuracy"),
    ("text", "rotten_tomatoes", "accuracy"),
    ("series", "co2", "mae"),
]


@pytest.mark.parametrize(("modality", "dataset_id", "metric"), JOURNEYS, ids=[j[0] for j in JOURNEYS])
def test_journey_cnn_then_rnn_then_compare(modality, dataset_id, metric):
    at = open_page(app(), "pages/data.py")
    at.radio(key="data:modality").set_value(modality).run()
    assert at.session_state["choice"]["id"] == dataset_id
    open_page(at, "pages/build.py")
    models = list(at.session_state["models"][dataset_id])
    assert models[0] == "CNN" and len(models) == 2
    open_page(at, "pages/train.py")
    at.number_input(key=f"train:{dataset_id}:epochs").set_value(1).run()
    for name in models:
        at.multiselect(key=f"train:models:{dataset_id}").set_value([name]).run()
        button(at, "Train").click().run()
        wait_for_jobs(at)
        at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [job.status for job in at.session_state["jobs"]] == ["completed", "completed"]
    assert any(expander.label.endswith("completed") for expander in at.expander)
    open_page(at, "pages/compare.py")
    table = at.dataframe[0].value
    assert list(table["Model"]) == models
    families = list(table["Family"])
    assert families[0] == "cnn" and families[1] in ("rnn", "hybrid")
    column = {"accuracy": "Accuracy", "mae": "MAE"}[metric]
    assert table[column].notna().all()
    assert len(at.get("vega_lite_chart")) >= 3  # curves, then one panel per run


def test_compare_deletes_runs():
    at = open_page(app(), "pages/data.py")
    at.radio(key="data:modality").set_value("series").run()
    at.selectbox(key="data:dataset:series:built-in").set_value("sunspots").run()
    open_page(at, "pages/train.py")
    at.number_input(key="train:sunspots:epochs").set_value(1).run()
    at.multiselect(key="train:models:sunspots").set_value(["CNN"]).run()
    button(at, "Train").click().run()
    wait_for_jobs(at)
    open_page(at, "pages/compare.py")
    label = at.multiselect(key="compare:runs").value[0]
    at.multiselect(key="compare:delete").set_value([label]).run()
    button(at, "Delete").click().run()
    assert at.session_state["jobs"] == []
