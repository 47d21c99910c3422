"""The workspace in the address: a reload, back/forward or a bookmark keeps the visitor's runs, data and
models."""

from __future__ import annotations

from helpers import finished_run
from streamlit.testing.v1 import AppTest
from test_app import APP

from core.runs.store import RunStore

CSV = b"day,temperature\n" + b"".join(f"{day},{50 + day % 7}\n".encode() for day in range(400))


def visit(tmp_path, monkeypatch, workspace: str | None = None) -> AppTest:
    """A fresh browser tab on the app (a reload when ``workspace`` is the address's)."""
    monkeypatch.setenv("RUNS_DB", str(tmp_path / "runs.db"))
    at = AppTest.from_file(APP, default_timeout=60)
    if workspace:
        at.query_params["workspace"] = workspace
    return at.run()


def test_the_workspace_is_in_the_address_from_the_first_page(tmp_path, monkeypatch):
    at = visit(tmp_path, monkeypatch)
    assert not at.exception
    workspace = at.session_state["workspace"]
    assert workspace.startswith("private-") and len(workspace) == len("private-") + 24
    assert at.query_params["workspace"] == workspace
    at.switch_page("app_pages/compare.py").run()
    assert at.query_params["workspace"] == workspace  # still there on another page


def test_a_reload_brings_back_the_runs_the_data_and_the_models(tmp_path, monkeypatch):
    at = visit(tmp_path, monkeypatch)
    workspace = at.session_state["workspace"]
    at.session_state["choice"] = {"id": "sunspots", "settings": {"window": 24}}
    at.switch_page("app_pages/build.py").run()
    models = at.session_state["models"]["sunspots"]
    store = RunStore(tmp_path / "runs.db")
    store.save_record(finished_run("r1", "GRU", "sunspots", "forecasting", {"mae": 1.0}), workspace)

    again = visit(tmp_path, monkeypatch, workspace)
    assert not again.exception and again.session_state["workspace"] == workspace
    assert again.session_state["choice"] == {"id": "sunspots", "settings": {"window": 24}}
    assert again.session_state["models"]["sunspots"] == models
    assert again.session_state["runs"] == ["r1"]
    other = visit(tmp_path, monkeypatch)  # another visitor: a workspace of their own, the defaults
    assert other.session_state["workspace"] != workspace and other.session_state["choice"]["id"] == "mnist_5k"


def test_a_reload_brings_back_an_upload_from_the_store(tmp_path, monkeypatch):
    at = visit(tmp_path, monkeypatch)
    workspace = at.session_state["workspace"]
    upload = {
        "kind": "series",
        "name": "temps.csv",
        "options": {"time_column": "day", "value_column": "temperature"},
    }
    at.session_state["upload_bytes"] = CSV
    at.session_state["choice"] = {"id": "upload:temps.csv", "settings": {}, "upload": upload}
    at.run()

    again = visit(tmp_path, monkeypatch, workspace)
    assert not again.exception
    assert again.session_state["choice"]["upload"] == upload and again.session_state["upload_bytes"] == CSV


def test_a_reload_brings_back_the_training_settings_and_bad_kept_ones_give_the_defaults(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("CNNRNN_WORKERS", "0")  # the cost table asks for calibrations; nobody answers here
    at = visit(tmp_path, monkeypatch)
    workspace = at.session_state["workspace"]
    at.switch_page("app_pages/train.py").run()
    default_epochs = at.number_input(key="train:mnist_5k:epochs").value
    at.number_input(key="train:mnist_5k:epochs").set_value(default_epochs + 3).run()

    again = visit(tmp_path, monkeypatch, workspace)
    again.switch_page("app_pages/train.py").run()
    assert not again.exception
    assert again.number_input(key="train:mnist_5k:epochs").value == default_epochs + 3

    store = RunStore(tmp_path / "runs.db")
    kept = store.workspace(workspace)
    store.save_workspace(
        workspace, {**kept, "training": {"mnist_5k": {**kept["training"]["mnist_5k"], "epochs": -3}}}
    )
    spoiled = visit(tmp_path, monkeypatch, workspace)
    spoiled.switch_page("app_pages/train.py").run()
    assert not spoiled.exception and not spoiled.error
    assert spoiled.number_input(key="train:mnist_5k:epochs").value == default_epochs
    assert any("no longer pass the checks" in info.value for info in spoiled.info)


def test_an_epochs_edit_in_the_same_click_as_train_is_what_gets_queued(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNRNN_WORKERS", "0")  # the runs stay queued
    at = visit(tmp_path, monkeypatch)
    at.switch_page("app_pages/train.py").run()
    epochs = at.number_input(key="train:mnist_5k:epochs")
    chosen = epochs.value + 2
    epochs.set_value(chosen)
    at.button[0].click().run()  # Train, with the edit not yet drawn
    assert not at.exception
    queued = RunStore(tmp_path / "runs.db").runs(workspace=at.session_state["workspace"])
    assert queued and {run["config"]["train"]["epochs"] for run in queued} == {chosen}
