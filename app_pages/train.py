"""Train: queue models for the workers, watch them learn live, stop any time, read the results."""

import time
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.parts.memory_panels import GRADIENT_CAPTION, gradient_chart
from app_pages.parts.services import (
    POLL_SECONDS,
    ask_for_calibrations,
    current_dataset,
    dataset_description,
    polled_calibrations,
    queue_runs,
    store_and_workers,
)
from app_pages.parts.visitor import RUNS, TRAINING, WORKSPACE, models_for, spec_of, state
from app_pages.parts.widgets import (
    dataset_title,
    format_number,
    held_values,
    literal,
    param_widgets,
    sentence,
    target_unit,
)
from core.compare.memory import gradient_frame
from core.compare.table import baseline_sentence, curves, verdict
from core.errors import SpecError
from core.runs.estimates import calibration_requests, cost_line, estimate_rows
from core.runs.queue import eta_seconds, queue_waits
from core.runs.record import UNFINISHED, RunStatus, WorkStatus, comparable_key, input_gradient
from core.tasks.registry import TASKS
from core.tasks.settings import TRAIN_SETTINGS, train_settings_for

STATUS_ICONS = {
    RunStatus.COMPLETED: ":material/check_circle:",
    RunStatus.STOPPED: ":material/stop_circle:",
    RunStatus.DIVERGED: ":material/warning:",
    RunStatus.FAILED: ":material/error:",
    RunStatus.INTERRUPTED: ":material/error:",
}
PROBLEMS = (RunStatus.FAILED, RunStatus.INTERRUPTED, RunStatus.DIVERGED)  # runs that ended with a problem
OPEN_PROBLEMS_FOR = 600.0  # seconds a run that ended with a problem stays open among the results
MAX_CURVE_POINTS = 400
TILES_PER_ROW = 4  # a result's tiles: its test metrics in one row, its cost in the next
SHOWN_RESULTS = 8
MOST_SEEDS = 10

session = state()
dataset = current_dataset()
if dataset is None:
    st.stop()
models = models_for(dataset)
store, pool = store_and_workers("Training")

st.title("Train")
st.caption(dataset_title(dataset))
st.subheader("Hyper-parameters")


def kept_settings() -> dict[str, Any]:
    """The settings last set for this dataset (kept in the workspace), or its defaults where none are
    or, saying so, where the kept ones no longer pass the registry's checks.
    """
    try:
        return train_settings_for(dataset, session[TRAINING].get(dataset.info.id))
    except SpecError as error:
        kept = f"The training settings kept here no longer pass the checks ({str(error).rstrip('.')})"
        st.info(literal(f"{kept}; the defaults are back."), icon=":material/info:")
        return train_settings_for(dataset)


settings_key = f"train:{dataset.info.id}"
models_key, seeds_key = f"train:models:{dataset.info.id}", f"train:seeds:{dataset.info.id}"
training_settings = param_widgets(TRAIN_SETTINGS, kept_settings(), key=settings_key)
session[TRAINING][dataset.info.id] = training_settings
chosen = st.multiselect(
    "Models to train",
    list(models),
    default=list(models),
    key=models_key,
    help="They train one after another, in this order.",
)
runs_per_model = st.number_input(
    "Runs per model (seeds)",
    min_value=1,
    max_value=MOST_SEEDS,
    value=1,
    key=seeds_key,
    help="Each run of a model takes the next seed after the Seed above. Compare then shows each model's "
    "mean with bands and tells whether the differences between models are significant.",
)


def cost_estimates() -> None:
    """The chosen models' cost before anything is queued: from a calibration a worker measures (asked
    for here when missing; the table polls only while one is pending) or from earlier runs.
    """
    settings = train_settings_for(dataset, training_settings)
    specs = {name: spec_of(models[name]) for name in chosen}
    requests = calibration_requests(specs, dataset.signature, settings)
    found, pending = ask_for_calibrations(store, requests)

    def table() -> None:
        calibrations = polled_calibrations(store, list(requests), found, pending)
        sizes = (len(dataset.train), len(dataset.validation))
        rows, notes = estimate_rows(
            specs, dataset.signature, settings, sizes, calibrations, store.cost_history()
        )
        st.dataframe(pd.DataFrame(rows), hide_index=True)
        for note in notes:
            st.caption(literal(sentence(note)))

    st.caption(
        "Estimated cost of each run"
        + (" (early stopping may end one sooner)" if settings["patience"] else "")
    )
    st.fragment(table, run_every=POLL_SECONDS if pending else None)()
    failed = [key for key, calibration in found.items() if calibration["status"] == WorkStatus.FAILED]
    if failed:
        st.button("Measure again", on_click=store.retry_calibrations, args=(failed,))


