"""The Lab: reproducing Bai et al. (2018) from the command line and its verdicts on constructed runs; cost
against sequence length from the command line, its refusals and its slope fit on constructed timings;
and the Lab page over a store filled beforehand.
"""

from __future__ import annotations

import re
import time

import pytest
from helpers import assert_web_process_stays_light, cli_with_store, shown
from streamlit.testing.v1 import AppTest
from test_app import APP

from core.compare.verdicts import beats_baseline
from core.datasets import load_dataset
from core.errors import UserError
from core.lab import length_cost, paper
from core.model.presets import presets_for
from core.model.spec import ModelSpec
from core.runs.pool import WorkerPool
from core.runs.store import RunStore
from core.shapes import IMAGE, SEQUENCE, Shape, Signature

TCN = paper.TCN
BASELINE_MSE = 0.167
BASELINE_LOSS = 0.6
ADDING = Signature(Shape(SEQUENCE, (100, 2)), "regression", 1)


def finished(record: dict, metrics: dict, at: float = 0.0) -> dict:
    """A planned run as a worker leaves it: completed with these test metrics."""
    return {**record, "status": "completed", "finished": at or time.time(), "metrics": metrics}


def planned_results(
    chosen: paper.Plan, adding: dict[str, list[float]], copy: dict[str, list[float]]
) -> list[dict]:
    """Completed runs of the plan: each model's test MSE on adding (loss on copy memory), seed by seed
    from 1; models missing from ``adding`` or ``copy`` have no runs there.
    """
    results = {"adding": adding, "copy_memory": copy}
    seeds = max(len(values) for values in [*adding.values(), *copy.values()])
    records = []
    for record in paper.planned_runs(chosen, list(range(1, seeds + 1))):
        values = results.get(record["dataset"], {}).get(record["name"], [])
        seed = record["config"]["train"]["seed"]
        if seed > len(values):
            continue
        value = values[seed - 1]
        if record["dataset"] == "adding":
            predictions = {"true": [0.5], "predicted": [0.5 + value], "count": 1, "train_mean": 1.0}
            metrics = {"mse": value, "mae": value, "baseline_mse": BASELINE_MSE, "predictions": predictions}
        else:
            metrics = {
                "loss": value,
                "accuracy": 0.1,
                "baseline_loss": BASELINE_LOSS,
                "baseline_accuracy": 0.12,
            }
        records.append(finished(record, metrics))
    return records


def verdict(made: paper.Report, dataset: str, model: str | None) -> paper.Verdict:
    return next(v for v in made.verdicts if v.dataset == dataset and v.model == model)


# ---- reproduce: the command line -------------------------------------------------------------------


@pytest.mark.slow
def test_lab_reproduce_quick_trains_the_plan_through_the_workers_and_prints_the_verdicts(tmp_path):
    done = cli_with_store(tmp_path, "lab", "reproduce", "--quick", "--workspace", "quick")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "8 of 8 runs completed" in done.stdout and "?workspace=quick" in done.stdout
    runs = RunStore(tmp_path / "runs.db").runs("quick")
    assert sorted((run["dataset"], run["name"]) for run in runs) == sorted(
        (dataset, model) for dataset in ("adding", "copy_memory") for model in paper.MODELS
    )
    assert all(run["status"] == "completed" and run["config"]["train"]["epochs"] == 1 for run in runs)
    assert {run["config"]["dataset"]["settings"]["length"] for run in runs} == {20, 10}
    table = [line for line in done.stdout.splitlines() if " paper " in line]
    assert len(table) == 16  # the paper's four tasks x four models
    for line in table:
        trained = line.split()[0] in ("Adding", "Copy")
        assert ("ours –" in line) != trained and line.endswith((paper.TOO_LITTLE, paper.NOT_IN_PLAN)), line
    claims = [line for line in done.stdout.splitlines() if line.startswith("  [")]
    assert len(claims) == 10  # per task: four models learn it or not, and which is best
    assert all(line.startswith(f"  [{paper.TOO_LITTLE}]") for line in claims), claims
    assert paper.PLUMBING in done.stdout and "T = 20, 200 samples, 1 epoch" in done.stdout
    assert "Not in this plan: Sequential MNIST, Permuted MNIST" in done.stdout
    assert paper.CITATION in done.stdout


