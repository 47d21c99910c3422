"""The dashboard through Streamlit's AppTest: every page, the editing actions, and a journey per modality."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from helpers import ROOT, assert_web_process_stays_light, shown
from streamlit.testing.v1 import AppTest

from app_pages.parts.visitor import DEFAULT_DATASET
from core.datasets.described import load_described
from core.model.presets import presets_for
from core.runs.queue import enqueue, queued_record
from core.runs.store import RunStore

APP = str(ROOT / "dashboard.py")
PAGES = [
    "app_pages/home.py",
    "app_pages/data.py",
    "app_pages/build.py",
    "app_pages/train.py",
    "app_pages/compare.py",
    "app_pages/lab.py",
]


def app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60).run()


def open_page(at: AppTest, page: str) -> AppTest:
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def wait_for_runs(at: AppTest, timeout: float = 240) -> list[dict]:
    """Wait until the workers have finished every run this visitor queued; returns their records."""
    store = RunStore()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = store.runs(ids=at.session_state["runs"])
        if all(run["status"] not in ("queued", "running") for run in runs):
            return runs
        time.sleep(0.3)
    pytest.fail(f"runs still unfinished: {[(run['name'], run['status']) for run in runs]}")


def test_home_renders_without_tensorflow():
    assert_web_process_stays_light(
        "assert not at.exception, at.exception\nassert at.title[0].value == 'CNN vs RNN'"
    )


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_errors(page):
    at = open_page(app(), page)
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == Path(page).stem.capitalize() or page.endswith("home.py")


def test_compare_without_runs_points_to_train():
    at = open_page(app(), "app_pages/compare.py")
    assert "No finished runs yet" in at.info[0].value


def test_data_page_switches_modality_and_shows_preview():
    at = open_page(app(), "app_pages/data.py")
    at.radio(key="data:modality").set_value("series").run()
    assert at.session_state["choice"]["id"] == "co2"
    assert any("missing values were filled" in info.value for info in at.info)
    at.number_input(key="data:settings:co2:window").set_value(12).run()
    assert at.session_state["choice"]["settings"]["window"] == 12
    assert "time 12" in at.markdown[-1].value or any("time 12" in m.value for m in at.markdown)


def test_keras_download_offline_shows_one_sentence(tmp_path, monkeypatch):
    """The download happens in a worker; offline (a proxy that refuses), the page says so in a sentence."""
    monkeypatch.setenv("RUNS_DB", str(tmp_path / "runs.db"))  # a fresh store, so a fresh worker
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    for variable in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")
    at = open_page(app(), "app_pages/data.py")
    at.radio(key="data:origin").set_value("keras").run()
    button(at, "Download and use").click().run()
    assert any("Downloading MNIST" in info.value for info in at.info)
    store = RunStore()
    deadline = time.monotonic() + 120
    while store.download("mnist")["status"] != "failed" and time.monotonic() < deadline:
        time.sleep(0.3)
    at.run()
    assert not at.exception
    assert any("could not be downloaded" in error.value for error in at.error), [e.value for e in at.error]


def test_build_page_edits_layers_and_validates_live():
    at = open_page(app(), "app_pages/build.py")
    models = at.session_state["models"]["mnist_5k"]
    assert set(models) == {"CNN", "LSTM"}
    at.selectbox(key="build:model:mnist_5k").set_value("LSTM").run()
    at.selectbox(key="build:add:LSTM").set_value("LSTM").run()
    button(at, "Add").click().run()
    lstm = at.session_state["models"]["mnist_5k"]["LSTM"]
    assert [layer["kind"] for layer in lstm["spec"]["layers"]] == ["LSTM", "LSTM"]
    assert any(
        "the time axis ended at layer 1 (LSTM); turn on return_sequences there" in shown(e.value)
        for e in at.error
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
    button(at, "Delete it").click().run()
    assert "LSTM copy" not in at.session_state["models"]["mnist_5k"]
    assert any("Keras code" in tab.label for tab in at.tabs)
    assert at.session_state["build:model:mnist_5k"] == "CNN"
    assert any("keras.layers.Conv2D(32, 3" in code.value for code in at.code)


def test_build_page_creates_a_model_from_a_preset():
    at = open_page(app(), "app_pages/build.py")
    at.selectbox(key="build:new:preset").set_value("GRU").run()
    button(at, "Create").click().run()
    assert at.session_state["build:model:mnist_5k"] == "GRU"
    assert at.session_state["models"]["mnist_5k"]["GRU"]["spec"]["layers"][0]["kind"] == "GRU"


JOURNEYS = [
    ("images", "mnist_5k", "accuracy"),
    ("text", "rotten_tomatoes", "accuracy"),
    ("series", "co2", "mae"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("modality", "dataset_id", "metric"), JOURNEYS, ids=[j[0] for j in JOURNEYS])
def test_journey_cnn_then_rnn_then_compare(modality, dataset_id, metric):
    at = open_page(app(), "app_pages/data.py")
    at.radio(key="data:modality").set_value(modality).run()
    assert at.session_state["choice"]["id"] == dataset_id
    open_page(at, "app_pages/build.py")
    models = list(at.session_state["models"][dataset_id])
    assert models[0] == "CNN" and len(models) == 2
    open_page(at, "app_pages/train.py")
    at.number_input(key=f"train:{dataset_id}:epochs").set_value(1).run()
    for name in models:
        at.multiselect(key=f"train:models:{dataset_id}").set_value([name]).run()
        button(at, "Train").click().run()
        wait_for_runs(at)
        at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [run["status"] for run in wait_for_runs(at)] == ["completed", "completed"]
    assert any(" · completed · " in expander.label for expander in at.expander)
    open_page(at, "app_pages/compare.py")
    table = at.dataframe[0].value
    assert list(table["Model"]) == models
    families = list(table["Family"])
    assert families[0] == "cnn" and families[1] in ("rnn", "hybrid")
    column = {"accuracy": "Accuracy", "mae": "MAE"}[metric]
    assert table[column].notna().all()
    assert len(at.get("vega_lite_chart")) >= 3  # curves, then one panel per run


@pytest.mark.slow
def test_compare_deletes_runs():
    at = open_page(app(), "app_pages/data.py")
    at.radio(key="data:modality").set_value("series").run()
    at.selectbox(key="data:dataset:series:built-in").set_value("sunspots").run()
    open_page(at, "app_pages/train.py")
    at.number_input(key="train:sunspots:epochs").set_value(1).run()
    at.multiselect(key="train:models:sunspots").set_value(["CNN"]).run()
    button(at, "Train").click().run()
    wait_for_runs(at)
    open_page(at, "app_pages/compare.py")
    label = at.multiselect(key=f"compare:runs:{at.session_state['compare:group']}").value[0]
    at.multiselect(key="compare:delete").set_value([label]).run()
    assert button(at, "Delete").disabled  # not without the confirmation
    at.checkbox(key="compare:delete:confirm").check().run()
    button(at, "Delete").click().run()
    assert at.session_state["runs"] == [] and RunStore().runs(at.session_state["workspace"]) == []


@pytest.mark.slow
def test_the_web_process_never_loads_tensorflow():
    """Data, Build, Train (a real run, in a worker), Compare with its panels and downloads."""
    script = """
