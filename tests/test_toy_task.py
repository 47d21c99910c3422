"""A task is one registry entry plus the three pieces keyed by its name (evaluation, metrics check,
Compare panel): a toy task registered that way is offered on Data, Build, Train and Compare."""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers import ROOT
from streamlit.testing.v1 import AppTest

from app_pages.parts.task_panels import PANELS
from core.datasets import DATASETS
from core.model.presets import presets_for
from core.runs.schema import METRICS
from core.runs.store import RunStore
from core.tasks.registry import TASKS

TOY = "toy-classification"
TOY_DATA = "toy_digits"


@pytest.fixture
def toy_task(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the toy task where any new task goes (borrowing classification's pieces), and a dataset
    of it: the small digits under another id, their signature naming the toy task."""
    from core.training.evaluation import EVALUATIONS

    monkeypatch.setitem(TASKS, TOY, replace(TASKS["classification"], name=TOY))
    for pieces in (EVALUATIONS, METRICS, PANELS):
        monkeypatch.setitem(pieces, TOY, pieces["classification"])
    digits = DATASETS["digits_8x8"]

    def load(info, settings):
        dataset = digits.loader(digits, settings)
        return replace(dataset, info=info, signature=replace(dataset.signature, task=TOY))

    toy_data = replace(digits, id=TOY_DATA, name="Toy digits", task=TOY, loader=load)
    monkeypatch.setitem(DATASETS, TOY_DATA, toy_data)


def open_page(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    return at


@pytest.mark.slow
def test_a_toy_task_is_offered_on_every_page(toy_task):
    from core.training.job import TrainingJob

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    open_page(at, "data")
    at.selectbox(key="data:dataset:images:built-in").set_value(TOY_DATA).run()
    assert at.session_state["choice"]["id"] == TOY_DATA

    open_page(at, "build")
    assert next(iter(at.session_state["models"][TOY_DATA])) == "CNN"
    assert f"Toy digits · images · {TOY}" in at.caption[0].value

    open_page(at, "train")
    assert at.number_input(key=f"train:{TOY_DATA}:epochs").value == TASKS[TOY].small_set_training["epochs"]

    dataset = DATASETS[TOY_DATA].load().head(200)
    spec = presets_for(dataset.signature)["CNN"]
    job = TrainingJob(dataset, spec, {"epochs": 1}, store=RunStore(), workspace=at.session_state["workspace"])
    record = job.run()
    assert record["task"] == TOY and record["status"] == "completed" and "accuracy" in record["metrics"]

    open_page(at, "compare")
    table = at.dataframe[0].value
    assert list(table["Model"]) == ["CNN"] and table["Accuracy"].notna().all()
    assert at.get("vega_lite_chart"), "the toy task's Compare panel is drawn"
