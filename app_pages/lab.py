"""Lab: reproduce Bai et al. (2018) at CPU scale in one click, and measure cost against sequence length."""

from collections.abc import Callable
from typing import Any

import altair as alt
import streamlit as st

from app_pages.parts.services import (
    POLL_SECONDS,
    QUEUE_ADVICE,
    ask_for_calibrations,
    current_dataset,
    load_choice,
    polled_calibrations,
    store_and_workers,
)
from app_pages.parts.visitor import RUNS, WORKSPACE, models_for, spec_of, state
from app_pages.parts.widgets import literal, sentence
from core import budget
from core.datasets import DATASETS
from core.errors import UserError
from core.lab import length_cost, paper
from core.model.presets import presets_for
from core.model.spec import ModelSpec
from core.runs.estimates import measuring
from core.runs.queue import enqueue
from core.runs.record import UNFINISHED, RunStatus, WorkStatus, comparable_key, run_label
from core.shapes import SEQUENCE, TOKENS

MOST_SEEDS = 5
VERDICT_ICONS = {
    paper.REPRODUCED: ":material/check_circle:",
    paper.NOT_REPRODUCED: ":material/cancel:",
    paper.INCONCLUSIVE: ":material/help:",
    paper.NOT_RUN: ":material/schedule:",
    paper.TOO_LITTLE: ":material/hourglass_empty:",
}
BENCHMARK = {"id": "adding", "settings": {}}  # whose presets the cost section offers

session = state()
store, pool = store_and_workers("The Lab")

st.title("Lab")


def time_estimate(
    requests: dict[str, dict[str, Any]],
    estimated: Callable[[dict[str, dict[str, Any]]], float | None],
    key: str,
) -> None:
    """How long some work will take, from the cost model. Where a model has no calibration yet, a button
    asks a worker to time each on a few batches (opening the Lab alone starts no work); the caption polls
    only while one is pending.
    """
    asked = store.calibrations(list(requests))
    if len(asked) < len(requests) and not st.button("Estimate the time", key=key, icon=":material/timer:"):
        st.caption("A worker times each model on a few batches first (seconds).")
        return
    found, pending = ask_for_calibrations(store, requests)

    def caption() -> None:
        calibrations = polled_calibrations(store, list(requests), found, pending)
        if pending:
            st.caption("Estimating the time: a worker is timing each model on a few batches…")
        elif (seconds := estimated(calibrations)) is None:
            st.caption("No time estimate: a model could not be timed on a few batches.")
        else:
            st.caption(
                f"{length_cost.about(seconds).capitalize()} on this machine, one after another: an "
                "estimate from timing each model on a few batches."
            )

    st.fragment(caption, run_every=POLL_SECONDS if pending else None)()


# ---- reproduce Bai et al. (2018) ---------------------------------------------------------------------

st.subheader("Reproduce Bai et al. (2018)")
st.caption(
    f"{literal(paper.CITATION)} The four benchmark presets (about 12,000 parameters each) train at CPU "
    "scale. A model *learns* a task here when the runs of more than half of its seeds beat what the task "
    "scores without a model, by the test Compare uses (in the paper: by 10% of that score); which model "
    "is *best* is judged with a significance test where one applies (several seeds, or single runs "
    "compared example by example)."
)
options = st.columns(3)
quick = options[0].toggle(
    "Quick plan (plumbing only)",
    key="lab:quick",
    help="One epoch on 200 samples: too little for any model to learn, so it judges no claim.",
)
mnist = options[1].toggle("Also sequential and permuted MNIST", key="lab:mnist")
seeds = int(
    options[2].number_input(
        "Runs per model (seeds)",
        min_value=1,
        max_value=MOST_SEEDS,
        value=1,
        key="lab:seeds",
        help="Seeds 42, 43 ... With two or more, Welch's t-test says whether the best model is really best.",
    )
)
plan = paper.plan(quick, mnist)
scales = "; ".join(f"{DATASETS[data.dataset].name} at {plan.scale(data.dataset)}" for data in plan.data)
runs_planned = len(plan.data) * len(paper.MODELS) * seeds
st.caption(f"The plan: {scales}; the four presets on each, {runs_planned} runs in all.")
if not plan.judges:
    st.info(paper.PLUMBING)


