"""Comparison bundles: round trips, a hostile corpus refused with one sentence each, imports that are
all or nothing and never duplicate, and the reproduce script."""

from __future__ import annotations

import copy
import json
import math
import sqlite3
from collections.abc import Callable

import pytest
from helpers import assert_one_sentence, script_result, small

from core import budget
from core.errors import UserError
from core.exchange.bundle import FORMAT, export_bundle, import_bundle, import_into
from core.model.presets import presets_for
from core.runs.store import RunStore
from core.training.job import TrainingJob


@pytest.fixture(scope="module")
def records() -> dict[str, dict]:
    """One short run per task."""
    trained = {}
    for dataset_id, preset in (("digits_8x8", "CNN"), ("sunspots", "CNN"), ("shakespeare", "CNN")):
        dataset = small(dataset_id, 200 if dataset_id == "digits_8x8" else 64)
        job = TrainingJob(dataset, presets_for(dataset.signature)[preset], {"epochs": 2, "batch_size": 32})
        trained[dataset.signature.task] = job.run()
    return trained


@pytest.fixture(scope="module")
def record(records) -> dict:
    return records["classification"]


def bundle_of(*runs: dict) -> bytes:
    return json.dumps({"format": FORMAT, "version": 1, "runs": list(runs)}).encode()


def run_of(record: dict) -> dict:
    return json.loads(export_bundle([record]))["runs"][0]


def changed(task: str, change: Callable[[dict], object]) -> Callable[[dict], bytes]:
    """A bundle of one run of ``task``, after ``change`` edited it in place."""

    def make(records: dict) -> bytes:
        run = run_of(records[task])
        change(run)
        return bundle_of(run)

    return make


def _place(run: dict, path: str) -> tuple:
    """The container and key a dotted path (list indices as numbers) of a run ends at."""
    *parents, last = path.split(".")
    node = run
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node, int(last) if isinstance(node, list) else last


def setting(path: str, value: object) -> Callable[[dict], None]:
    def edit(run: dict) -> None:
        container, key = _place(run, path)
        container[key] = value

    return edit


def removing(path: str) -> Callable[[dict], None]:
    def edit(run: dict) -> None:
        container, key = _place(run, path)
        del container[key]

    return edit


def raw(data: bytes) -> Callable[[dict], bytes]:
    return lambda records: data


