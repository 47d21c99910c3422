"""Match parameters: models scaled to one parameter budget land within 5% of it, keep their structure and
still validate; a budget out of reach is one sentence; the CLI, sweeps and the Build page use it.
"""

from __future__ import annotations

import json

import pytest
from helpers import block_training, cli_with_store, small, sweep_file
from streamlit.testing.v1 import AppTest
from test_app import APP, button, open_page

from core.cli import main
from core.errors import UserError
from core.model.layers import KINDS
from core.model.param_match import SMALLEST, TOLERANCE, Matched, match_models, match_params, read_target
from core.model.presets import presets_for
from core.model.spec import ModelSpec
from core.model.trace import Limits, trace_model, validate
from core.runs.pool import WorkerPool
from core.runs.store import RunStore
from core.runs.sweep import read_sweep
from core.shapes import Signature

PRESETS = {  # a CNN, an LSTM, a GRU and a TCN (where the data has one) on images, text and series
    "digits_8x8": ["CNN", "LSTM", "GRU", "CNN+LSTM"],
    "rotten_tomatoes": ["CNN", "LSTM", "GRU", "Dilated causal CNN (TCN)"],
    "shakespeare": ["CNN", "LSTM", "GRU", "Dilated causal CNN (TCN)"],
    "sunspots": ["CNN", "Stacked LSTM (Keras example)", "GRU", "Dilated causal CNN (TCN)"],
}
CASES = [(dataset_id, name) for dataset_id, names in PRESETS.items() for name in names]


def signature_of(dataset_id: str) -> Signature:
    return small(dataset_id).signature


def widths(spec: ModelSpec) -> list[int]:
    return [layer[name] for layer in spec.layers for name in KINDS[layer["kind"]].widths]


def assert_same_structure(before: ModelSpec, after: ModelSpec, limits: Limits) -> None:
    """Same name, same layers in the same order, the same params but widths, every width in its limits."""
    assert after.name == before.name
    assert [layer["kind"] for layer in after.layers] == [layer["kind"] for layer in before.layers]
    for old, new in zip(before.layers, after.layers, strict=True):
        kind = KINDS[old["kind"]]
        assert set(new) == set(old)
        assert {k: v for k, v in new.items() if k not in kind.widths} == {
            k: v for k, v in old.items() if k not in kind.widths
        }
        for param in kind.params:
            if param.name in kind.widths:
                assert isinstance(new[param.name], int)
                assert max(1, param.min) <= new[param.name] <= min(param.max, limits.max_units)


def assert_matched(matched: Matched, target: int, signature: Signature, limits: Limits) -> None:
    assert abs(matched.after - target) <= TOLERANCE * target, (matched.spec.name, matched.after, target)
    assert validate(matched.spec, signature, limits).total_params == matched.after


@pytest.mark.parametrize(("dataset_id", "name"), CASES, ids=[f"{d}-{n}" for d, n in CASES])
@pytest.mark.parametrize("target", [20_000, 120_000, 1_000_000])
def test_a_preset_lands_within_5_percent_of_a_number(dataset_id, name, target):
    signature, limits = signature_of(dataset_id), Limits()
    spec = presets_for(signature)[name]
    matched = match_params(spec, signature, target, limits)
    assert matched.before == trace_model(spec, signature).total_params
    assert_matched(matched, target, signature, limits)
    assert_same_structure(spec, matched.spec, limits)
    grew = target > matched.before
    pairs = zip(widths(spec), widths(matched.spec), strict=True)
    assert all((new >= old) if grew else (new <= old) for old, new in pairs)


@pytest.mark.parametrize("dataset_id", PRESETS)
def test_every_preset_matches_the_smallest(dataset_id):
    signature, limits = signature_of(dataset_id), Limits()
    specs = list(presets_for(signature).values())
    counts = [trace_model(spec, signature).total_params for spec in specs]
    matched = match_models(specs, signature, SMALLEST, limits)
    smallest = min(counts)
    for spec, model in zip(specs, matched, strict=True):
        assert_matched(model, smallest, signature, limits)
        assert_same_structure(spec, model.spec, limits)
    assert matched[counts.index(smallest)].spec == specs[counts.index(smallest)]  # it is its own target


def test_a_model_already_within_5_percent_is_left_as_it_is():
    signature = signature_of("sunspots")
    spec = presets_for(signature)["GRU"]
    before = trace_model(spec, signature).total_params
    matched = match_params(spec, signature, round(before * 1.04))
    assert matched.spec == spec and matched.before == matched.after == before
    assert str(matched) == f"GRU: {before:,} parameters, already within 5% of the target: unchanged"


def test_recurrent_units_grow_by_the_square_root_of_the_count():
    """Units enter an LSTM's count squared: four times the parameters take about twice the units."""
    signature = signature_of("sunspots")
    spec = ModelSpec.from_dict({"name": "Wide LSTM", "layers": [{"kind": "LSTM", "units": 100}]})
    before = trace_model(spec, signature).total_params
    matched = match_params(spec, signature, 4 * before)
    assert 190 <= matched.spec.layers[0]["units"] <= 210
    assert str(matched).startswith(f"Wide LSTM: {before:,} -> ")


