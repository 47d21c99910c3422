"""Train: queue models, watch them learn live, stop any time, and read the test results."""

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from core.errors import SpecError
from core.runs import TASK_COLUMNS, curves
from core.tasks import TRAIN_SETTINGS, check_train_settings
from core.training import FINISHED, TrainingJob, submit
from pages.common import (
    current_dataset,
    dataset_title,
    format_number,
    models_for,
    param_widgets,
    run_store,
    sentence,
    spec_of,
    state,
)

STATUS_ICONS = {
    "completed": ":material/check_circle:",
    "stopped": ":material/stop_circle:",
    "diverged": ":material/warning:",
    "failed": ":material/error:",
}
MAX_CURVE_POINTS = 400

session = state()
dataset = current_dataset()
if dataset is None:
    st.stop()
models = models_for(dataset)
store = run_store()

st.title("Train")
st.caption(dataset_title(dataset))
st.subheader("Hyper-parameters")
settings_key = f"train_settings:{dataset.info.id}"
session[settings_key] = param_widgets(
    TRAIN_SETTINGS,
    session.get(settings_key) or check_train_settings({}, dataset.signature.task),
    key=f"train:{dataset.info.id}",
)
chosen = st.multiselect(
    "Models to train",
    list(models),
    default=list(models),
    key=f"train:models:{dataset.info.id}",
    help="They train one after another, in this order.",
)


def queue_models() -> None:
    for name in chosen:
        try:
            job = TrainingJob(
                dataset,
                spec_of(models[name]),
                session[settings_key],
                store=store,
                workspace=session["workspace"],
            )
        except SpecError as error:
            st.session_state["train:refused"] = [f"{name}: {problem}" for problem in error.problems]
            continue
        session["jobs"].append(submit(job))


def stop_running() -> None:
    for job in session["jobs"]:
        if job.status == "running":
            job.stop()


def cancel_queued() -> None:
    for job in session["jobs"]:
        if job.status == "queued":
            job.stop()


jobs: list[TrainingJob] = session["jobs"]
busy = any(job.status in ("queued", "running") for job in jobs)
buttons = st.columns([1, 1, 1, 4])
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
    disabled=not busy,
    width="stretch",
    help="End the running model after its current batch; what it learned is kept.",
)
buttons[2].button("Cancel queued", on_click=cancel_queued, disabled=not busy, width="stretch")
for problem in st.session_state.pop("train:refused", []):
    st.error(problem)


def curve_chart(history: pd.DataFrame, metric: str, title: str) -> alt.Chart:
    return (
        alt.Chart(history, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("epoch:Q", title="Epoch", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("value:Q", title=metric),
            color=alt.Color("split:N", title="Split", sort=["train", "validation"]),
        )
        .properties(height=240)
    )


def curve_specs(record: dict[str, Any]) -> list[tuple[str, dict]]:
    """Vega-Lite specs of a run's curves, built once per finished epoch.

    The live panel redraws every second, but curves change only when an epoch ends; building and
    validating Altair charts each second held the GIL long enough to slow training ~14x.
    """
    cache = session.setdefault("train:curve_specs", {})
    key = (record["id"], len(record["history"]))
    if key not in cache:
        metrics = [m for m in ("loss", "accuracy", "mae") if record["history"] and m in record["history"][0]]
        specs = []
        for metric in metrics:
            frame = curves([record], metric).tail(MAX_CURVE_POINTS)
            title = f"{metric.replace('_', ' ').title()} per epoch" + (
                " (MSE, scaled units)" if metric == "loss" and record["task"] == "forecasting" else ""
            )
            specs.append((metric, curve_chart(frame, metric, title).to_dict()))
        cache[key] = specs
    return cache[key]


def show_curves(record: dict[str, Any], key: str) -> None:
    specs = curve_specs(record)
    for cell, (metric, spec) in zip(st.columns(len(specs) or 1), specs, strict=False):
        cell.vega_lite_chart(spec, width="stretch", key=f"{key}:{metric}")


def live_panel() -> None:
    active = [job for job in session["jobs"] if job.status in ("queued", "running")]
    watched = set(session.get("train:watched", []))
    session["train:watched"] = [job.id for job in active]
    if watched - {job.id for job in active}:
        st.rerun()  # a run ended: redraw the whole page with its results
    running = next((job for job in active if job.status == "running"), None)
    if running is None:
        if active:
            st.info(f"{len(active)} model(s) queued; starting…")
        return
    snap = running.snapshot()
    with st.container(border=True):
        st.markdown(f"**Training {snap['name']}** ({snap['family']}, {snap['params']:,} parameters)")
        st.progress(
            min(snap.get("progress", 0.0), 1.0),
            text=f"Epoch {snap['epoch']} of {snap['epochs']} · batch {snap['batch']} of {snap['batches']}",
        )
        cells = st.columns(3)
        eta = snap["eta_seconds"]
        cells[0].metric("Time left", f"{eta:.0f} s" if eta is not None else "estimating…")
        cells[1].metric("Samples per second", format_number(snap.get("samples_per_second")))
        cells[2].metric("Batch loss", format_number(snap.get("batch_loss")))
        show_curves(snap, "live")
    queued = [job.spec.name for job in active if job.status == "queued"]
    if queued:
        st.caption("Queued next: " + ", ".join(queued))


st.fragment(live_panel, run_every=1.0 if busy else None)()

finished = [job for job in reversed(jobs) if job.status in FINISHED]
if finished:
    st.subheader("Results")
for job in finished:
    record = job.record()
    with st.expander(
        f"{record['name']} · {record['status']}",
        icon=STATUS_ICONS[record["status"]],
        expanded=job is finished[0],
    ):
        if record["reason"]:
            (st.info if record["status"] == "stopped" else st.error)(sentence(record["reason"]))
        shown = [(title, record["metrics"].get(key)) for key, title, _ in TASK_COLUMNS[record["task"]]]
        shown += [
            ("Parameters", record["params"]),
            ("Training s", record["train_seconds"]),
            ("Latency ms / sample", record["metrics"].get("latency_ms")),
        ]
        for cell, (title, value) in zip(st.columns(len(shown)), shown, strict=True):
            cell.metric(title, format_number(value))
        if record["history"]:
            show_curves(record, f"result:{job.id}")
if finished:
    st.page_link("pages/compare.py", label="Next: compare the runs", icon=":material/arrow_forward:")
