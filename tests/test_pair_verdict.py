"""One verdict for a pair of models, whichever tab or command asks: the test the runs allow, the
smallest p-value their counts can reach, the seeds each model would need, and seeds counted once.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from helpers import cli_with_store, finished_run, shown
from streamlit.testing.v1 import AppTest
from test_app import APP
from test_fairness import accuracy_runs, forecast

from core.compare.pair import compare_pair
from core.compare.seed_groups import seed_groups
from core.compare.significance import WELCH, WILCOXON, group_verdicts, pair_verdict, seeds_needed
from core.lab.lesson_card import family_wins
from core.runs.pool import WorkerPool
from core.runs.queue import seeds_sentence, seeds_to_train
from core.runs.store import RunStore

ERRORS = [0.5, 0.2, 0.9, 0.4, 0.3, 0.6, 0.8, 0.1] * 3


def forecaster(run_id: str, name: str, family: str, seed: int, scale: float) -> dict:
    """A forecasting run of ``name`` with seed ``seed`` whose window errors are ERRORS times ``scale``."""
    run = forecast(run_id, name, [error * scale for error in ERRORS])
    run["family"], run["config"]["train"]["seed"] = family, seed
    run["config"]["model"] = {"name": name, "layers": []}
    return run


@pytest.fixture
def cnn_group_and_one_lstm() -> tuple[list[dict], list[dict]]:
    """Three CNN seeds and one LSTM run on the same series; the LSTM's errors are half the CNN's."""
    cnn = [forecaster(f"cnn{seed}", "CNN", "cnn", seed, 1 + seed / 100) for seed in (1, 2, 42)]
    return cnn, [forecaster("lstm42", "Stacked LSTM", "rnn", 42, 0.5)]


def test_a_single_run_against_a_seed_group_is_tested_on_a_shared_seed(cnn_group_and_one_lstm):
    cnn, lstm = cnn_group_and_one_lstm
    verdict = pair_verdict(cnn, lstm, ("CNN · seeds 1, 2, 42", "Stacked LSTM · seed 42"))
    assert verdict.test == WILCOXON and verdict.p_value < 0.05 and verdict.better == "b"
    assert verdict.compared == ("cnn42", "lstm42")  # the CNN run of the LSTM's seed
    assert verdict.sentence.startswith("Stacked LSTM · seed 42 has only one seed, too few for Welch's")
    assert verdict.n == len(ERRORS) and verdict.smallest_p == pytest.approx(2 * 0.5 ** len(ERRORS))
    assert verdict.seeds_needed is not None and "(an estimate)" in verdict.seed_note


def test_every_tab_and_the_command_line_give_one_verdict(cnn_group_and_one_lstm):
    """Results (every pair of groups), Where they disagree (any two runs of the models) and the lesson
    card's family sentence once gave three answers for this pair; they now ask one engine."""
    cnn, lstm = cnn_group_and_one_lstm
    groups = seed_groups([*cnn, *lstm])
    [(_, _, results)] = group_verdicts(groups)
    disagreement = compare_pair(cnn[0], lstm[0], [*cnn, *lstm]).verdict
    assert results == disagreement
    [card] = family_wins([*cnn, *lstm])
    assert f"RNN won: RNN ({groups[1].label}) leads CNN ({groups[0].label})" in card
    assert f"{WILCOXON} p < 0.001" in card and results.test == WILCOXON and results.p_value < 0.001
    as_json = compare_pair(cnn[0], lstm[0], [*cnn, *lstm]).to_dict()["verdict"]
    assert as_json["better"] == "B" and as_json["p_value"] == results.p_value
    assert {"test", "n", "smallest_p", "seeds_needed", "reason"} <= set(as_json)


