from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import small

from core.bundle import MAX_BUNDLE_BYTES, export_bundle, import_bundle
from core.errors import UserError
from core.presets import presets_for
from core.script import reproduce_script, script_name
from core.store import RunStore
from core.training import TrainingJob

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def record() -> dict:
    dataset = small("digits_8x8", 200)
    return TrainingJob(dataset, presets_for(dataset.signature)["CNN"], {"epochs": 2}).run()


def bundle_with(record: dict, **changes) -> bytes:
    bundle = json.loads(export_bundle([record]))
    bundle["runs"][0].update(changes)
    return json.dumps(bundle).encode()


def test_a_bundle_round_trips_into_another_store(record, tmp_path):
    imported = import_bundle(export_bundle([record]).encode())
    assert len(imported) == 1 and imported[0]["id"] != record["id"]
    store = RunStore(tmp_path / "elsewhere.db")
    store.save_record(imported[0], "team")
    [saved] = store.runs("team")
    assert saved["history"] == record["history"]
    assert saved["metrics"]["accuracy"] == record["metrics"]["accuracy"]
    assert saved["config"] == record["config"]


MALFORMED = [
    ("not JSON", lambda r: b"{nope", "not a JSON file"),
    ("not utf-8", lambda r: b"\xff\xfe", "not a JSON file"),
    ("too big", lambda r: b" " * (MAX_BUNDLE_BYTES + 1), "at most 5 MB"),
    (
        "foreign format",
        lambda r: json.dumps({"format": "other", "runs": []}).encode(),
        "not a bundle of this app",
    ),
    (
        "wrong version",
        lambda r: json.dumps({"format": "cnn-rnn-dashboard/runs", "version": 7}).encode(),
        "has version 7",
    ),
    (
        "no runs",
        lambda r: json.dumps({"format": "cnn-rnn-dashboard/runs", "version": 1, "runs": []}).encode(),
        "must hold 1 to 200 runs",
    ),
    ("unknown field", lambda r: bundle_with(r, script="rm -rf /"), "unknown field 'script'"),
    ("bad status", lambda r: bundle_with(r, status="hacked"), "unknown status"),
    ("bad family", lambda r: bundle_with(r, family="transformer"), "unknown family"),
    ("negative params", lambda r: bundle_with(r, params=-1), "parameter count"),
    (
        "unknown layer",
        lambda r: bundle_with(
            r, config={**r["config"], "model": {"name": "x", "layers": [{"kind": "Lambda"}]}}
        ),
        "unknown kind 'Lambda'",
    ),
    (
        "bad training setting",
        lambda r: bundle_with(r, config={**r["config"], "train": {"epochs": 10**6}}),
        "epochs must be at most 200",
    ),
    (
        "unknown dataset",
        lambda r: bundle_with(
            r, dataset="secret", config={**r["config"], "dataset": {"id": "secret", "settings": {}}}
        ),
        "unknown dataset 'secret'",
    ),
    ("history not numbers", lambda r: bundle_with(r, history=[{"epoch": 1, "loss": "NaN"}]), "history"),
    ("infinite metric", lambda r: bundle_with(r, metrics={"accuracy": float("inf")}), "not a finite number"),
]


@pytest.mark.parametrize(("label", "make", "sentence"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_bundles_are_refused_with_a_sentence(record, label, make, sentence):
    with pytest.raises(UserError) as caught:
        import_bundle(make(record))
    assert sentence in str(caught.value) and "\n" not in str(caught.value)


def test_the_exported_script_reproduces_the_metric(record, tmp_path):
    script = tmp_path / script_name(record)
    script.write_text(reproduce_script(record, small("digits_8x8", 200).signature))
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    accuracy = float(result.stdout.strip().splitlines()[-1].split()[-1])
    assert accuracy == pytest.approx(record["metrics"]["accuracy"], abs=0.03)