# ---- reproduce: the verdicts --------------------------------------------------------------------


def test_each_claim_is_reproduced_not_reproduced_or_not_run_against_the_baseline():
    chosen = paper.plan()
    adding = {"GRU": [0.010, 0.011, 0.012], TCN: [0.030, 0.031, 0.032]}
    adding |= {"LSTM": [0.166, 0.167, 0.168], "SimpleRNN": [0.17, 0.168, 0.169]}
    copy = {TCN: [0.58, 0.6, 0.61], "LSTM": [0.6] * 3, "GRU": [0.59, 0.58, 0.61]}  # no SimpleRNN run
    records = planned_results(chosen, adding, copy)
    made = paper.report(chosen, records)
    for model in paper.MODELS:  # GRU and TCN learn adding, LSTM and SimpleRNN stay at the baseline
        assert verdict(made, "adding", model).status == paper.REPRODUCED
    best = verdict(made, "adding", None)
    assert best.claim.startswith("GRU is best on the adding problem") and best.status == paper.REPRODUCED
    assert "Welch's t-test" in best.detail and "so GRU is better" in best.detail
    assert "GRU 0.011, Dilated causal CNN (TCN) 0.031" in best.detail
    tcn = verdict(made, "copy_memory", TCN)  # only its first seed beats the baseline
    assert tcn.claim == f"{TCN} learns copy memory at T = 1000" and tcn.status == paper.NOT_REPRODUCED
    assert (
        "The runs of 1 of its 3 seeds beat the baseline" in tcn.detail
        and "so it does not learn it" in tcn.detail
    )
    assert "T = 50, 10,000 samples, 8 epochs" in tcn.detail
    gru = verdict(made, "copy_memory", "GRU")  # two of its three seeds beat the baseline: it learns it
    assert gru.status == paper.NOT_REPRODUCED and "so it learns it" in gru.detail
    for run in records:  # each claim tells each of its runs' verdict against the baseline, seed by seed
        said = verdict(made, run["dataset"], run["name"]).detail
        assert f"Seed {run['config']['train']['seed']}: {beats_baseline(run).sentence}" in said
    assert verdict(made, "copy_memory", "SimpleRNN").status == paper.NOT_RUN
    assert verdict(made, "copy_memory", None).status == paper.NOT_RUN
    assert made.left_out == ["Sequential MNIST", "Permuted MNIST"]
    assert {v.dataset for v in made.verdicts} == {"adding", "copy_memory"}
    rows = made.rows.set_index(["Task", "Model"])
    assert rows.loc[("Adding problem", "GRU"), "Ours"] == "0.011 ± 0.001 (3 seeds)"
    assert rows.loc[("Adding problem", "GRU"), "Paper"] == "5.3e-05"
    assert rows.loc[("Copy memory", "SimpleRNN"), "Ours"] == "–"
    assert rows.loc[("Sequential MNIST", TCN), "Verdict"] == paper.NOT_IN_PLAN


@pytest.mark.parametrize(
    ("gru", "tcn", "status", "said"),
    [
        ([0.010, 0.050, 0.020], [0.015, 0.045, 0.030], paper.INCONCLUSIVE, "not rare enough"),
        ([0.010, 0.011, 0.012], [0.0010, 0.0011, 0.0012], paper.NOT_REPRODUCED, "so Dilated causal"),
        ([0.010], [0.030], paper.INCONCLUSIVE, "Not tested. No paired test applies"),
        ([0.030], [0.010], paper.INCONCLUSIVE, "Not tested. No paired test applies"),
        ([0.20, 0.21], [0.001, 0.002], paper.NOT_REPRODUCED, "GRU does not beat the baseline"),
    ],
)
def test_which_model_is_best_is_judged_by_a_significance_test_where_one_applies(gru, tcn, status, said):
    chosen = paper.plan()
    stuck = [0.167] * len(gru)
    adding = {"GRU": gru, TCN: tcn, "LSTM": stuck, "SimpleRNN": stuck}
    best = verdict(paper.report(chosen, planned_results(chosen, adding, {})), "adding", None)
    assert best.status == status and said in best.detail, best


