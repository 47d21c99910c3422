"""The run record: one typed definition, born in the queue, versioned in what leaves the app, and
checked whole at every border it comes back through."""

from __future__ import annotations

import json
import math

import pytest
from helpers import finished_run

from core.errors import UserError
from core.exchange.bundle import FORMAT, import_bundle
from core.runs.record import (
    FIELDS,
    FINISHED,
    FORMAT_VERSION,
    UNFINISHED,
    VERSION_KEY,
    RunRecord,
    RunStatus,
)
from core.runs.store import RunStore

METRICS = {"accuracy": 0.5, "macro_f1": 0.5, "class_names": ["a", "b"], "confusion_matrix": [[1, 1], [1, 1]]}
CNN = {"name": "CNN", "layers": [{"kind": "Conv2D"}, {"kind": "Flatten"}]}
DIGITS = {
    "axes": ["height", "width", "channels"],
    "dims": [8, 8, 1],
    "task": "classification",
    "outputs": 10,
    "vocab_size": 0,
}


def outside(**changes: object) -> dict:
    """A finished run's plain form as another copy of the app would write it."""
    run = finished_run("a1b2c3", "CNN", "digits_8x8", "classification", {}, model=CNN)
    return {**RunRecord.from_row(run).to_dict(), **changes}


def test_statuses_are_unfinished_or_finished_never_both():
    assert set(RunStatus) == UNFINISHED | FINISHED and not UNFINISHED & FINISHED
    assert RunStatus.COMPLETED.finished and not RunStatus.RUNNING.finished
    assert RunStatus("stopped") is RunStatus.STOPPED and json.dumps(RunStatus.QUEUED) == '"queued"'


def test_the_plain_form_carries_every_field_and_the_format_version():
    plain = RunRecord.from_outside(outside(metrics=METRICS, signature=DIGITS)).to_dict()
    assert set(plain) == {*FIELDS, VERSION_KEY} and plain[VERSION_KEY] == FORMAT_VERSION
    assert RunRecord.from_outside(json.loads(json.dumps(plain))) == RunRecord.from_outside(plain)


@pytest.mark.parametrize(
    ("label", "metrics", "phrase"),
    [
        ("400-digit metric", {**METRICS, "accuracy": 10**400}, "metrics.accuracy must be a finite number"),
        ("NaN metric", {**METRICS, "accuracy": math.nan}, "metrics.accuracy must be a finite number"),
        ("text metric", {**METRICS, "accuracy": "0.9"}, "metrics.accuracy must be a finite number"),
    ],
)
def test_a_bad_metric_is_refused_at_the_border_in_one_sentence(label, metrics, phrase):
    with pytest.raises(UserError) as refused:
        RunRecord.from_outside(outside(metrics=metrics), "Run 1")
    assert str(refused.value).startswith("Run 1: ") and phrase in str(refused.value)
    assert str(refused.value).count(". ") == 0 and str(refused.value).endswith(".")


@pytest.mark.parametrize(
    ("changes", "phrase"),
    [
        ({VERSION_KEY: FORMAT_VERSION + 1}, f"record version {FORMAT_VERSION + 1}"),
        ({"status": "queued"}, "unknown status"),  # what comes from outside has finished
        ({"params": 10**400}, "parameter count that is not a whole number"),
        ({"created": 10**400}, "created time that is not a number"),
        ({"surprise": 1}, "unknown field 'surprise'"),
        ({"signature": {**DIGITS, "dims": [8, 10**9, 1]}}, r"signature.dims\[1\] must be a whole number"),
        (
            {"signature": {**DIGITS, "axes": ["time", "features", "channels"]}},
            "signature.axes must be a known",
        ),
        ({"signature": {**DIGITS, "task": "forecasting"}}, "signature.task must be the run's own task"),
    ],
)
def test_a_foreign_record_is_refused_in_one_sentence(changes, phrase):
    with pytest.raises(UserError, match=phrase):
        RunRecord.from_outside(outside(**changes))


def test_a_bundle_with_a_400_digit_metric_is_refused_not_crashed():
    bundle = json.dumps(
        {"format": FORMAT, "version": 1, "runs": [outside(metrics={**METRICS, "macro_f1": 10**400})]}
    )
    with pytest.raises(UserError, match=r"^Run 1 of the bundle: metrics.macro_f1 must be a finite number"):
        import_bundle(bundle.encode(), "class")


def test_a_record_of_the_first_format_without_a_version_is_still_read():
    older = {key: value for key, value in outside().items() if key not in (VERSION_KEY, "signature")}
    assert RunRecord.from_outside(older).signature is None


def test_the_store_gives_back_what_the_queue_made(tmp_path):
    from core.datasets import load_dataset
    from core.model.presets import presets_for
    from core.runs.queue import enqueue, queued_record

    dataset = load_dataset("digits_8x8")
    record = queued_record(
        {"id": "digits_8x8", "settings": {}},
        dataset.info,
        dataset.signature,
        presets_for(dataset.signature)["CNN"],
    )
    store = RunStore(tmp_path / "runs.db")
    [run_id] = enqueue(store, [record], "class")
    kept = store.run(run_id)
    assert kept["status"] == RunStatus.QUEUED and kept["signature"] == dataset.signature.to_dict()
    assert {key: kept[key] for key in FIELDS} == {key: record[key] for key in FIELDS}