if chosen:
    cost_estimates()


def my_active_runs() -> list[dict[str, Any]]:
    """This visitor's queued and running runs with their live progress (finished ones are not read)."""
    unfinished = {*store.queued(), *store.running()}
    ids = [run_id for run_id in session[RUNS] if run_id in unfinished]
    return [
        run
        for run in store.runs(workspace=session[WORKSPACE], ids=ids, live=True)
        if run["status"] in UNFINISHED
    ]


def queue_models() -> None:
    settings = held_values(TRAIN_SETTINGS, training_settings, settings_key)  # an edit in the same click
    session[TRAINING][dataset.info.id] = settings
    names = session.get(models_key, chosen)  # also what the same click changed
    runs = session.get(seeds_key, runs_per_model)
    specs = [spec_of(models[name]) for name in names]
    seeds = list(range(settings["seed"], settings["seed"] + runs))
    session["train:refused"], session["train:skipped"] = queue_runs(store, dataset, specs, settings, seeds)


def stop_running() -> None:
    running = [run["id"] for run in my_active_runs() if run["status"] == RunStatus.RUNNING]
    store.request_stop(running, session[WORKSPACE])


def cancel_queued() -> None:
    queued = [run["id"] for run in my_active_runs() if run["status"] == RunStatus.QUEUED]
    store.cancel_queued(queued, session[WORKSPACE])


busy = bool(my_active_runs())


def control_buttons(active: list[dict[str, Any]]) -> None:
    """Train, Stop and Cancel queued, enabled by the state this very rerun read."""
    running = any(run["status"] == RunStatus.RUNNING for run in active)
    buttons = st.columns([1, 1, 1.5, 3.5])
    buttons[0].button(
        "Train",
        type="primary",
        icon=":material/play_arrow:",
        on_click=queue_models,
        disabled=not chosen,
        width="stretch",
    )
    buttons[1].button(
        "Stop",
        icon=":material/stop:",
        on_click=stop_running,
        disabled=not running,
        width="stretch",
        help="End the running model after its current batch; what it learned is kept.",
    )
    buttons[2].button(
        "Cancel queued",
        on_click=cancel_queued,
        disabled=not any(run["status"] == RunStatus.QUEUED for run in active),
        width="stretch",
    )
    for problem in session.pop("train:refused", []):
        st.error(literal(problem))
    for skipped in session.pop("train:skipped", []):
        st.info(literal(skipped), icon=":material/info:")