C, F, L = "classification", "forecasting", "language-model"
LONG = "x" * 5001
HOSTILE = [
    # the file itself
    ("not JSON", raw(b"{nope"), "not a JSON file"),
    ("not UTF-8", raw(b"\xff\xfe"), "not a JSON file"),
    ("too big", raw(b" " * (budget.BUNDLE_BYTES + 1)), "at most 5 MB"),
    ("deep nesting", raw(b"[" * 100_000 + b"]" * 100_000), "nests too deeply"),
    ("a list", raw(b"[]"), "not a bundle of this app"),
    ("foreign format", raw(json.dumps({"format": "other", "runs": []}).encode()), "not a bundle of this app"),
    ("wrong version", raw(json.dumps({"format": FORMAT, "version": 7}).encode()), "has version 7"),
    ("no runs", raw(bundle_of()), "must hold 1 to 200 runs"),
    ("runs not a list", raw(json.dumps({"format": FORMAT, "version": 1, "runs": {}}).encode()), "1 to 200"),
    ("too many runs", lambda r: bundle_of(*[run_of(r[C])] * 201), "must hold 1 to 200 runs"),
    ("run not an object", raw(bundle_of("run")), "is not an object"),
    # a run's fields
    ("unknown field", changed(C, setting("script", "rm -rf /")), "unknown field 'script'"),
    ("bad status", changed(C, setting("status", "hacked")), "unknown status"),
    ("bad family", changed(C, setting("family", "transformer")), "unknown family"),
    ("negative params", changed(C, setting("params", -1)), "parameter count"),
    ("params a boolean", changed(C, setting("params", True)), "parameter count"),
    ("empty name", changed(C, setting("name", "")), "needs a name"),
    ("long name", changed(C, setting("name", "n" * 61)), "needs a name"),
    ("name a number", changed(C, setting("name", 7)), "needs a name"),
    ("long reason", changed(C, setting("reason", "r" * 501)), "reason that is not a short text"),
    ("NaN training time", changed(C, setting("train_seconds", math.nan)), "training time"),
    ("created a text", changed(C, setting("created", "yesterday")), "created time"),
    ("finished infinite", changed(C, setting("finished", math.inf)), "finished time"),
    ("unknown task", changed(C, setting("task", "ranking")), "unknown task"),
    # its config
    ("no train config", changed(C, removing("config.train")), "config with dataset, model and train"),
    ("config a list", changed(C, setting("config", [])), "config with dataset, model and train"),
    (
        "unknown layer",
        changed(C, setting("config.model", {"name": "x", "layers": [{"kind": "Lambda"}]})),
        "unknown kind 'Lambda'",
    ),
    ("bad training setting", changed(C, setting("config.train.epochs", 10**6)), "epochs must be at most 200"),
    ("training seed a text", changed(C, setting("config.train.seed", "7")), "seed"),
    ("unknown dataset", changed(C, lambda run: _dataset(run, "secret")), "unknown dataset 'secret'"),
    ("two datasets", changed(C, setting("dataset", "mnist_5k")), "two different datasets"),
    ("task against dataset", changed(C, lambda run: _dataset(run, "co2")), "its dataset is for forecasting"),
    ("limit zero", changed(C, setting("config.dataset.limit", 0)), "sample limit"),
    ("upload details", changed(C, setting("config.dataset.upload", {"sha256": "0"})), "id with settings"),
    ("settings a list", changed(C, setting("config.dataset.settings", [])), "id with settings"),
    # its history
    ("history an object", changed(C, setting("history", {})), "history must be a list"),
    (
        "history value a text",
        changed(C, setting("history.0.loss", "NaN")),
        "history[0].loss must be a finite",
    ),
    ("history NaN", changed(C, setting("history.0.loss", math.nan)), "history[0].loss must be a finite"),
    ("history without time", changed(C, removing("history.0.seconds")), "history[0].seconds must be present"),
    ("epochs out of order", changed(C, setting("history.1.epoch", 1)), "numbered 1, 2, 3"),
    ("history too long", changed(C, lambda run: run.update(history=run["history"] * 501)), "at most 1,000"),
    # classification metrics
    ("metrics a list", changed(C, setting("metrics", [])), "metrics must be an object"),
    (
        "accuracy above one",
        changed(C, setting("metrics.accuracy", 1.5)),
        "accuracy must be a finite number from 0 to 1",
    ),
    ("accuracy a text", changed(C, setting("metrics.accuracy", "high")), "accuracy must be a finite number"),
    ("infinite loss", changed(C, setting("metrics.loss", math.inf)), "loss must be a finite number"),
    ("unknown metric", changed(C, setting("metrics.shell", "ls")), "metrics.shell must be one of the known"),
    (
        "no confusion matrix",
        changed(C, removing("metrics.confusion_matrix")),
        "confusion_matrix must be present",
    ),
    (
        "matrix a text",
        changed(C, setting("metrics.confusion_matrix", "[]")),
        "confusion_matrix must be a list",
    ),
    (
        "matrix not square",
        changed(C, lambda run: run["metrics"]["confusion_matrix"][0].pop()),
        "a 10 x 10 table",
    ),
    ("matrix too small", changed(C, setting("metrics.confusion_matrix", [[1]])), "a 10 x 10 table"),
    ("negative count", changed(C, setting("metrics.confusion_matrix.0.0", -3)), "confusion_matrix[0][0]"),
    ("class name a number", changed(C, setting("metrics.class_names.0", 0)), "class_names[0] must be a text"),
    (
        "long class name",
        changed(C, setting("metrics.class_names.0", "c" * 201)),
        "class_names[0] must be a text",
    ),
    (
        "per-class too short",
        changed(C, lambda run: run["metrics"]["per_class"].pop()),
        "a list of 10 classes",
    ),
    (
        "per-class without f1",
        changed(C, removing("metrics.per_class.0.f1")),
        "per_class[0].f1 must be present",
    ),
    (
        "too many examples",
        changed(C, lambda run: _examples(run, 51)),
        "examples must be a list of at most 50",
    ),
    ("example image too big", changed(C, lambda run: _image(run, [[[0]] * 100] * 100)), "image of at most"),
    ("example image bright", changed(C, lambda run: _image(run, [[[300]]])), "image of at most"),
    ("example image ragged", changed(C, lambda run: _image(run, [[[0], [0]], [[0]]])), "image of at most"),
    ("example image empty", changed(C, lambda run: _image(run, [])), "image of at most"),
    ("example text huge", changed(C, lambda run: _example(run, text=LONG)), "text of at most 2,000"),
    ("example without confidence", changed(C, lambda run: _example(run, confidence=None)), "confidence"),
    # forecasting metrics
    ("no forecast", changed(F, removing("metrics.forecast")), "forecast must be present"),
    ("forecast misaligned", changed(F, lambda run: run["metrics"]["forecast"]["truth"].pop()), "same length"),
    (
        "forecast of texts",
        changed(F, setting("metrics.forecast.truth.0", "high")),
        "truth[0] must be a finite",
    ),
    ("forecast too long", changed(F, lambda run: _long_forecast(run)), "at most 5,000 items"),
    ("negative MAE", changed(F, setting("metrics.mae", -1.0)), "mae must be a finite number from 0 up"),
    ("target a list", changed(F, setting("metrics.forecast.target", ["co2"])), "target must be a text"),
    # language-model metrics
    (
        "perplexity below one",
        changed(L, setting("metrics.perplexity", 0.5)),
        "perplexity must be a finite number",
    ),
    (
        "sample text a number",
        changed(L, setting("metrics.samples.0.text", 5)),
        "samples[0].text must be a text",
    ),
    (
        "too many samples",
        changed(L, lambda run: run["metrics"].update(samples=run["metrics"]["samples"] * 4)),
        "at most 10",
    ),
]