def queue_plan() -> None:
    """Queue the plan's runs for the workers, within the visitor's budget of waiting runs."""
    first = paper.DEFAULT_SEED
    records = paper.planned_runs(plan, list(range(first, first + seeds)))
    waiting = len({*store.queued(), *store.running()} & set(session[RUNS]))
    try:
        budget.check(waiting + len(records), budget.QUEUED_RUNS, "runs waiting or training", QUEUE_ADVICE)
    except UserError as error:
        session["lab:refused"] = str(error)
        return
    ids = enqueue(store, records, session[WORKSPACE])
    session[RUNS].extend(ids)
    session["lab:runs"] = ids
    pool.ensure()


def plan_runs() -> list[dict[str, Any]]:
    """The runs this visitor last queued from the Lab, with their live progress."""
    ids = session.get("lab:runs", [])
    return store.runs(workspace=session[WORKSPACE], ids=ids, live=True) if ids else []


training = any(run["status"] in UNFINISHED for run in plan_runs())
train_button, train_time = st.columns([1, 4], vertical_alignment="center")
train_button.button(
    "Train the plan",
    type="primary",
    icon=":material/play_arrow:",
    on_click=queue_plan,
    disabled=training,
    help="Queues the runs for the workers; Train and Compare show them too.",
)
with train_time:
    time_estimate(
        paper.calibration_requests(plan),
        lambda calibrations: paper.seconds(plan, seeds, calibrations, store.cost_history()),
        "lab:estimate:plan",
    )
if refused := session.pop("lab:refused", None):
    st.error(literal(refused))


def progress_panel() -> None:
    """How far the queued plan is, polled only while some of its runs are unfinished."""
    runs = plan_runs()
    active = [run for run in runs if run["status"] in UNFINISHED]
    if training and not active:
        st.rerun()  # the plan has finished: the page redraws its results once and stops polling
    if not runs:
        return
    done = len(runs) - len(active)
    st.progress(done / len(runs), text=f"{done} of {len(runs)} runs of the plan finished")
    for run in active:
        progress = run["progress"]
        if run["status"] == RunStatus.RUNNING and progress:
            st.caption(
                literal(
                    f"Training {run['name']} on {run['dataset']}: epoch {progress.get('epoch', 1)} of "
                    f"{progress.get('epochs', '…')}, batch {progress.get('batch', 0)} of "
                    f"{progress.get('batches') or '…'}"
                )
            )
    if active:
        pool.ensure()  # a worker for the queue, and a new one where one died


st.fragment(progress_panel, run_every=POLL_SECONDS if training else None)()

made = paper.report(plan, store.runs(session[WORKSPACE]))
st.dataframe(made.rows, hide_index=True, height="content")
st.caption(
    "Verdict: whether the model learns the task here as the paper says it does (or does not). Which model is "
    "best:"
)


def verdict_line(verdict: paper.Verdict) -> str:
    return (
        f"{VERDICT_ICONS[verdict.status]} {literal(verdict.claim)}: **{verdict.status}**. "
        f"{literal(verdict.detail)}"
    )


for verdict in made.verdicts:
    if verdict.model is None:
        st.markdown(verdict_line(verdict))
with st.expander("Each model's claim in words"):
    for verdict in made.verdicts:
        if verdict.model is not None:
            st.markdown(verdict_line(verdict))
if made.left_out:
    st.caption(f"Not in this plan: {', '.join(made.left_out)} (the MNIST switch above adds them).")


def show_on_compare(runs: list[dict[str, Any]]) -> None:
    """Point Compare at these runs: their data's group, with them alone selected among its runs."""
    group = comparable_key(runs[0])
    session["compare:group"] = group
    session[f"compare:runs:{group}"] = [run_label(run) for run in runs]


links = st.container(horizontal=True)
for dataset_id, runs in made.runs.items():
    if links.button(
        f"{paper.PAPER[dataset_id].title} runs on Compare",
        icon=":material/arrow_forward:",
        key=f"lab:compare:{dataset_id}",
        on_click=show_on_compare,
        args=(runs,),
        help="Opens Compare on the plan's runs of this task.",
    ):
        st.switch_page("app_pages/compare.py")

# ---- cost against sequence length -------------------------------------------------------------------

st.subheader("Cost against sequence length")
st.caption(
    "Training samples per second and inference latency per sample at T = 32 to 1,024, on random input as "
    "wide as the data, after a warm-up; measured by a worker, once per model and length, and kept in the "
    "store. Each model keeps its layers at every length (a TCN its receptive field)."
)


