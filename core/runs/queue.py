"""The training queue: runs described as plain records and queued in the run store for workers."""

from __future__ import annotations

import time
import uuid
from copy import deepcopy
from typing import Any

from core import budget
from core.datasets import DatasetInfo
from core.errors import UserError
from core.inputs import shown
from core.model.spec import ModelSpec
from core.model.trace import Limits, validate
from core.runs.record import UNFINISHED, RunRecord, RunStatus, configuration_key, seed_of
from core.runs.store import RunStore
from core.shapes import Signature
from core.tasks.settings import check_train_settings


def queued_record(
    description: dict[str, Any],
    info: DatasetInfo,
    signature: Signature,
    spec: ModelSpec,
    settings: dict[str, Any] | None = None,
    limits: Limits | None = None,
) -> dict[str, Any]:
    """A run ready to queue, checked as a worker will build it (SpecError names every problem).

    ``description`` is how a worker finds the data again: ``{"id", "settings", "limit"?, "upload"?}``.
    """
    trace = validate(spec, signature, limits)
    return RunRecord(
        id=uuid.uuid4().hex[:10],
        name=spec.name,
        family=spec.family,
        dataset=info.id,
        task=signature.task,
        status=RunStatus.QUEUED,
        params=trace.total_params,
        created=time.time(),
        config={
            "dataset": description,
            "model": spec.to_dict(),
            "train": check_train_settings(settings, signature.task),
        },
        signature=signature.to_dict(),
    ).to_dict()


def checked_seeds(seeds: list[int]) -> list[int]:
    """Distinct seeds from 0 to 2**31 - 1, at most ``budget.SEEDS`` of them, or one sentence."""
    budget.check(len(seeds), budget.SEEDS, "runs, one per seed", "Give fewer seeds.")
    if not seeds or len(set(seeds)) != len(seeds) or not all(0 <= seed < 2**31 for seed in seeds):
        raise UserError(f"Seeds must be distinct whole numbers from 0 to {2**31 - 1}, not {shown(seeds)}.")
    return seeds


def one_per_seed(record: dict[str, Any], seeds: list[int]) -> list[dict[str, Any]]:
    """Copies of a queued run, one per seed (each with an id of its own), trained as one seed group."""
    copies = []
    for seed in checked_seeds(seeds):
        copy = deepcopy(record)
        copy["id"] = uuid.uuid4().hex[:10]
        copy["config"]["train"]["seed"] = seed
        copies.append(copy)
    return copies


def seeds_to_train(
    record: dict[str, Any], seeds: list[int], existing: list[dict[str, Any]]
) -> tuple[list[int], list[int]]:
    """Of ``seeds``, those the record's configuration already has a completed, queued or running run of
    among ``existing``, and those still to train: a seed group counts each seed once.
    """
    key = configuration_key(record)
    have = {
        seed_of(run)
        for run in existing
        if run["status"] in {RunStatus.COMPLETED, *UNFINISHED} and configuration_key(run) == key
    }
    return [seed for seed in seeds if seed in have], [seed for seed in seeds if seed not in have]


def seeds_sentence(name: str, already: list[int], training: list[int]) -> str:
    """``CNN: seed 42 already trained; training 43.`` (or that nothing new is trained)."""

    def listed(seeds: list[int]) -> str:
        words = [str(seed) for seed in seeds]
        return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"

    done = f"{name}: seed{'s' * (len(already) > 1)} {listed(already)} already trained or queued"
    if training:
        return f"{done}; training {listed(training)}."
    return f"{done}, so nothing new is trained; change the seed or the settings to train it again."


def in_order(records: list[dict[str, Any]]) -> list[str]:
    """Give runs made together creation times in this order, which the store lists them by; returns
    their ids.
    """
    start = time.time()
    for offset, record in enumerate(records):
        record["created"] = start + offset * 1e-3
    return [record["id"] for record in records]


def enqueue(store: RunStore, records: list[dict[str, Any]], workspace: str) -> list[str]:
    """Queue runs in this order; returns their ids."""
    ids = in_order(records)
    for record in records:
        store.save_run(record, workspace)
    return ids


