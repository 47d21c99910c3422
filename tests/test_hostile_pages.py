"""Links, workspace names and bundles from outside, on every page: one sentence or a correct result,
never a Streamlit exception, and nothing they carry rendered as Markdown."""

from __future__ import annotations

import json
import re

import pytest
from helpers import shown
from streamlit.testing.v1 import AppTest
from test_app import APP, PAGES
from test_share import GOOD_MODEL, HOSTILE, comparison, token_of

from core.exchange.bundle import FORMAT, import_into
from core.runs.store import RunStore

UNESCAPED = re.compile(r"(?<!\\)(!\[|\]\(|:red\[|\*\*evil)")  # the marks the hostile texts carry
NAMES = ["![pixel](http://evil.example/x.png)", "**evil** :red[evil] [evil](http://evil.example)"]
BOMB = token_of(comparison(dataset={"id": "shakespeare", "settings": {"sequence_length": 400, "step": 1}}))
STRANGE = token_of(comparison(models=[{**GOOD_MODEL, "name": name} for name in NAMES]))
WORKSPACES = ["../../etc/passwd", "a" * 41, "", "ünïcode", "<script>", "two words", "x\x00y", "%2e%2e"]


def visit_every_page(at: AppTest) -> list[str]:
    """Every page once; returns every message and Markdown text shown on the way."""
    shown = []
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        for kind in ("error", "warning", "info", "success", "markdown", "caption"):
            shown += [element.value for element in getattr(at, kind)]
    return shown


@pytest.mark.parametrize("token", [case[1] for case in HOSTILE], ids=[case[0] for case in HOSTILE])
def test_a_broken_link_is_one_sentence_and_loads_nothing(token):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["share"] = token
    at.run()
    assert not at.exception
    [error] = at.error
    assert shown(error.value).endswith("Nothing was loaded.") and "\n" not in error.value
    assert at.session_state["models"] == {}


def test_a_link_that_would_make_a_huge_dataset_is_refused_before_loading():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["share"] = BOMB
    at.run()
    [error] = at.error
    assert "400,000,000 input values" in shown(error.value) and "40,000,000" in error.value
    assert at.session_state["choice"]["id"] == "mnist_5k"
    visit_every_page(at)


def test_names_from_a_link_are_shown_as_text_on_every_page():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["share"] = STRANGE
    at.run()
    assert list(at.session_state["models"]["sunspots"]) == NAMES
    for text in visit_every_page(at):
        assert not UNESCAPED.search(text), text


@pytest.mark.parametrize("name", WORKSPACES)
def test_a_bad_workspace_name_is_one_sentence(name):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["workspace"] = name
    at.run()
    assert not at.exception
    assert at.session_state["workspace"].startswith("private-")
    [error] = at.error
    assert "A workspace name has 1 to 40 letters" in shown(error.value)


def hostile_run() -> dict:
    """A valid classification run whose every text tries to be Markdown."""
    classes = [NAMES[0], "**evil**"]
    return {
        "id": "r1",
        "name": NAMES[0][:60],
        "family": "rnn",
        "dataset": "rotten_tomatoes",
        "task": "classification",
        "status": "stopped",
        "reason": "[evil](http://evil.example) stopped",
        "params": 10,
        "train_seconds": 1.0,
        "created": 1.0,
        "config": {
            "dataset": {"id": "rotten_tomatoes", "settings": {}},
            "model": {"name": NAMES[0], "layers": [{"kind": "GRU", "units": 8}]},
            "train": {"epochs": 1},
        },
        "history": [
            {
                "epoch": 1,
                "loss": 0.7,
                "val_loss": 0.7,
                "seconds": 1.0,
                "wall_seconds": 1.0,
                "samples_per_second": 9.0,
            }
        ],
        "metrics": {
            "accuracy": 0.5,
            "macro_f1": 0.5,
            "class_names": classes,
            "confusion_matrix": [[1, 1], [1, 1]],
            "examples": [
                {
                    "true": classes[0],
                    "predicted": classes[1],
                    "confidence": 0.6,
                    "text": f"see {NAMES[0]} **evil**",
                }
            ],
        },
    }


def test_a_bundle_with_markdown_in_its_texts_shows_them_as_text(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNS_DB", str(tmp_path / "runs.db"))
    bundle = json.dumps({"format": FORMAT, "version": 1, "runs": [hostile_run()]}).encode()
    assert import_into(RunStore(), bundle, "mine") == (1, 0)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.query_params["workspace"] = "mine"
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception
    texts = [element.value for kind in ("error", "markdown", "caption") for element in getattr(at, kind)]
    assert any("evil" in text for text in texts)
    for text in texts:
        assert not UNESCAPED.search(text), text


def test_a_link_to_a_keras_dataset_downloads_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNS_DB", str(tmp_path / "runs.db"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["share"] = token_of(comparison(dataset={"id": "mnist", "settings": {}}))
    at.run()
    assert not at.exception and not at.error
    assert any("has not downloaded yet" in info.value for info in at.info)
    assert [button.label for button in at.button] == ["Download it and open the comparison"]
    assert RunStore().download("mnist") is None


def test_a_bundle_naming_a_keras_dataset_downloads_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNS_DB", str(tmp_path / "runs.db"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    run = hostile_run()
    run["dataset"] = "mnist"
    run["config"]["dataset"] = {"id": "mnist", "settings": {}}
    bundle = json.dumps({"format": FORMAT, "version": 1, "runs": [run]}).encode()
    import_into(RunStore(), bundle, "mine")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.query_params["workspace"] = "mine"
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception
    assert any("has not been downloaded yet" in shown(caption.value) for caption in at.caption)
    assert RunStore().download("mnist") is None