def test_two_seeds_each_cannot_reach_below_one_sixth_without_assuming_normal_seeds():
    verdict = pair_verdict(accuracy_runs("CNN", [0.90, 0.91]), accuracy_runs("LSTM", [0.70, 0.71]))
    assert verdict.test == WELCH and verdict.n == 4
    assert verdict.smallest_p == pytest.approx(1 / 6)  # one split of the four values in C(4, 2) = 6
    assert "even a perfect separation reaches only p = 0.167 under an exact permutation test" in (
        verdict.seed_note
    )
    roomy = pair_verdict(accuracy_runs("CNN", [0.9, 0.91, 0.92, 0.9]), accuracy_runs("GRU", [0.7] * 4))
    assert roomy.smallest_p == pytest.approx(1 / 70) and "perfect separation" not in roomy.seed_note


def test_seeds_needed_is_the_textbook_figure_and_unknown_without_a_spread():
    root = math.sqrt(2)
    assert seeds_needed([-1, 1], [root - 1, root + 1]) == 17  # a gap of one sd: 17 per group (Cohen)
    assert seeds_needed([0.5], [0.7]) is None  # one run each: no spread to go by
    assert seeds_needed([0.5, 0.6], [0.55, 0.55]) is None  # equal means: no gap to find
    single = pair_verdict([forecaster("c", "CNN", "cnn", 1, 1.0)], [forecaster("g", "GRU", "rnn", 1, 0.9)])
    assert single.seeds_needed is None and "Train a second seed" in single.seed_note


def regression(run_id: str, name: str, losses: list[float] | None) -> dict:
    """An adding-problem run with these per-example squared errors kept (None: kept none, as before)."""
    metrics = {"mse": float(np.mean(losses or [0.1])), "mae": 0.1, "baseline_mse": 0.17}
    if losses is not None:
        metrics["test_results"] = {"count": 20, "loss": losses, "baseline_loss": [0.17] * 20}
    return finished_run(run_id, name, "adding", "regression", metrics, train={"seed": 1})


def test_two_single_regression_runs_are_tested_on_each_examples_loss():
    lower = [0.01 * i for i in range(1, 21)]
    verdict = pair_verdict([regression("g", "GRU", lower)], [regression("t", "TCN", [0.3] * 20)])
    assert verdict.test == WILCOXON and verdict.better == "a" and verdict.p_value < 0.001
    assert "GRU's loss is lower on 20 and TCN's on 0 of 20 test sequences" in verdict.sentence


def test_a_pair_no_test_applies_to_says_why():
    verdict = pair_verdict([regression("g", "GRU", None)], [regression("t", "TCN", None)])
    assert verdict.test is None and verdict.better is None and verdict.summary == "not tested"
    assert "has no per-example test losses" in verdict.reason and verdict.to_dict()["better"] is None
    assert verdict.sentence.startswith("Not tested.") and verdict.sentence.endswith("their groups.")


def test_a_seed_trained_twice_counts_once_and_is_not_trained_again():
    first, again, other = accuracy_runs("CNN", [0.5, 0.53, 0.56])
    for run, seed, finished in ((first, 42, 1.0), (again, 42, 2.0), (other, 43, 3.0)):
        run["config"]["train"]["seed"], run["finished"] = seed, finished
    [group] = seed_groups([first, again, other])
    assert group.seeds == [42, 43] and group.runs[0] is again and group.repeats == 1
    assert group.label == "CNN · seeds 42, 43"

    already, missing = seeds_to_train(first, [42, 43, 44], [first, other])
    assert (already, missing) == ([42, 43], [44])
    assert (
        seeds_sentence("CNN", already, missing)
        == "CNN: seeds 42 and 43 already trained or queued; training 44."
    )
    failed = {**other, "status": "failed"}
    assert seeds_to_train(first, [42, 43], [failed]) == ([], [42, 43])  # a failed run is trained again
    assert "so nothing new is trained" in seeds_sentence("CNN", [42], [])