def test_a_target_below_what_the_data_fixes_is_one_sentence_with_the_nearest():
    signature = signature_of("digits_8x8")
    spec = presets_for(signature)["CNN"]
    smallest = ModelSpec(
        spec.name, [{**layer, **dict.fromkeys(KINDS[layer["kind"]].widths, 1)} for layer in spec.layers]
    )
    floor = trace_model(smallest, signature).total_params
    with pytest.raises(UserError) as error:
        match_params(spec, signature, floor // 2)
    assert str(error.value) == (
        f"CNN cannot be matched to {floor // 2:,} parameters: "
        f"with every width at its smallest it still has {floor:,}."
    )


def test_a_target_between_two_steps_of_the_factor_is_one_sentence():
    """On 5,000-word reviews each unit of embedding width is 5,000 parameters: 8,000 lies between steps."""
    signature = signature_of("rotten_tomatoes")
    with pytest.raises(UserError) as error:
        match_params(presets_for(signature)["CNN"], signature, 8_000)
    assert str(error.value) == (
        "CNN cannot be matched to 8,000 parameters: one factor on its widths gives 5,026 or 10,041, "
        "and rounding each either way at best 10,041."
    )


def test_a_target_beyond_the_widths_limits_is_one_sentence():
    signature, limits = signature_of("sunspots"), Limits(max_units=16)
    spec = ModelSpec.from_dict({"name": "GRU", "layers": [{"kind": "GRU", "units": 8}]})
    largest = trace_model(ModelSpec("GRU", [{**spec.layers[0], "units": 16}]), signature).total_params
    with pytest.raises(
        UserError, match=f"with every width at its largest allowed it reaches only {largest:,}"
    ):
        match_params(spec, signature, 100_000, limits)
    matched = match_params(spec, signature, largest, limits)
    assert matched.spec.layers[0]["units"] == 16


def test_targets_and_models_that_cannot_be_matched_are_told():
    signature = signature_of("sunspots")
    flat = ModelSpec.from_dict({"name": "Flat", "layers": [{"kind": "Flatten"}]})
    with pytest.raises(UserError, match="Flat cannot be matched to 5,000 parameters: it has no layer with"):
        match_params(flat, signature, 5_000)
    broken = ModelSpec.from_dict({"name": "Broken", "layers": [{"kind": "Conv2D"}]})
    with pytest.raises(UserError, match=r"^Broken cannot be matched until it is valid \(Layer 1 \(Conv2D\)"):
        match_models([broken, flat], signature)
    with pytest.raises(UserError, match="above this server's cap of 1,000"):
        match_params(flat, signature, 2_000, Limits(max_params=1_000))
    with pytest.raises(UserError, match="Pick at least one model"):
        match_models([], signature)


def test_one_model_out_of_reach_fails_the_match_and_changes_no_spec():
    signature = signature_of("digits_8x8")
    flat = ModelSpec.from_dict({"name": "Flat", "layers": [{"kind": "Flatten"}]})
    specs = [presets_for(signature)["LSTM"], flat]
    copies = [ModelSpec.from_dict(spec.to_dict()) for spec in specs]
    with pytest.raises(UserError, match=r"^Flat cannot be matched to 5,000 parameters"):
        match_models(specs, signature, 5_000)
    assert specs == copies


@pytest.mark.parametrize(
    ("value", "target"), [("smallest", SMALLEST), ("5000", 5000), (5000, 5000), (" 12 ", 12)]
)
def test_a_target_from_a_file_or_option_is_read(value, target):
    assert read_target(value) == target


@pytest.mark.parametrize("value", ["0", "-5", "5e3", "lots", 0, 2.5, True, None, [5000], 10**12])
def test_a_bad_target_is_one_sentence(value):
    with pytest.raises(UserError, match=r"^match_params must be a whole number of parameters from 1 to"):
        read_target(value)


# ---- command line and sweeps ---------------------------------------------------------------------


@pytest.mark.slow
def test_train_match_params_trains_the_scaled_model_and_records_it(tmp_path):
    out = tmp_path / "run.json"
    result = cli_with_store(
        tmp_path,
        *("train", "--dataset", "digits_8x8", "--model", "GRU", "--match-params", "5000"),
        *("--epochs", "1", "--limit", "128", "--out", str(out)),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads(out.read_text())
    assert f"GRU: 14,858 -> {record['params']:,} parameters (" in result.stdout
    assert abs(record["params"] - 5000) <= 250 and record["status"] == "completed"
    assert [layer["kind"] for layer in record["config"]["model"]["layers"]] == ["GRU"]
    assert record["config"]["model"]["layers"][0]["units"] < 64


def test_train_match_params_out_of_reach_is_one_line(tmp_path, monkeypatch, capsys):
    block_training(monkeypatch)  # nothing may get as far as training
    monkeypatch.setenv("RUNS_DB", str(tmp_path / "runs.db"))
    args = ["train", "--dataset", "digits_8x8", "--model", "CNN", "--match-params"]
    assert main([*args, "100"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: CNN cannot be matched to 100 parameters: ") and err.count("\n") == 1
    assert main([*args, "0"]) == 2
    assert "argument --match-params: must be a whole number from 1" in capsys.readouterr().err
    with pytest.raises(ImportError, match=r"core\.training"):
        main([*args, "8000"])
    assert capsys.readouterr().out.startswith("CNN: 21,386 -> ")


SWEEP = """
datasets: [sunspots, digits_8x8]
models:
  - CNN
  - GRU
  - {name: Tiny TCN, layers: [{kind: Conv1D, padding: causal, dilation_rate: 2}, {kind: Flatten}]}
seeds: [1, 2]
"""


def test_a_sweep_scales_every_planned_model(tmp_path):
    plan = read_sweep(sweep_file(tmp_path, SWEEP + "match_params: 4000\n"))
    assert len(plan.runs) == 12 and len(plan.matched) == 6
    for run in plan.runs:
        params = validate(run.spec, run.dataset.signature).total_params
        assert abs(params - 4000) <= 200
    assert [(dataset_id, m.spec.name) for dataset_id, m in plan.matched][:3] == [
        ("sunspots", "CNN"),
        ("sunspots", "GRU"),
        ("sunspots", "Tiny TCN"),
    ]
    smallest = read_sweep(sweep_file(tmp_path, SWEEP + "match_params: 4000\n"), SMALLEST)  # the option wins
    for dataset_id in ("sunspots", "digits_8x8"):
        models = [model for where, model in smallest.matched if where == dataset_id]
        target = min(model.before for model in models)
        assert all(abs(model.after - target) <= TOLERANCE * target for model in models)


def test_a_sweeps_match_params_mistakes_are_one_line(tmp_path, monkeypatch, capsys):
    block_training(monkeypatch)
    monkeypatch.setenv("RUNS_DB", str(tmp_path / "runs.db"))
    plan = sweep_file(tmp_path, SWEEP + "match_params: many\n")
    assert main(["sweep", str(plan)]) == 2
    assert capsys.readouterr().err.startswith("error: match_params must be a whole number of parameters")
    assert main(["sweep", str(plan), "--match-params", "150"]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("error: On sunspots: CNN cannot be matched to 150 parameters") and err.count("\n") == 1
    )


# ---- the Build page ------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_build_control_shows_before_and_after_and_replaces_the_specs(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNS_DB", str(tmp_path / "runs.db"))
    monkeypatch.setattr(WorkerPool, "ensure", lambda self: None)  # queued runs stay queued for the check
    at = open_page(AppTest.from_file(APP, default_timeout=60).run(), "app_pages/build.py")
    signature = signature_of("mnist_5k")
    models = at.session_state["models"]["mnist_5k"]
    before = {name: ModelSpec.from_dict(model["spec"]) for name, model in models.items()}
    counts = {name: trace_model(spec, signature).total_params for name, spec in before.items()}
    assert next(m for m in at.multiselect if m.label == "Models to match").value == ["CNN", "LSTM"]

    at.radio(key="build:match:target:mnist_5k").set_value("A number").run()
    at.number_input(key="build:match:number:mnist_5k").set_value(100).run()
    at.button(key="build:match").click().run()
    assert [error.value for error in at.error] == [
        "CNN cannot be matched to 100 parameters\\: with every width at its smallest it still has 520."
    ]
    unchanged = at.session_state["models"]["mnist_5k"]
    assert {name: model["spec"] for name, model in unchanged.items()} == {
        name: spec.to_dict() for name, spec in before.items()
    }

    at.radio(key="build:match:target:mnist_5k").set_value("The smallest of them").run()
    at.button(key="build:match").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert list(table["Model"]) == ["CNN", "LSTM"]
    assert list(table["Parameters before"]) == [counts["CNN"], counts["LSTM"]]
    cnn = at.session_state["models"]["mnist_5k"]["CNN"]
    scaled = ModelSpec.from_dict(cnn["spec"])
    after = trace_model(scaled, signature).total_params
    assert list(table["Parameters after"]) == [after, counts["LSTM"]]
    assert table["Change %"][0] == round(100 * (after - counts["CNN"]) / counts["CNN"], 1)
    assert abs(after - counts["LSTM"]) <= TOLERANCE * counts["LSTM"]
    assert_same_structure(before["CNN"], scaled, Limits())
    assert at.number_input(key=f"layer:{cnn['uids'][0]}:filters").value == scaled.layers[0]["filters"] < 32
    assert any(f"{after:,} parameters" in success.value for success in at.success)

    open_page(at, "app_pages/train.py")  # the scaled spec is what a run records
    at.number_input(key="train:mnist_5k:epochs").set_value(1).run()
    at.multiselect(key="train:models:mnist_5k").set_value(["CNN"]).run()
    button(at, "Train").click().run()
    [run] = RunStore().runs(ids=at.session_state["runs"])
    assert run["status"] == "queued" and run["config"]["model"] == scaled.to_dict() and run["params"] == after
