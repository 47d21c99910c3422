"""What the pages share through Streamlit's caches: the run store, the worker pool, loaded datasets and
Keras downloads; and the queue's and runs' actions a page triggers.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import streamlit as st

from app_pages.parts.visitor import CHOICE, RUNS, WORKSPACE, state
from app_pages.parts.widgets import literal, sentence
from core import budget
from core.datasets import DATASETS, Dataset, keras_classics
from core.datasets.described import load_described
from core.errors import SpecError, UserError
from core.model.spec import ModelSpec
from core.runs.estimates import measuring
from core.runs.pool import WorkerPool
from core.runs.queue import enqueue, one_per_seed, queued_record, seeds_sentence, seeds_to_train
from core.runs.record import UNFINISHED, WorkStatus, signature_of
from core.runs.store import RunStore, default_location
from core.shapes import Signature

QUEUE_ADVICE = "Wait for some of your runs to finish, or cancel the queued ones."


# While a worker trains or measures, the panels that follow it redraw this often. With Chromium on
# the same two cores, each redraw of Train's live panel cost the browser about 0.1 s of CPU: every
# 2 s rather than every second took a ~14 s training round's browser and server CPU from 3.6 s to 2.3 s.
POLL_SECONDS = 2.0


@st.cache_resource(show_spinner=False)
def _store(path: str) -> RunStore | str:
    """The process's run store, shared by all visitors (each sees only their workspace)."""
    try:
        return RunStore(path)
    except UserError as error:
        return str(error)


def open_store() -> RunStore | None:
    """The run store ($RUNS_DB), or None where it cannot be opened (the pages that need it say why)."""
    store = _store(str(default_location()))
    return None if isinstance(store, str) else store


def run_store() -> RunStore | None:
    """The run store ($RUNS_DB), or None after saying on screen why runs cannot be kept."""
    store = _store(str(default_location()))
    if isinstance(store, str):
        st.warning(literal(f"{store} Runs are kept for this session only."))
        return None
    return store


def store_and_workers(needed_for: str) -> tuple[RunStore, WorkerPool]:
    """The run store and its worker pool for a page that cannot work without them; without a store,
    one sentence saying what ``needed_for`` needs, and the page stops."""
    store = run_store()
    if store is None:
        st.error(f"{needed_for} needs the run store, where the workers take their work from.")
        st.stop()
    return store, worker_pool(store)


@st.cache_resource(show_spinner=False)
def _worker_pool(path: str) -> WorkerPool:
    """The server's worker processes, shared by all visitors; started when work is first queued."""
    return WorkerPool(RunStore(path))


def worker_pool(store: RunStore) -> WorkerPool:
    return _worker_pool(str(store.path))


@st.cache_resource(max_entries=8, show_spinner="Loading the dataset…")
def _built_in(description_json: str) -> Dataset:
    return load_described(json.loads(description_json))


@st.cache_resource(max_entries=4, ttl=3600, show_spinner="Reading your upload…")
def _uploaded(description_json: str, data: bytes) -> Dataset:
    return load_described(json.loads(description_json), data)


def run_signature(record: dict[str, Any]) -> Signature:
    """A run's data signature: as its record keeps it, or (for runs queued before records kept it) from
    its data, loaded once."""
    return signature_of(record) or load_choice(record["config"]["dataset"]).signature


def load_choice(choice: dict[str, Any]) -> Dataset:
    """The chosen dataset (cached and shared read-only), or a UserError saying why it cannot load."""
    description = json.dumps({key: choice[key] for key in ("id", "settings", "upload") if key in choice})
    if choice.get("upload"):
        return _uploaded(description, st.session_state.get("upload_bytes"))
    return _built_in(description)


def current_dataset() -> Dataset | None:
    """The visitor's dataset, or None after showing on screen why it could not be loaded (or that a
    worker is still downloading it).
    """
    try:
        return load_choice(state()[CHOICE])
    except keras_classics.NotFetched:
        wait_for_download(state()[CHOICE]["id"])
    except SpecError as error:
        for problem in error.problems:
            st.error(literal(problem))
    except UserError as error:
        st.error(literal(error))
    return None