def model_sources() -> dict[str, tuple[Any, dict[str, ModelSpec]]]:
    """Where the models to measure come from: the benchmark presets and, where the visitor's data is
    read as a sequence, their own models on it; each with the data's signature.
    """
    benchmark = load_choice(BENCHMARK)
    sources = {"Benchmark presets": (benchmark.signature, presets_for(benchmark.signature))}
    dataset = current_dataset()
    if dataset is not None and dataset.signature.input.axes in (SEQUENCE, TOKENS):
        mine = {name: spec_of(model) for name, model in models_for(dataset).items()}
        sources[f"Your models on {dataset.info.name}"] = (dataset.signature, mine)
    return sources


sources = model_sources()
source = st.radio("Models", list(sources), horizontal=True, key="lab:cost:source")
signature, available = sources[source]
chosen = st.multiselect("Measure", list(available), default=list(available), key=f"lab:cost:{source}")
try:
    points = length_cost.plan({name: available[name] for name in chosen}, signature)
except UserError as error:
    st.error(literal(error))
    points = []
keys = [point.key for point in points]
found = store.calibrations(keys)
measuring_now = measuring(found)
if measuring_now:
    pool.ensure()  # a worker for the measurements


def request_measurements() -> None:
    store.request_calibrations(length_cost.requests(points))
    store.retry_calibrations(keys)
    pool.ensure()


measure_button, measure_time = st.columns([1, 4], vertical_alignment="center")
measure_button.button(
    "Measure",
    icon=":material/speed:",
    on_click=request_measurements,
    disabled=not points or measuring_now,
    help="Measures what the store does not hold yet.",
)
if points and not all(found.get(key, {}).get("status") == WorkStatus.DONE for key in keys):
    with measure_time:
        time_estimate(
            length_cost.calibration_requests(points, signature),
            lambda calibrations: length_cost.seconds(points, signature, calibrations, found),
            "lab:estimate:measure",
        )


def cost_chart(measured: length_cost.Measured, column: str, slope: str, title: str) -> alt.Chart:
    """Milliseconds per sample against T on log-log axes, a line per model with its slope in the legend."""
    fitted = measured.slopes().set_index("model")[slope]
    data = measured.frame.dropna(subset=[column])
    data = data.assign(
        label=[
            f"{model} (slope {fitted[model]:.2f})" if model in fitted else model for model in data["model"]
        ]
    )
    return (
        alt.Chart(data, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "length:Q",
                title="Sequence length T",
                scale=alt.Scale(type="log", base=2),
                axis=alt.Axis(values=sorted({int(length) for length in data["length"]})),
            ),
            y=alt.Y(f"{column}:Q", title="ms per sample", scale=alt.Scale(type="log")),
            color=alt.Color("label:N", title="Model (log-log slope)", legend=alt.Legend(labelLimit=400)),
            tooltip=["model", "length", alt.Tooltip(f"{column}:Q", format=".4f")],
        )
        .properties(height=260)
    )


def cost_panel() -> None:
    """The measurements so far: a progress bar while a worker measures (polled only then),
    the two log-log charts with each model's slope, a table and what they show.
    """
    calibrations = polled_calibrations(store, keys, found, measuring_now)
    measured = length_cost.Measured.of(points, calibrations)
    done = int((measured.frame["status"] == WorkStatus.DONE).sum())
    if measuring_now:
        st.progress(done / len(points), text=f"{done} of {len(points)} measurements made…")
    if not done:
        if not measuring_now and points:
            st.caption("Nothing measured yet for these models: press Measure.")
        return
    charts = (
        ("train_ms", "train_slope", "Training: ms per sample"),
        ("latency_ms", "latency_slope", "Inference (batched): ms per sample"),
    )
    for column, slope, title in charts:
        st.altair_chart(cost_chart(measured, column, slope, title), width="stretch")
    if text := measured.sentence():
        st.markdown(literal(text))
    table = measured.frame.pivot_table(
        index="model", columns="length", values="samples_per_second", sort=False
    )
    table = table.rename_axis("Model").rename(columns=lambda length: f"T = {length:,}")
    st.caption("Training samples per second")
    st.dataframe(table.round(0), width="stretch")
    for row in measured.frame[measured.frame["status"] == WorkStatus.FAILED].itertuples():
        st.caption(literal(f"{row.model} at T = {row.length}: {sentence(row.reason)}"))


if points:
    st.fragment(cost_panel, run_every=POLL_SECONDS if measuring_now else None)()