def test_the_quick_plan_judges_no_claim_whatever_its_runs_score():
    quick = paper.plan(quick=True)
    assert paper.plan().judges and not quick.judges
    learnt = {model: [0.001, 0.002] for model in paper.MODELS}  # every model far below the baseline
    made = paper.report(quick, planned_results(quick, learnt, {"GRU": [0.1, 0.1]}))
    judged = [verdict for verdict in made.verdicts if verdict.status != paper.NOT_RUN]
    assert len(judged) == 6 and {verdict.status for verdict in judged} == {paper.TOO_LITTLE}
    assert all(verdict.detail.endswith(paper.UNJUDGED) for verdict in judged)
    rows = made.rows.set_index(["Task", "Model"])
    assert rows.loc[("Adding problem", "GRU"), "Verdict"] == paper.TOO_LITTLE
    assert rows.loc[("Copy memory", TCN), "Verdict"] == paper.NOT_RUN
    assert made.lines()[1] == paper.PLUMBING


def test_a_single_seed_learns_where_its_run_beats_the_baseline():
    chosen = paper.plan()
    records = planned_results(chosen, {"GRU": [0.01], "LSTM": [0.2]}, {})
    made = paper.report(chosen, records)
    gru, lstm = verdict(made, "adding", "GRU"), verdict(made, "adding", "LSTM")
    assert "Its run beats the baseline, so it learns it." in gru.detail and gru.status == paper.REPRODUCED
    assert "Its run does not beat the baseline, so it does not learn it." in lstm.detail
    for run in records:
        assert beats_baseline(run).sentence in verdict(made, "adding", run["name"]).detail
    assert "Seed " not in gru.detail  # one seed: the engine's sentence alone
    assert [run["name"] for run in made.runs["adding"]] == ["LSTM", "GRU"] and "copy_memory" not in made.runs


def test_a_seed_trained_twice_counts_once_by_its_newest_run():
    chosen = paper.plan(quick=True)
    records = planned_results(chosen, {model: [0.01] for model in paper.MODELS}, {})
    older = finished(records[0], {**records[0]["metrics"], "mse": 9.0}, at=1.0)
    made = paper.report(chosen, [older, *records])
    assert (made.rows["Ours"][:4] == "0.01").all()


# ---- cost against sequence length -------------------------------------------------------------------


@pytest.mark.slow
def test_lab_cost_measures_through_the_store_and_prints_slopes(tmp_path):
    models = ("LSTM", TCN)
    done = cli_with_store(tmp_path, "lab", "cost", "--models", *models, "--lengths", "16,32")
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    for model in models:
        measured = [line for line in lines if line.startswith(model) and "samples/s" in line]
        assert [re.search(r" T +(\d+) ", line)[1] for line in measured] == ["16", "32"], measured
        assert any(line.startswith(f"log-log slope of {model}: training ") for line in lines)
    assert "Training time per sample" in done.stdout and "Measured on " in done.stdout
    calibrations = RunStore(tmp_path / "runs.db").calibrations(
        [
            point.key
            for point in length_cost.plan(presets_for(ADDING), ADDING, (16, 32))
            if point.model in models
        ]
    )
    assert len(calibrations) == 4 and all(found["status"] == "done" for found in calibrations.values())
    refused = cli_with_store(tmp_path, "lab", "cost", "--lengths", "64")
    assert refused.returncode == 2 and refused.stderr.startswith("error: A slope needs two or more")


def big(layers: list[dict]) -> dict[str, ModelSpec]:
    return {"Big": ModelSpec.from_dict({"name": "Big", "layers": layers})}


@pytest.mark.parametrize(
    ("specs", "signature", "lengths", "said"),
    [
        (presets_for(ADDING), ADDING, (64,), "A slope needs two or more distinct lengths"),
        (presets_for(ADDING), ADDING, (32, 9999), "from 2 to 4,096"),
        (presets_for(ADDING), ADDING, tuple(range(2, 16)), "14 lengths to measure; at most 12"),
        (
            presets_for(ADDING),
            Signature(Shape(IMAGE, (8, 8, 1)), "classification", 10),
            (32, 64),
            "a sequence",
        ),
        (
            big([{"kind": "MaxPooling1D", "pool_size": 48}]),
            ADDING,
            (32, 64),
            "Big cannot be measured at T = 32",
        ),
        (
            big([{"kind": "LSTM", "units": 512}]),
            ADDING,
            (32, 1024),
            "multiply-adds per sample for Big at T = 1024",
        ),
        ({f"M{i}": next(iter(presets_for(ADDING).values())) for i in range(9)}, ADDING, (32, 64), "9 models"),
        ({}, ADDING, (32, 64), "Pick at least one model"),
    ],
)
def test_what_cannot_be_measured_is_refused_with_one_sentence_before_any_work(
    specs, signature, lengths, said
):
    with pytest.raises(UserError) as refused:
        length_cost.plan(specs, signature, lengths)
    assert said in str(refused.value) and "\n" not in str(refused.value)