def _dataset(run: dict, dataset_id: str) -> None:
    run["dataset"] = run["config"]["dataset"]["id"] = dataset_id


def _example(run: dict, **fields: object) -> None:
    run["metrics"]["examples"] = [{"true": "1", "predicted": "2", "confidence": 0.5, **fields}]
    run["metrics"]["examples"][0] = {k: v for k, v in run["metrics"]["examples"][0].items() if v is not None}


def _examples(run: dict, count: int) -> None:
    run["metrics"]["examples"] = [{"true": "1", "predicted": "2", "confidence": 0.5}] * count


def _image(run: dict, image: object) -> None:
    _example(run, image=image)


def _long_forecast(run: dict) -> None:
    forecast = run["metrics"]["forecast"]
    for key in ("time", "truth", "predicted", "naive"):
        forecast[key] = (forecast[key] * 5001)[:5001]


@pytest.mark.parametrize(("label", "make", "phrase"), HOSTILE, ids=[case[0] for case in HOSTILE])
def test_hostile_bundles_are_refused_with_one_sentence(records, label, make, phrase):
    with pytest.raises(UserError) as caught:
        import_bundle(make(records), "w")
    message = str(caught.value)
    assert phrase in message
    assert_one_sentence(message)


ACCEPTED = [
    ("a round trip", lambda run: None),
    ("MAPE undefined", setting("metrics.mape", math.nan)),
    ("a failed run without metrics", lambda run: run.update(status="failed", reason="boom", metrics={})),
    ("no examples", removing("metrics.examples")),
]


@pytest.mark.parametrize(("label", "change"), ACCEPTED, ids=[case[0] for case in ACCEPTED])
def test_odd_but_valid_runs_are_accepted(records, tmp_path, label, change):
    task = F if label == "MAPE undefined" else C
    run = run_of(records[task])
    change(run)
    store = RunStore(tmp_path / "runs.db")
    assert import_into(store, bundle_of(run), "team") == (1, 0)
    [saved] = store.runs("team")
    assert saved["history"] == run["history"] and saved["config"] == run["config"]


def test_importing_the_same_bundle_twice_keeps_one_copy(record, tmp_path):
    store = RunStore(tmp_path / "runs.db")
    data = export_bundle([record, {**record, "id": "other", "name": "CNN again"}]).encode()
    assert import_into(store, data, "team") == (2, 0)
    assert import_into(store, data, "team") == (0, 2)
    assert import_into(store, data, "another") == (2, 0)
    assert len(store.runs("team")) == 2 and len(store.runs()) == 4


def test_an_import_is_all_or_nothing(record, tmp_path):
    store = RunStore(tmp_path / "runs.db")
    good, bad = run_of(record), run_of(record)
    bad["metrics"]["accuracy"] = 2.0
    with pytest.raises(UserError, match="Run 2 of the bundle"):
        import_into(store, bundle_of(good, bad), "team")
    assert store.runs() == []
    with sqlite3.connect(store.path) as db:  # the store refuses the second run's row half-way
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON runs WHEN NEW.name = 'second' "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    second = {**run_of(record), "name": "second"}
    with pytest.raises(UserError, match=r"could not be saved .* nothing was imported"):
        import_into(store, bundle_of(good, second), "team")
    assert store.runs() == []


def test_uploaded_data_stays_behind_when_a_bundle_is_exported(record):
    uploaded = copy.deepcopy(record)
    uploaded["config"]["dataset"] = {"id": "upload:x.csv", "settings": {}, "upload": {"sha256": "ab"}}
    uploaded["dataset"] = "upload:x.csv"
    [run] = json.loads(export_bundle([uploaded]))["runs"]
    assert run["config"]["dataset"] == {"id": "upload:x.csv", "settings": {}}
    assert import_bundle(bundle_of(run), "w")[0]["dataset"] == "upload:x.csv"


@pytest.mark.slow
def test_the_exported_script_reproduces_the_metric(record, tmp_path):
    accuracy = script_result(record, small("digits_8x8", 200).signature, tmp_path)
    assert accuracy == pytest.approx(record["metrics"]["accuracy"], abs=0.03)
