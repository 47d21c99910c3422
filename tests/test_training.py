from __future__ import annotations

import gc
import json
import math
import weakref
from dataclasses import replace

import numpy as np
import pytest
from helpers import MODALITY_DATASETS, small

from core.datasets import Split
from core.errors import SpecError
from core.model.presets import presets_for
from core.model.trace import trace_model
from core.training.builder import build_model
from core.training.job import TrainingJob

PRESET_CASES = [(name, preset) for name in MODALITY_DATASETS for preset in presets_for(small(name).signature)]


def run(dataset, spec, **settings) -> dict:
    return TrainingJob(dataset, spec, {"epochs": 1, "batch_size": 32, **settings}).run()


@pytest.mark.slow
@pytest.mark.parametrize(("dataset_id", "preset"), PRESET_CASES, ids=[f"{d}-{p}" for d, p in PRESET_CASES])
def test_every_preset_builds_and_trains_one_epoch(dataset_id, preset):
    dataset = small(dataset_id, 64)
    spec = presets_for(dataset.signature)[preset]
    record = run(dataset, spec)
    assert record["status"] == "completed", record["reason"]
    assert len(record["history"]) == 1
    assert {"loss", "val_loss", "seconds", "samples_per_second"} <= set(record["history"][0])
    assert record["params"] == build_model(spec, dataset.signature).count_params()
    assert record["metrics"]["latency_ms"] > 0
    json.dumps(record)


def test_trace_shapes_match_keras_for_every_preset():
    for dataset_id in MODALITY_DATASETS:
        signature = small(dataset_id).signature
        for spec in presets_for(signature).values():
            model = build_model(spec, signature)
            rows = trace_model(spec, signature).rows[1:]
            assert [tuple(layer.output.shape[1:]) for layer in model.layers[1:]] == [
                r.shape.dims for r in rows
            ]


def test_classification_metrics_are_complete():
    dataset = small("digits_8x8", 128)
    metrics = run(dataset, presets_for(dataset.signature)["CNN"])["metrics"]
    assert 0 <= metrics["accuracy"] <= 1 and 0 <= metrics["macro_f1"] <= 1
    assert np.array(metrics["confusion_matrix"]).sum() == len(dataset.test)
    assert len(metrics["per_class"]) == 10
    for example in metrics["examples"]:
        assert example["true"] != example["predicted"]
        assert np.array(example["image"]).shape == (8, 8, 1)


def test_forecasting_metrics_include_the_naive_forecast():
    dataset = small("sunspots", 128)
    metrics = run(dataset, presets_for(dataset.signature)["GRU"])["metrics"]
    for name in ("mae", "rmse", "mape", "naive_mae", "naive_rmse", "naive_mape"):
        assert math.isfinite(metrics[name])
    assert len(metrics["forecast"]["truth"]) == len(metrics["forecast"]["predicted"]) == len(dataset.test)


@pytest.mark.slow
def test_language_model_reports_perplexity_and_generates_text():
    dataset = small("shakespeare", 128)
    metrics = run(dataset, presets_for(dataset.signature)["Char-RNN (Keras example)"])["metrics"]
    assert metrics["perplexity"] == pytest.approx(math.exp(metrics["loss"]))
    assert [sample["temperature"] for sample in metrics["samples"]] == [0.2, 0.5, 1.0]
    assert all(len(sample["text"]) > 0 for sample in metrics["samples"])


@pytest.mark.slow
def test_same_seed_repeats_a_run():
    dataset = small("digits_8x8", 128)
    spec = presets_for(dataset.signature)["SimpleRNN"]
    first, second = run(dataset, spec, epochs=2, seed=7), run(dataset, spec, epochs=2, seed=7)
    assert [h["loss"] for h in first["history"]] == pytest.approx(
        [h["loss"] for h in second["history"]], rel=1e-4
    )


def test_stop_ends_after_the_current_batch_and_keeps_the_partial_run():
    dataset = small("digits_8x8", 1000)

    def stop_at_batch_3(job: TrainingJob) -> None:
        if job.snapshot()["batch"] >= 3:
            job.stop()

    job = TrainingJob(
        dataset,
        presets_for(dataset.signature)["LSTM"],
        {"epochs": 200, "batch_size": 8},
        listener=stop_at_batch_3,
    )
    record = job.run()
    assert record["status"] == "stopped"
    assert len(record["history"]) < 200
    assert "accuracy" in record["metrics"]


def test_a_job_stopped_before_it_starts_never_trains():
    dataset = small("digits_8x8", 64)
    job = TrainingJob(dataset, presets_for(dataset.signature)["GRU"], {"epochs": 3})
    assert job.status == "queued"
    job.stop()
    record = job.run()
    assert record["status"] == "stopped" and record["history"] == []


def test_nan_loss_marks_the_run_diverged():
    dataset = small("sunspots", 64)
    poisoned = dataset.train.x.copy()
    poisoned[:] = np.nan
    dataset = replace(dataset, train=Split(poisoned, dataset.train.y))
    record = run(dataset, presets_for(dataset.signature)["CNN"], epochs=5)
    assert record["status"] == "diverged"
    assert "loss became nan" in record["reason"]
    assert len(record["history"]) <= 1


def test_invalid_settings_and_models_are_refused_before_training():
    dataset = small("digits_8x8")
    spec = presets_for(dataset.signature)["CNN"]
    with pytest.raises(SpecError, match=r"Training: epochs must be at least 1, not 0\."):
        TrainingJob(dataset, spec, {"epochs": 0})
    with pytest.raises(SpecError, match="Training: optimizer must be one of adam, sgd, rmsprop"):
        TrainingJob(dataset, spec, {"optimizer": "lbfgs"})
    broken = replace(
        spec,
        layers=[{"kind": "LSTM", "units": 4, "return_sequences": True, "activation": "tanh", "dropout": 0.0}],
    )
    with pytest.raises(SpecError, match="output head needs"):
        TrainingJob(dataset, broken)


class Cycle:
    """An object that refers to itself: only Python's cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_collections_during_the_fit_skip_what_was_alive_before_it_and_the_end_collects_all():
    dataset = small("digits_8x8", 100)
    frozen_while_training: list[int] = []

    def listen(job: TrainingJob) -> None:
        frozen_while_training.append(gc.get_freeze_count())

    spec = presets_for(dataset.signature)["CNN"]
    job = TrainingJob(dataset, spec, {"epochs": 1, "batch_size": 32}, listener=listen)
    garbage = weakref.ref(Cycle())  # unreachable before the run, frozen with the rest at its start
    record = job.run()
    assert record["status"] == "completed"
    assert frozen_while_training and min(frozen_while_training) > 0
    assert gc.get_freeze_count() == 0  # nothing stays frozen after the run
    assert garbage() is None  # and what was frozen is collected at its end