def test_lengths_are_read_as_distinct_whole_numbers():
    assert length_cost.read_lengths("64, 32,128") == (32, 64, 128)
    with pytest.raises(UserError, match="whole numbers separated by commas"):
        length_cost.read_lengths("32,sixty-four")


def constructed(
    points: list[length_cost.Point], powers: dict[str, float], device: str = "2 CPU cores"
) -> dict:
    """Done measurements, seconds per sample growing as T to each model's power (inference twice as fast)."""
    return {
        point.key: {
            "status": "done",
            "reason": "",
            "result": {
                "train_seconds_per_sample": 1e-5 * point.length ** powers[point.model],
                "latency_seconds_per_sample": 5e-6 * point.length ** powers[point.model],
                "device": device,
            },
        }
        for point in points
    }


def test_the_slope_is_fitted_on_log_log_axes_and_told_in_words():
    specs = {name: spec for name, spec in presets_for(ADDING).items() if name in ("LSTM", TCN)}
    points = length_cost.plan(specs, ADDING)
    measured = length_cost.Measured.of(points, constructed(points, {"LSTM": 1.0, TCN: 0.5}))
    fitted = measured.slopes().set_index("model")
    assert fitted.loc["LSTM", "train_slope"] == pytest.approx(1.0)
    assert fitted.loc[TCN, "latency_slope"] == pytest.approx(0.5)
    text = measured.sentence()
    assert text.startswith(
        f"Training time per sample grows more slowly than T for {TCN} (slope 0.50); grows about linearly "
        "with T for LSTM (slope 1.00). Inference time per sample"
    )
    assert f"At T = 1,024, {TCN} trains 32.0 times as many samples per second as LSTM." in text
    assert "one after another" in text and text.endswith("Measured on 2 CPU cores.")
    assert [length_cost.growth(value) for value in (0.1, 0.5, 1.0, 1.5)] == [
        "hardly grows with T",
        "grows more slowly than T",
        "grows about linearly with T",
        "grows faster than T",
    ]


def test_a_failed_or_pending_measurement_is_left_out_of_the_fit():
    specs = {"LSTM": presets_for(ADDING)["LSTM"]}
    points = length_cost.plan(specs, ADDING, (32, 64, 128))
    calibrations = constructed(points[:2], {"LSTM": 2.0})
    calibrations[points[2].key] = {"status": "failed", "reason": "it ran out of memory", "result": None}
    measured = length_cost.Measured.of(points, calibrations)
    assert list(measured.frame["status"]) == ["done", "done", "failed"]
    assert measured.slopes()["train_slope"].iloc[0] == pytest.approx(2.0)
    assert "LSTM                       T   128  not measured: it ran out of memory" in measured.lines()
    assert length_cost.Measured.of(points, {}).sentence() == ""


# ---- the Lab page --------------------------------------------------------------------------------------


@pytest.fixture
def filled_store(tmp_path, monkeypatch):
    """A store holding the default plan's runs (adding learnt by GRU and TCN; no copy memory runs) and the
    benchmark presets' measurements, in workspace "mine"; workers are never started.
    """
    monkeypatch.setenv("RUNS_DB", str(tmp_path / "runs.db"))
    monkeypatch.setattr(WorkerPool, "ensure", lambda self: None)
    store = RunStore(tmp_path / "runs.db")
    adding = {"GRU": [0.0046], TCN: [0.0022], "LSTM": [0.176], "SimpleRNN": [0.181]}
    for record in planned_results(paper.plan(), adding, {}):
        store.save_record(record, "mine")
    signature = load_dataset("adding").signature
    points = length_cost.plan(presets_for(signature), signature)
    store.request_calibrations(length_cost.requests(points))
    powers = {"LSTM": 1.0, "GRU": 1.0, "SimpleRNN": 0.3, TCN: 0.6}
    for key, found in constructed(points, powers).items():
        store.finish_calibration(key, found["result"])
    return store