def curve_chart(history: pd.DataFrame, axis_title: str) -> alt.Chart:
    """One metric's learning curves, train and validation, with its unit in the axis title."""
    return (
        alt.Chart(history, title=f"{axis_title} per epoch")
        .mark_line(point=True)
        .encode(
            x=alt.X("epoch:Q", title="Epoch", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("value:Q", title=axis_title),
            color=alt.Color("split:N", title="Split", sort=["train", "validation"]),
        )
        .properties(height=240)
    )


def show_curves(record: dict[str, Any], key: str) -> None:
    metrics = [m for m in ("loss", "accuracy", "mae") if record["history"] and m in record["history"][0]]
    for cell, metric in zip(st.columns(len(metrics) or 1), metrics, strict=False):
        frame = curves([record], metric).tail(MAX_CURVE_POINTS)
        chart = curve_chart(frame, TASKS[record["task"]].curve_title(metric))
        cell.altair_chart(chart, width="stretch", key=f"{key}:{metric}")


def show_gradients(record: dict[str, Any], key: str) -> None:
    """The run's gradient through time, epochs x input steps, once an epoch has been probed."""
    if input_gradient(record):
        st.altair_chart(gradient_chart(record, gradient_frame(record)), width="stretch", key=key)
        st.caption(GRADIENT_CAPTION)


def ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def queued_line(run: dict[str, Any], place: int, wait: float | None) -> str:
    if wait is None:
        start = "after the runs ahead (no estimate yet)"
    else:
        start = f"in about {wait:.0f} s" if wait >= 1 else "as soon as a worker is free"
    return f"{run['name']}: {ordinal(place)} in the queue, starts {start}"


def live_panel() -> None:
    active = my_active_runs()
    watched = set(session.get("train:watched", []))
    session["train:watched"] = [run["id"] for run in active]
    if watched - {run["id"] for run in active} or bool(active) != busy:
        st.rerun()  # a run ended, or runs were queued: the whole page redraws (and polls while busy)
    control_buttons(active)
    if not active:
        return
    pool.ensure()  # a worker for the queue, and a new one where one died
    for run in [run for run in active if run["status"] == RunStatus.RUNNING]:
        progress = run["progress"]
        with st.container(border=True):
            name = literal(run["name"])
            host = literal(run["owner"].rpartition(":")[0])
            st.markdown(f"**Training {name}** ({run['family']}, {run['params']:,} parameters) on {host}")
            epochs = progress.get("epochs", run["config"]["train"]["epochs"])
            st.progress(
                min(progress.get("progress", 0.0), 1.0),
                text=f"Epoch {progress.get('epoch', 1)} of {epochs} · "
                f"batch {progress.get('batch', 0)} of {progress.get('batches') or '…'}",
            )
            cells = st.columns(3)
            eta = eta_seconds(progress)
            evaluating = progress.get("phase") == "evaluating"
            left = "evaluating on the test split" if evaluating else "estimating…"
            cells[0].metric("Time left", f"{eta:.0f} s" if eta is not None else left)
            cells[1].metric("Samples per second", format_number(progress.get("samples_per_second")))
            loss_notes = TASKS[run["task"]].curve_notes("loss")
            cells[2].metric(
                f"Batch loss ({loss_notes})" if loss_notes else "Batch loss",
                format_number(progress.get("batch_loss")),
            )
            if run["stop_requested"] is not None:
                st.caption("Stopping after the current batch…")
            show_curves(run, f"live:{run['id']}")
            show_gradients(run, f"live:gradient:{run['id']}")
    queued = [run for run in active if run["status"] == RunStatus.QUEUED]
    alive = store.workers_alive()
    hosts = sorted({owner.rpartition(":")[0] for owner in alive})
    st.caption(
        literal(
            f"{len(alive)} worker{'s' * (len(alive) != 1)} alive"
            + (f" on {', '.join(hosts)}" if hosts else "")
        )
        + ", taking runs round-robin across visitors."
    )
    if queued:
        waits = queue_waits(store, max(pool.count, len(alive)))
        lines = [queued_line(run, *waits[run["id"]]) for run in queued if run["id"] in waits]
        st.caption(literal("Queued: " + "; ".join(lines) if lines else "Queued: starting…"))


st.fragment(live_panel, run_every=POLL_SECONDS if busy else None)()

here = comparable_key({"config": {"dataset": dataset_description(dataset)}})
finished = [
    run
    for run in reversed(store.runs(workspace=session[WORKSPACE]))
    if run["status"] not in UNFINISHED and comparable_key(run) == here
]
if finished:
    st.subheader("Results on this dataset")
if len(finished) > SHOWN_RESULTS:
    st.caption(f"The latest {SHOWN_RESULTS} of {len(finished)} runs; Compare shows them all.")
    finished = finished[:SHOWN_RESULTS]
for record in finished:
    ended = record.get("finished") or record.get("created") or 0
    when = time.strftime("%H:%M", time.localtime(ended))
    recent_problem = record["status"] in PROBLEMS and ended > time.time() - OPEN_PROBLEMS_FOR
    with st.expander(
        f"{literal(record['name'])} · {record['status']} · {when} · {record['id'][:6]}",
        icon=STATUS_ICONS[record["status"]],
        expanded=record is finished[0] or recent_problem,
    ):
        if record["reason"]:
            (st.info if record["status"] == RunStatus.STOPPED else st.error)(
                literal(sentence(record["reason"]))
            )
        if message := verdict(record):
            st.warning(literal(sentence(message)), icon=":material/block:")
        metrics = record["metrics"]
        task = TASKS[record["task"]]
        for cell, column in zip(st.columns(TILES_PER_ROW), task.columns, strict=False):
            value, baseline = metrics.get(column.key), metrics.get(task.baseline_of.get(column.key, ""))
            delta = None if value is None or baseline is None else value - baseline
            cell.metric(
                f"{column.title} ({target_unit(record)})" if column.in_target_units else column.title,
                format_number(value),
                delta=None if delta is None else f"{delta:+.3g} vs baseline",
                delta_color="normal" if column.higher else "inverse",
            )
        for cell, (title, value) in zip(
            st.columns(TILES_PER_ROW),  # a second row: six tiles in one are cut at 1280 px
            [
                ("Parameters", record["params"]),
                ("Training s", record["train_seconds"]),
                ("Latency ms / sample", metrics.get("latency_ms")),
            ],
            strict=False,
        ):
            cell.metric(title, format_number(value))
        if baseline_text := baseline_sentence(record):
            st.caption(literal(baseline_text))
        if cost_text := cost_line(record):
            st.caption(literal(cost_text))
        if record["history"] and record is finished[0]:  # charts for the newest run only: each
            show_curves(record, f"result:{record['id']}")  # drawn chart costs the training CPU time
            show_gradients(record, f"result:gradient:{record['id']}")
if finished:
    st.page_link("app_pages/compare.py", label="Next: compare the runs", icon=":material/arrow_forward:")