def eta_seconds(progress: dict[str, Any]) -> float | None:
    """Seconds of training left in a running run, or None before enough of it has been timed.

    The first call (one batch, or several with ``steps_per_execution``) traces the model and is
    never part of a pace. Before the first epoch ends, only a one-epoch run is estimated (from its
    batches, once a tenth of them are done); after it, from the first epoch without what traces
    functions (the first call of its training and of its validation, and the first gradient probe);
    from the second on, from the epochs since the first. An epoch of one call has no untraced pace
    until its second epoch ends.
    """
    steps, batch, traced = (
        progress.get("batches") or 0,
        progress.get("batch", 0),
        progress.get("first_batch_seconds"),
    )
    if traced is None or steps < 2 or progress.get("phase") == "evaluating":
        return None
    epochs, done = progress["epochs"], progress.get("epochs_done", 0)
    first_call = progress.get("first_call_batches", 1)
    if done == 0:
        if epochs > 1 or batch < max(5, steps / 10) or batch <= first_call:
            return None
        return (steps - batch) * (progress["fit_seconds"] - traced) / (batch - first_call)
    first = progress["first_epoch_seconds"]
    if done == 1:
        if steps <= first_call:
            return None
        validation = progress.get("first_validation") or {}
        validated = validation.get("seconds", 0.0)
        probe = progress.get("first_probe_seconds", 0.0)
        untraced = first - probe - validated - traced
        per_epoch = untraced * steps / (steps - first_call) + _untraced(validation)
    else:
        per_epoch = (progress["last_epoch_end"] - first) / (done - 1)
    into_epoch = max(progress["fit_seconds"] - progress["last_epoch_end"], 0.0)  # 0 until a batch is done
    return max((epochs - done) * per_epoch - into_epoch, 0.0)


def _untraced(validation: dict[str, Any]) -> float:
    """The first epoch's validation time, its tracing first call replaced by ordinary batches."""
    batches, seconds = validation.get("batches", 0), validation.get("seconds", 0.0)
    first_call = validation.get("first_call_batches", 1)
    if batches <= first_call:
        return seconds
    return (seconds - validation["first_batch_seconds"]) * batches / (batches - first_call)


def expected_seconds(run: dict[str, Any], finished: list[dict[str, Any]]) -> float | None:
    """How long a queued run will take: its epochs at the median pace of earlier runs of the same
    model on the same dataset (None when there are none yet).
    """
    paces = sorted(
        entry["seconds"]
        for earlier in finished
        if earlier["name"] == run["name"] and earlier["dataset"] == run["dataset"]
        for entry in earlier["history"]
    )
    if not paces:
        return None
    return paces[len(paces) // 2] * run["config"]["train"]["epochs"]


def queue_waits(store: RunStore, workers: int) -> dict[str, tuple[int, float | None]]:
    """For each queued run: its place in the fair queue (1 = next) and the seconds until it starts
    (None where a run ahead of it has no estimate yet).
    """
    running = [eta_seconds(run["progress"]) for run in store.runs(ids=store.running(), live=True)]
    idle = max(workers - len(running), 0)
    free_in = sorted([0.0 if eta is None else eta for eta in running] + [0.0] * idle)
    known = None not in running
    order = {run_id: place for place, run_id in enumerate(store.queued())}  # the fair order
    queued = sorted(store.runs(ids=list(order)), key=lambda run: order[run["id"]])
    if not free_in:  # no worker yet (they run elsewhere and none is up): nobody can say when
        return {run["id"]: (place, None) for place, run in enumerate(queued, start=1)}
    finished = store.runs(ids=store.completed_like(queued)) if queued else []
    waits: dict[str, tuple[int, float | None]] = {}
    for place, run in enumerate(queued, start=1):
        start = free_in.pop(0)
        waits[run["id"]] = (place, start if known else None)
        duration = expected_seconds(run, finished)
        known = known and duration is not None
        free_in = sorted([*free_in, start + (duration or 0.0)])
    return waits