def lab_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.query_params["workspace"] = "mine"
    at.switch_page("app_pages/lab.py").run()
    assert not at.exception, at.exception
    return at


def test_the_lab_page_shows_ours_beside_the_paper_and_the_cost_against_length(filled_store):
    at = lab_page()
    rows = at.dataframe[0].value.set_index(["Task", "Model"])
    assert (
        rows.loc[("Adding problem", TCN), "Ours"] == "0.0022"
        and rows.loc[("Adding problem", TCN), "Paper"] == "5.8e-05"
    )
    assert rows.loc[("Copy memory", "GRU"), "Verdict"] == paper.NOT_RUN
    claims = [shown(item.value) for item in at.markdown]
    assert any(
        "GRU is best on the adding problem" in claim and "**inconclusive**" in claim for claim in claims
    )
    assert any("T = 100, 10,000 samples, 8 epochs" in claim and "Not tested." in claim for claim in claims)
    assert len(at.get("vega_lite_chart")) == 2  # training and inference, on log-log axes
    assert any("grows about linearly with T for LSTM (slope 1.00) and GRU (slope 1.00)" in c for c in claims)
    assert not at.get("progress")  # nothing is pending: nothing polls


def test_the_lab_page_queues_the_plan_and_the_measurements_for_the_workers(filled_store):
    at = lab_page()
    at.toggle(key="lab:quick").set_value(True).run()
    next(button for button in at.button if button.label == "Train the plan").click().run()
    queued = filled_store.runs(ids=filled_store.queued())
    assert len(queued) == 8 and {run["workspace"] for run in queued} == {"mine"}
    assert {run["config"]["dataset"]["settings"]["samples"] for run in queued} == {200}
    assert at.session_state["lab:runs"] == [run["id"] for run in queued] and at.get("progress")
    assert next(button for button in at.button if button.label == "Train the plan").disabled
    filled_store.cancel_queued([run["id"] for run in queued], "mine")
    at.session_state["choice"] = {"id": "copy_memory", "settings": {"length": 10, "samples": 200}}
    at.run()
    source = next(
        option for option in at.radio(key="lab:cost:source").options if option.startswith("Your models")
    )
    at.radio(key="lab:cost:source").set_value(source).run()
    assert any("Nothing measured yet" in caption.value for caption in at.caption)
    next(button for button in at.button if button.label == "Measure").click().run()
    dataset = load_dataset("copy_memory", at.session_state["choice"]["settings"])
    mine = {name: presets_for(dataset.signature)[name] for name in (TCN, "LSTM")}  # a visitor's first models
    keys = [point.key for point in length_cost.plan(mine, dataset.signature)]
    asked = filled_store.calibrations(keys)
    assert len(asked) == 12 and {found["status"] for found in asked.values()} == {"queued"}
    assert any("0 of 12 measurements made" in str(bar.proto) for bar in at.get("progress"))


CALIBRATED = {  # a calibration's result: a training step of 10 ms, a validation step of 5 ms
    "step_seconds": 0.01,
    "validation_step_seconds": 0.005,
    "epoch_overhead_seconds": 0.0,
    "once_seconds": 1.0,
    "peak_memory_mb": None,
    "data_mb": 0.0,
}


def calibrated(keys) -> dict:
    return {key: {"status": "done", "reason": "", "result": CALIBRATED} for key in keys}


def test_the_plans_time_is_estimated_from_a_calibration_of_each_model():
    chosen = paper.plan()
    requests = paper.calibration_requests(chosen)
    assert len(requests) == 8  # four presets on each of two tasks; seeds share them
    one = paper.seconds(chosen, 1, calibrated(requests), [])
    # per run: 8 epochs of 250 training and 32 validation steps (8,000 and 1,000 samples in batches of 32)
    assert one == pytest.approx(8 * (8 * (250 * 0.01 + 32 * 0.005) + 1.0))
    assert paper.seconds(chosen, 3, calibrated(requests), []) == pytest.approx(3 * one)
    assert paper.seconds(chosen, 1, calibrated(list(requests)[1:]), []) is None