def test_train_page_trains_only_the_missing_seeds(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNS_DB", str(tmp_path / "runs.db"))
    monkeypatch.setattr(WorkerPool, "ensure", lambda self: None)  # queued runs stay queued
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("app_pages/train.py").run()
    at.multiselect(key="train:models:mnist_5k").set_value(["CNN"]).run()
    at.button[0].click().run()
    at.number_input(key="train:seeds:mnist_5k").set_value(2).run()
    at.button[0].click().run()
    runs = RunStore(tmp_path / "runs.db").runs()
    assert sorted(run["config"]["train"]["seed"] for run in runs) == [42, 43]
    assert [shown(message.value) for message in at.info] == [
        "CNN: seed 42 already trained or queued; training 43."
    ]


@pytest.mark.slow
def test_the_command_line_trains_only_the_missing_seeds(tmp_path):
    options = ["--dataset", "digits_8x8", "--model", "CNN", "--epochs", "1", "--limit", "120"]
    cli_with_store(tmp_path, "train", *options, "--seed", "1")
    again = cli_with_store(tmp_path, "train", *options, "--seeds", "1,2")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "CNN: seed 1 already trained or queued; training 2." in again.stdout
    assert "CNN over 2 completed of 2 seeds:" in again.stdout
    runs = RunStore(tmp_path / "runs.db").runs()
    assert sorted(run["config"]["train"]["seed"] for run in runs) == [1, 2]
    a, b = runs
    report = json.loads(cli_with_store(tmp_path, "compare", a["id"], b["id"], "--json").stdout)
    assert report["verdict"]["test"] == "McNemar's exact test"  # two seeds of one model: run against run


@pytest.fixture(scope="module")
def series_store(tmp_path_factory: pytest.TempPathFactory):
    """A CNN seed group (seeds 1, 2, 3) and a single GRU run (seed 1) on sunspots, in workspace "mine"."""
    folder = tmp_path_factory.mktemp("series")
    common = ["--dataset", "sunspots", "--epochs", "1", "--limit", "300", "--workspace", "mine"]
    for model, seeds in (("CNN", "1,2,3"), ("GRU", "1")):
        done = cli_with_store(folder, "train", *common, "--model", model, "--seeds", seeds)
        assert done.returncode == 0, done.stderr[-2000:]
    return folder


@pytest.mark.slow
def test_compare_shows_one_verdict_on_every_tab_for_a_group_and_a_single_run(series_store, monkeypatch):
    """Results once said "not tested", the lesson card "untested" and Where they disagree "p < 0.001"."""
    monkeypatch.setenv("RUNS_DB", str(series_store / "runs.db"))
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.query_params["workspace"] = "mine"
    at.session_state["choice"] = {"id": "sunspots", "settings": {}}
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception
    [row] = next(
        table.value.reset_index() for table in at.table if "Seeds needed" in table.value.columns
    ).to_dict("records")
    assert (row["A"], row["B"], row["Test"]) == ("CNN · seeds 1, 2, 3", "GRU · seed 1", WILCOXON)
    said = " ".join(shown(block.value) for block in at.markdown)
    assert f"**Verdict on CNN · seeds 1, 2, 3 against GRU · seed 1: {row['Verdict']}.**" in said
    card = {"CNN · seeds 1, 2, 3 is better than GRU · seed 1": "CNN won: CNN (CNN · seeds 1, 2, 3) leads"}
    card["GRU · seed 1 is better than CNN · seeds 1, 2, 3"] = "RNN won: RNN (GRU · seed 1) leads"
    card["no significant difference"] = "no family won:"
    p_said = "p < 0.001" if row["p-value"] == "less than 0.001" else f"p = {row['p-value']}"
    assert card[row["Verdict"]] in said and f"{WILCOXON} {p_said}" in said

    runs = RunStore(series_store / "runs.db").runs()
    cnn, gru = (next(run for run in runs if run["name"] == name) for name in ("CNN", "GRU"))
    report = json.loads(cli_with_store(series_store, "compare", cnn["id"], gru["id"], "--json").stdout)
    verdict = report["verdict"]
    assert verdict["test"] == WILCOXON and verdict["names"] == ["CNN · seeds 1, 2, 3", "GRU · seed 1"]
    better = {"A": "CNN · seeds 1, 2, 3 is better", "B": "GRU · seed 1 is better", None: "no significant"}
    assert row["Verdict"].startswith(better[verdict["better"]])
    assert verdict["seeds_needed"] == row["Seeds needed"] and verdict["smallest_p"] < 0.05
