"""Several batches per call into TensorFlow: how many, the same results as one batch per call, and the
live progress and Stop at that granularity.
"""

from __future__ import annotations

import math

import pytest
from helpers import small

from core.model.presets import presets_for
from core.runs.estimates import calibration_requests
from core.runs.queue import enqueue, queued_record
from core.runs.store import RunStore
from core.tasks.settings import train_settings_for
from core.training.execution import batch_seconds, steps_per_call
from core.training.job import TrainingJob
from core.training.worker import Worker

RESULT_KEYS = ("loss", "val_loss", "accuracy", "val_accuracy", "input_gradient")


def test_a_call_takes_about_a_quarter_of_a_second_within_an_epoch():
    assert steps_per_call(None, 100) == 1  # nothing measured: Keras' default
    assert steps_per_call(0.0, 100) == 1
    assert steps_per_call(0.010, 100) == 25  # 0.25 s a call
    assert steps_per_call(0.001, 100) == 100  # never past an epoch
    assert steps_per_call(0.06, 100) == 4
    assert steps_per_call(0.3, 100) == 1  # a slow batch is a call of its own
    for seconds in (0.003, 0.007, 0.03, 0.045, 0.08):  # several batches a call, each call near 0.25 s
        assert abs(steps_per_call(seconds, 10_000) * seconds - 0.25) <= seconds / 2
    assert batch_seconds(2.0, 40) == 0.05
    assert batch_seconds(None, 40) is None


def train(dataset, preset: str, steps: int, listener=None) -> dict:
    spec = presets_for(dataset.signature)[preset]
    settings = {"epochs": 2, "batch_size": 16, "seed": 7}
    return TrainingJob(dataset, spec, settings, listener=listener).run(steps_per_execution=steps)


def batches(dataset) -> int:
    """Training batches of 16 an epoch."""
    return math.ceil(len(dataset.train) / 16)


def results(record: dict) -> list[dict]:
    return [{key: entry[key] for key in RESULT_KEYS if key in entry} for entry in record["history"]]


@pytest.mark.parametrize("preset", ["CNN", "LSTM"])
def test_several_batches_per_call_give_the_same_history_bit_for_bit(preset):
    dataset = small("digits_8x8", 200)
    assert batches(dataset) % 4  # the epoch's last call is a short one
    one, four = train(dataset, preset, 1), train(dataset, preset, 4)
    assert one["status"] == four["status"] == "completed"
    assert results(one) == results(four)
    assert one["metrics"]["accuracy"] == four["metrics"]["accuracy"]


def test_progress_moves_once_per_call_and_ends_at_the_epochs_last_batch():
    dataset = small("digits_8x8", 200)
    seen: list[tuple[int, int]] = []

    def listen(job: TrainingJob) -> None:
        state = job.snapshot()
        seen.append((state["epoch"], state["batch"]))

    record = train(dataset, "CNN", 4, listen)
    count = batches(dataset)
    first_epoch = {batch for epoch, batch in seen if epoch == 1 and batch}
    # a hook that finishes after a later one's is dropped, so some calls' ends may be missing
    assert first_epoch <= {*range(4, count, 4), count} and count in first_epoch
    assert record["status"] == "completed"


def test_the_first_call_records_its_batches_for_the_time_left():
    dataset = small("digits_8x8", 200)
    states: list[dict] = []
    train(dataset, "CNN", 4, lambda job: states.append(job.snapshot()))
    first_epoch = next(state for state in reversed(states) if state.get("epochs_done") == 1)
    assert first_epoch["first_call_batches"] == 4
    assert first_epoch["first_validation"]["first_call_batches"] == 4  # validation calls hold 4 too


def test_an_epoch_shorter_than_one_call_trains_and_reports_every_batch():
    dataset = small("digits_8x8", 60)
    assert batches(dataset) < 10
    record = train(dataset, "CNN", 10)
    assert record["status"] == "completed"
    assert len(record["history"]) == 2
    assert results(record) == results(train(dataset, "CNN", 1))


def test_stop_ends_the_run_after_the_current_call():
    dataset = small("digits_8x8", 200)

    reported: list[int] = []

    def stop_at_first_call(job: TrainingJob) -> None:
        reported.append(job.snapshot()["batch"])
        if reported[-1] >= 1:
            job.stop()

    record = train(dataset, "CNN", 4, stop_at_first_call)
    assert record["status"] == "stopped"
    assert len(record["history"]) == 1  # the epoch it was in ends; no second epoch
    # the stop is seen by the next call's hook, which ends the epoch at that call's end
    assert sorted({batch for batch in reported if batch}) == [4, 8]


def test_the_worker_calls_with_several_batches_once_a_calibration_timed_the_model(tmp_path):
    """Without a cost estimate a run takes one batch a call; with the Train page's calibration (timed
    batches of the model) the next one takes several, with the same results.
    """
    store = RunStore(tmp_path / "runs.db")
    dataset = small("digits_8x8", 200)
    description = {"id": "digits_8x8", "settings": {}, "limit": 200}
    spec = presets_for(dataset.signature)["CNN"]
    settings = {"epochs": 2, "batch_size": 16}
    for calibrated in (False, True):
        if calibrated:
            resolved = train_settings_for(dataset, settings)
            store.request_calibrations(calibration_requests({"CNN": spec}, dataset.signature, resolved))
        enqueue(store, [queued_record(description, dataset.info, dataset.signature, spec, settings)], "steps")
        Worker(store).serve(once=True)
    first, second = store.runs("steps")
    assert first["status"] == second["status"] == "completed"
    assert first["estimate"]["steps_per_execution"] == 1
    assert 1 < second["estimate"]["steps_per_execution"] <= batches(dataset)
    assert results(first) == results(second)