def test_the_measurements_time_is_estimated_from_the_models_calibration_at_the_datas_length():
    specs = {"LSTM": presets_for(ADDING)["LSTM"]}
    points = length_cost.plan(specs, ADDING, (100, 1000))
    requests = length_cost.calibration_requests(points, ADDING)
    assert len(requests) == 1  # one calibration per model, at the data's own length (T = 100)
    # Each point traces once (1 s), then warms up for 2 steps and times steps for half a second (at
    # least 3, at most 20): at T = 100 a training step of 10 ms 2 + 20 times, a prediction a third of it
    # as often; at T = 1000 a step of 100 ms 2 + 5 times, a prediction 2 times and then half a second.
    long = 1 + 7 * 0.1 + 2 * 0.1 / 3 + 0.5
    expected = 1 + 22 * 0.01 * (1 + 1 / 3) + long
    assert length_cost.seconds(points, ADDING, calibrated(requests), {}) == pytest.approx(expected)
    done = constructed(points[:1], {"LSTM": 1.0})  # what is measured already costs nothing
    assert length_cost.seconds(points, ADDING, calibrated(requests), done) == pytest.approx(long)
    assert length_cost.seconds(points, ADDING, {}, {}) is None
    words = [length_cost.about(seconds) for seconds in (4, 38, 370, 5400)]
    assert words == ["about 10 seconds", "about 40 seconds", "about 6 minutes", "about 1.5 hours"]


def test_the_lab_page_estimates_the_plans_time_before_it_starts(filled_store):
    at = lab_page()
    requests = paper.calibration_requests(paper.plan())
    assert filled_store.calibrations(list(requests)) == {}  # opening the Lab starts no work
    at.button(key="lab:estimate:plan").click().run()
    assert any("Estimating the time" in caption.value for caption in at.caption)
    assert set(filled_store.calibrations(list(requests))) == set(requests)  # asked of a worker
    for key in requests:
        filled_store.finish_calibration(key, CALIBRATED)
    at.run()
    minutes = round(paper.seconds(paper.plan(), 1, calibrated(requests), []) / 60)
    estimate = f"About {minutes} minutes on this machine, one after another: an estimate"
    assert any(caption.value.startswith(estimate) for caption in at.caption)
    at.toggle(key="lab:quick").set_value(True).run()
    assert any(paper.PLUMBING in info.value for info in at.info)


def test_the_lab_page_opens_compare_on_its_runs(filled_store):
    at = lab_page()
    assert [button.label for button in at.button if button.label.endswith("on Compare")] == [
        "Adding problem runs on Compare"
    ]
    other = {**filled_store.runs("mine")[0], "id": "other12345", "name": "Mine"}
    filled_store.save_record({**other, "config": {**other["config"], "train": {"epochs": 2}}}, "mine")
    at.button(key="lab:compare:adding").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="compare:group").value == at.session_state["compare:group"]
    chosen = at.multiselect(key=f"compare:runs:{at.session_state['compare:group']}").value
    assert len(chosen) == 4 and all(label.split(" · ")[0] in paper.MODELS for label in chosen)


def test_the_lab_page_renders_without_tensorflow(filled_store):
    assert_web_process_stays_light(
        "at.switch_page('app_pages/lab.py').run()\n"
        "assert not at.exception and not at.error, (at.exception, at.error)"
    )


def test_a_worker_claims_only_the_measurements_it_was_given(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    store.request_calibrations({"older": {"model": {}}, "mine": {"kind": length_cost.KIND}})
    assert store.claim_calibration("me", only=["mine"]) == ("mine", {"kind": length_cost.KIND})
    assert store.claim_calibration("me", only=["mine"]) is None
    assert store.claim_calibration("someone else") == ("older", {"model": {}})


def test_the_plans_say_their_scale_and_the_mnist_switch_adds_both_mnist_tasks():
    default, quick = paper.plan(mnist=True), paper.plan(quick=True, mnist=True)
    assert default.scale("adding") == "T = 100, 10,000 samples, 8 epochs"
    assert quick.scale("perm_mnist") == "14x14 digits, the first 64 training samples, 1 epoch"
    assert paper.plan().scale("seq_mnist") is None
    records = paper.planned_runs(quick, [7])
    assert len(records) == 16 and {record["config"]["train"]["seed"] for record in records} == {7}
    mnist = [record for record in records if record["dataset"].endswith("mnist")]
    assert {record["config"]["dataset"]["limit"] for record in mnist} == {64}
