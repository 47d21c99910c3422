"""Compare's fairness panels on real runs: seed groups with bands, significance, and disagreement."""

from __future__ import annotations

import pytest
from helpers import cli_with_store, shown
from streamlit.testing.v1 import AppTest
from test_app import APP

from core.runs.pool import WorkerPool
from core.runs.store import RunStore


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory):
    """Two seed groups (CNN and GRU, seeds 1 and 2, one epoch on digits_8x8) in workspace "mine"."""
    folder = tmp_path_factory.mktemp("fair")
    for model in ("CNN", "GRU"):
        done = cli_with_store(
            folder, "train", "--dataset", "digits_8x8", "--model", model, "--epochs", "1", "--seeds", "1,2",
            "--workspace", "mine",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    return folder / "runs.db"


def compare_page(store_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("RUNS_DB", str(store_path))
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.query_params["workspace"] = "mine"
    at.session_state["choice"] = {"id": "digits_8x8", "settings": {}}
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception
    return at


@pytest.mark.slow
def test_seed_groups_show_mean_sd_interval_and_a_test_between_them(store_path, monkeypatch):
    at = compare_page(store_path, monkeypatch)
    headings = [heading.value for heading in at.subheader]
    assert "Seed groups" in headings and "Is the difference real?" in headings
    groups = next(table.value for table in at.table if "Runs" in table.value.columns)
    assert list(groups.index) == ["CNN · seeds 1, 2", "GRU · seeds 1, 2"]
    assert all(" ± " in text and "95% interval" in text for text in groups["Accuracy"])
    tests = next(table.value.reset_index() for table in at.table if "Test" in table.value.columns)
    assert list(tests["Test"]) == ["Welch's t-test"]
    p_value = tests["p-value"][0]
    significant = p_value == "less than 0.001" or float(p_value) < 0.05
    assert (" is better than " in tests["Verdict"][0]) == significant
    assert at.toggle(key="compare:bands").value  # the curves are drawn as bands


@pytest.mark.slow
def test_two_runs_disagreement_table_sums_to_the_test_split(store_path, monkeypatch):
    at = compare_page(store_path, monkeypatch)
    assert "Where two models disagree" in [heading.value for heading in at.subheader]
    runs = RunStore(store_path).runs(workspace="mine")
    table = next(frame.value for frame in at.dataframe if list(frame.value.columns)[-1].endswith("wrong"))
    assert int(table.to_numpy().sum()) == runs[0]["metrics"]["test_results"]["count"]
    tests = next(table.value.reset_index() for table in at.table if "Test" in table.value.columns)
    said = [shown(block.value) for block in at.markdown]
    verdict = f"**Verdict on CNN · seeds 1, 2 against GRU · seeds 1, 2: {tests['Verdict'][0]}.**"
    assert verdict in said  # the same verdict as Results gives, not a test of the two runs alone
    assert any(shown(message.value).startswith("Welch's t-test") for message in [*at.info, *at.success])
    at.selectbox(key="compare:disagree:b").set_value(at.selectbox(key="compare:disagree:a").value).run()
    assert any(message.value == "Choose two different runs." for message in at.info)


def test_train_queues_one_run_per_seed_within_the_visitors_budget(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNS_DB", str(tmp_path / "runs.db"))
    monkeypatch.setattr(WorkerPool, "ensure", lambda self: None)  # queued runs stay queued for the check
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("app_pages/train.py").run()
    at.number_input(key="train:seeds:mnist_5k").set_value(3).run()
    at.button[0].click().run()
    runs = RunStore(tmp_path / "runs.db").runs()
    assert [(run["name"], run["config"]["train"]["seed"]) for run in runs] == [
        ("CNN", 42), ("CNN", 43), ("CNN", 44), ("LSTM", 42), ("LSTM", 43), ("LSTM", 44)
    ]  # fmt: skip
    at.number_input(key="train:seeds:mnist_5k").set_value(10).run()
    at.number_input(key="train:mnist_5k:seed").set_value(100).run()  # seeds 100-109: none trained yet
    at.button[0].click().run()
    at.number_input(key="train:mnist_5k:seed").set_value(200).run()
    at.button[0].click().run()  # 6 + 20 waiting, and 20 more would pass the 40 a visitor may have
    assert len(RunStore(tmp_path / "runs.db").runs()) == 26
    assert any("This would make 46 runs waiting or training; at most 40" in error.value for error in at.error)