import time
from core.datasets.described import load_described
from core.model.presets import presets_for
from core.runs.queue import enqueue, queued_record
from core.runs.store import RunStore
from app_pages.parts.visitor import DEFAULT_DATASET

for page in ("app_pages/data.py", "app_pages/build.py", "app_pages/train.py"):
    at.switch_page(page).run()
    assert not at.exception and not at.error, (page, at.exception, at.error)
at.number_input(key="train:mnist_5k:epochs").set_value(1).run()
next(b for b in at.button if b.label == "Train").click().run()
store, deadline = RunStore(), time.monotonic() + 240
while any(r["status"] in ("queued", "running") for r in store.runs(ids=at.session_state["runs"])):
    assert time.monotonic() < deadline, "the runs did not finish"
    time.sleep(0.3)
at.run()
assert [r["status"] for r in store.runs(ids=at.session_state["runs"])] == ["completed", "completed"]
at.switch_page("app_pages/compare.py").run()
assert not at.exception and not at.error, (at.exception, at.error)
labels = [button.proto.label for button in at.get("download_button")]
assert labels.count("Model (.keras)") == 2 and labels.count("Keras script") == 2, labels
assert len(at.get("vega_lite_chart")) >= 3
"""
    assert_web_process_stays_light(script, timeout=400)


def test_a_failed_run_shows_its_reason_on_the_train_page(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNS_DB", str(tmp_path / "runs.db"))
    store = RunStore()
    dataset = load_described(DEFAULT_DATASET)
    specs = presets_for(dataset.signature)
    records = [
        queued_record(DEFAULT_DATASET, dataset.info, dataset.signature, specs[n]) for n in ("CNN", "LSTM")
    ]
    failed, cancelled = enqueue(store, records, "mine")
    assert store.claim_run("a worker elsewhere")["id"] == failed
    store.end_run(failed, "failed", "training stopped with RuntimeError: kernel exploded")
    store.cancel_queued([cancelled], "mine")
    at = app()
    at.query_params["workspace"] = "mine"
    at.session_state["runs"] = [failed, cancelled]
    open_page(at, "app_pages/train.py")
    assert "Training stopped with RuntimeError: kernel exploded." in [
        shown(error.value) for error in at.error
    ]
    assert [expander.label.split(" · ")[:2] for expander in at.expander] == [
        ["LSTM", "stopped"],
        ["CNN", "failed"],
    ]
    # the newest run is open, and so is a failure of the last minutes below it
    assert [expander.proto.expanded for expander in at.expander] == [True, True]


@pytest.mark.slow
def test_a_run_on_uploaded_data_trains_in_a_worker_from_the_stored_upload():
    rows = "\n".join(f"{step},{math.sin(step / 5):.4f}" for step in range(300))
    data = f"step,value\n{rows}\n".encode()
    at = app()
    at.session_state["upload_bytes"] = data
    at.session_state["choice"] = {
        "id": "upload:wave.csv",
        "settings": {},
        "upload": {
            "kind": "series",
            "name": "wave.csv",
            "options": {"time_column": None, "value_columns": ["value"]},
        },
    }
    open_page(at, "app_pages/train.py")
    at.number_input(key="train:upload:wave.csv:epochs").set_value(1).run()
    at.multiselect(key="train:models:upload:wave.csv").set_value(["CNN"]).run()
    button(at, "Train").click().run()
    [run] = wait_for_runs(at)
    assert run["status"] == "completed", run["reason"]
    upload = run["config"]["dataset"]["upload"]
    assert RunStore().upload(upload["sha256"]) == data