def wait_for_download(dataset_id: str) -> None:
    """Ask a worker to download a Keras dataset and show its progress until it is ready or failed."""
    store = run_store()
    if store is None:
        return
    if (store.download(dataset_id) or {}).get("status") not in (
        WorkStatus.QUEUED,
        WorkStatus.RUNNING,
        WorkStatus.FAILED,
    ):
        store.request_download(dataset_id)
    worker_pool(store).ensure()

    @st.fragment(run_every=POLL_SECONDS)
    def progress() -> None:
        download = store.download(dataset_id) or {}
        if download.get("status") == WorkStatus.FAILED:
            st.error(literal(sentence(download["reason"])))
            if st.button("Try again", key=f"download:retry:{dataset_id}"):
                store.request_download(dataset_id)
                st.rerun()
        elif download.get("status") == WorkStatus.DONE:
            st.rerun()
        else:
            st.info(
                f"Downloading {DATASETS[dataset_id].name} in a worker (once; later visits read it at once)…"
            )

    progress()


def finished_runs(store: RunStore | None) -> list[dict[str, Any]]:
    """This visitor's finished runs, from the run store."""
    if store is None:
        return []
    return [r for r in store.runs(state()[WORKSPACE]) if r["status"] not in UNFINISHED]


def delete_runs(run_ids: set[str], store: RunStore | None) -> None:
    session = state()
    if store is not None:
        store.delete(sorted(run_ids), session[WORKSPACE])
    session[RUNS] = [run_id for run_id in session[RUNS] if run_id not in run_ids]


def dataset_description(dataset: Dataset) -> dict[str, Any]:
    """How a worker finds the visitor's dataset again: id, settings, and an upload by its SHA-256."""
    choice = state()[CHOICE]
    description = {"id": dataset.info.id, "settings": choice.get("settings", {})}
    if choice.get("upload"):
        digest = hashlib.sha256(st.session_state["upload_bytes"]).hexdigest()
        description["upload"] = {**choice["upload"], "sha256": digest}
    return description


def queue_runs(
    store: RunStore,
    dataset: Dataset,
    specs: list[ModelSpec],
    settings: dict[str, Any],
    seeds: list[int] | None = None,
) -> tuple[list[str], list[str]]:
    """Queue these models on the visitor's dataset for the workers, one run per seed where ``seeds`` are
    given (seeds a model already has are not trained again); returns the problems of any refused, and
    a sentence per model some of whose seeds were already there.
    """
    session = state()
    description = dataset_description(dataset)
    existing = store.runs(workspace=session[WORKSPACE]) if seeds else []
    records, problems, skipped = [], [], []
    for spec in specs:
        try:
            record = queued_record(description, dataset.info, dataset.signature, spec, settings)
        except SpecError as error:
            problems += [f"{spec.name}: {problem}" for problem in error.problems]
            continue
        if not seeds:
            records.append(record)
            continue
        already, missing = seeds_to_train(record, seeds, existing)
        if already:
            skipped.append(seeds_sentence(spec.name, already, missing))
        records += one_per_seed(record, missing) if missing else []
    waiting = len({*store.queued(), *store.running()} & set(session[RUNS]))
    try:
        budget.check(waiting + len(records), budget.QUEUED_RUNS, "runs waiting or training", QUEUE_ADVICE)
    except UserError as error:
        return [str(error)], []
    try:
        if "upload" in description and records:
            store.put_upload(session["upload_bytes"])
        session[RUNS].extend(enqueue(store, records, session[WORKSPACE]))
    except UserError as error:  # a read-only store
        return [str(error)], []
    worker_pool(store).ensure()
    return problems, skipped


def ask_for_calibrations(store: RunStore, requests: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """The calibrations of these requests, asking a worker to time each model that has none; and whether
    any is still being measured (a worker is started for them).
    """
    found = store.calibrations(list(requests))
    if missing := {key: request for key, request in requests.items() if key not in found}:
        store.request_calibrations(missing)
        found = store.calibrations(list(requests))
    pending = measuring(found)
    if pending:
        worker_pool(store).ensure()
    return found, pending


def polled_calibrations(
    store: RunStore, keys: list[str], found: dict[str, Any], pending: bool
) -> dict[str, Any]:
    """Inside a fragment that polls while calibrations are ``pending``: them as they stand now; once the
    last is done, the page redraws once and stops polling.
    """
    calibrations = store.calibrations(keys) if pending else found
    if pending and not measuring(calibrations):
        st.rerun()
    return calibrations


def offer_download(dataset_id: str) -> None:
    """A link's Keras dataset is downloaded only when the visitor asks for it."""
    session = state()
    if session.get("share:download") == dataset_id:
        wait_for_download(dataset_id)
        return
    st.info(
        f"This shared comparison uses {DATASETS[dataset_id].name}, which this server has not downloaded yet."
    )
    if st.button("Download it and open the comparison", icon=":material/download:"):
        session["share:download"] = dataset_id
        st.rerun()
