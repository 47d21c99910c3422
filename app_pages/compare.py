"""Compare: runs side by side — metrics, curves, time, size, and what each got right or wrong."""

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.parts.disagreement_panel import disagreement_section
from app_pages.parts.fair_compare import band_section, groups_of, seed_group_section, significance_section
from app_pages.parts.lesson_card import lesson_card_section
from app_pages.parts.memory_panels import memory_section
from app_pages.parts.publishing import publish_section, published_comparison
from app_pages.parts.services import current_dataset, delete_runs, finished_runs, run_signature, run_store
from app_pages.parts.task_panels import PANELS
from app_pages.parts.visitor import WORKSPACE, state
from app_pages.parts.widgets import literal, sentence
from core.compare.table import (
    SIZE_AND_SPEED,
    comparable_groups,
    comparison_table,
    curve_metrics,
    curves,
    verdict,
)
from core.compare.verdicts import beats_baseline
from core.errors import UserError
from core.exchange.bundle import export_bundle, import_into
from core.exchange.script import NOT_REPRODUCIBLE, reproduce_script, reproducible, script_name
from core.runs.record import group_label, run_label
from core.tasks.registry import TASKS

NARROW = {  # the run's label already names its model: these columns make room for the scores at 1280 px
    name: st.column_config.TextColumn(width="small") for name in ("Model", "Family", "Status")
}
session = state()
dataset = current_dataset()
st.title("Compare")
store = run_store()
published = published_comparison(store)
if published:
    st.info(
        literal(f"A published comparison, read-only: {published['title']}.")
        + " Its runs are copies frozen when it was published; download the bundle to work on them."
    )
    records = published["runs"]
else:
    st.caption(
        f"Runs of workspace **{session['workspace']}**, kept across restarts. "
        f"Open them anywhere with the link `?workspace={session['workspace']}`."
    )
    records = finished_runs(store)
if notice := session.pop("compare:notice", None):
    st.success(literal(notice))


def import_section() -> None:
    """Import a bundle exported from this app into this workspace."""
    st.subheader("Import runs")
    bundle_file = st.file_uploader(
        "A comparison bundle (JSON) exported from this app", type=["json"], key="compare:import"
    )
    if bundle_file is not None and st.button("Import", icon=":material/upload:", disabled=store is None):
        try:
            added, known = import_into(store, bundle_file.getvalue(), session[WORKSPACE])
        except UserError as error:
            st.error(literal(error))
        else:
            already = f" {known} were already here and were left as they are." if known else ""
            session["compare:notice"] = f"Imported {added} run(s) into this workspace.{already}"
            st.rerun()


if not records:
    st.info("No finished runs yet: train a CNN and an RNN on the Train page, then come back.")
    st.page_link("app_pages/train.py", label="Go to Train", icon=":material/arrow_forward:")
    import_section()
    st.stop()

groups = comparable_groups(records)
current = next(
    (key for key, runs in groups.items() if dataset and runs[0]["dataset"] == dataset.info.id),
    next(iter(groups)),
)
group = st.selectbox(
    "Dataset",
    list(groups),
    index=list(groups).index(current),
    format_func=lambda key: (
        f"{group_label(groups[key][0])} · {len(groups[key])} run{'s' * (len(groups[key]) > 1)}"
    ),
    key="compare:group",
    help="Runs are compared only with runs of the same data, split and preprocessing.",
)
by_label = {run_label(record): record for record in groups[group]}
chosen = st.multiselect("Runs", list(by_label), default=list(by_label), key=f"compare:runs:{group}")
selected = [by_label[label] for label in chosen]
if not selected:
    st.info("Choose at least one run.")
    st.stop()

table, best = comparison_table(selected)


def highlight(column: pd.Series) -> list[str]:
    marks = best.get(column.name, [False] * len(column))
    return ["background-color: #d8f0d8; font-weight: bold" if mark else "" for mark in marks]


def downloads(record: dict[str, Any]) -> None:
    """The trained model (.keras) and a plain-Keras script that reproduces the run."""
    cells = st.columns(2)
    model_file = store.model(record["id"]) if store and not published else None
    if model_file:
        cells[0].download_button(
            "Model (.keras)",
            model_file,
            file_name=f"{record['name']}-{record['id']}.keras",
            mime="application/zip",
            key=f"model:{record['id']}",
            icon=":material/download:",
        )
    if not reproducible(record):
        cells[1].caption(NOT_REPRODUCIBLE)
        return
    try:
        script = reproduce_script(record, run_signature(record))
    except UserError as error:
        cells[1].caption(literal(error))
    else:
        cells[1].download_button(
            "Keras script",
            script,
            file_name=script_name(record),
            mime="text/x-python",
            key=f"script:{record['id']}",
            icon=":material/download:",
        )


TABS = [
    "Results",
    "Where they disagree",
    "Gradients and memory",
    "Lesson card",
    "Each run",
    "Import, publish and delete",
]
results_tab, disagreement_tab, memory_tab, card_tab, runs_tab, *manage = st.tabs(
    TABS[:-1] if published else TABS  # a published comparison cannot be changed
)
with results_tab:
    st.subheader("Side by side")
    for record in selected:
        if message := verdict(record):
            st.warning(literal(sentence(message)), icon=":material/block:")
    cost = ["Run", *SIZE_AND_SPEED]  # a second table, so that neither hides a column at 1280 px
    for shown_columns in ([c for c in table.columns if c not in SIZE_AND_SPEED], cost):
        st.dataframe(
            table[shown_columns].style.apply(highlight).format(precision=4, thousands=",", na_rep="–"),
            hide_index=True,
            width="stretch",
            column_config=NARROW,
        )
    st.caption(
        "Baselines score the same test split without a model: always the commonest training class "
        "(majority), a uniform guess (chance), the last value (naive), character frequencies (unigram), "
        "the training mean (regression) or the label frequencies at each step (sequence labelling). "
        '"Beats baseline" is a test where the run kept its test results example by example (exact test '
        "against the majority class, Wilcoxon test against the naive forecast): yes only at p < 0.05. The "
        "best value of each column is highlighted only among completed runs that beat their baseline. "
        "Latency is per sample."
    )
    with st.expander("How each run was judged against its baseline"):
        for record in selected:
            st.markdown(f"- {literal(beats_baseline(record).sentence)}")
    actions = st.columns([1, 1, 2])
    actions[0].download_button(
        "Download CSV",
        table.to_csv(index=False),
        file_name="comparison.csv",
        mime="text/csv",
        icon=":material/download:",
    )
    actions[1].download_button(
        "Download bundle",
        export_bundle(selected),
        file_name="comparison-bundle.json",
        mime="application/json",
        icon=":material/download:",
        help="Configs, histories and metrics of these runs, to import on another instance.",
    )

    seed_groups = groups_of(selected)
    seed_group_section(seed_groups)
    significance_section(seed_groups)

    st.subheader("Learning curves")
    metrics = curve_metrics(selected)
    controls = st.columns(2)
    metric = controls[0].selectbox("Metric", metrics, key="compare:metric") if metrics else None
    axis = controls[1].radio(
        "X axis",
        ["epoch", "wall_seconds"],
        horizontal=True,
        key="compare:axis",
        format_func={"epoch": "Epoch", "wall_seconds": "Wall time (s)"}.get,
    )
    axis_title = TASKS[selected[0]["task"]].curve_title(metric) if metric else ""
    if metric and not (axis == "epoch" and band_section(seed_groups, metric, axis_title)):
        frame = curves(selected, metric)
        chart = (
            alt.Chart(frame, title=f"{axis_title} by {'epoch' if axis == 'epoch' else 'wall time'}")
            .mark_line(point=True)
            .encode(
                x=alt.X(
                    f"{axis}:Q",
                    title="Epoch" if axis == "epoch" else "Seconds since training began",
                    axis=alt.Axis(tickMinStep=1, format="d") if axis == "epoch" else alt.Axis(),
                ),
                y=alt.Y("value:Q", title=axis_title),
                color=alt.Color("run:N", title="Run"),
                strokeDash=alt.StrokeDash(
                    "split:N",
                    title="Split",
                    sort=["train", "validation"],
                    legend=alt.Legend(symbolType="stroke"),
                ),
                tooltip=["run", "split", "epoch", alt.Tooltip("value:Q", format=".4f")],
            )
            .properties(height=320)
        )
        st.altair_chart(chart, width="stretch")

with disagreement_tab:
    disagreement_section(selected, store)

with memory_tab:
    memory_section(selected)

with card_tab:
    lesson_card_section(selected, records, None if published else store)

with runs_tab:
    columns = st.columns(min(len(selected), 2))  # two panels a row: a confusion matrix fits at 1280 px
    for index, record in enumerate(selected):
        with columns[index % len(columns)], st.container(border=True):
            st.markdown(f"**{literal(run_label(record))}** · {record['family']} · {record['status']}")
            if record["metrics"]:
                PANELS[record["task"]](record)
            else:
                st.error(literal(sentence(record["reason"])) if record["reason"] else "No test metrics.")
            downloads(record)

if manage:  # the workspace's own runs, not a published comparison
    with manage[0]:
        import_section()
        if store is not None:
            publish_section(
                selected, store, session[WORKSPACE], f"{group_label(selected[0])} · {len(selected)} runs"
            )
        st.subheader("Delete runs")
        doomed = st.multiselect("Runs to delete", list(by_label), key="compare:delete")
        confirmed = st.checkbox(
            f"Yes, delete {len(doomed)} run{'s' * (len(doomed) != 1)} with their models; this cannot be "
            "undone",
            key="compare:delete:confirm",
            disabled=not doomed,
        )
        if st.button("Delete", icon=":material/delete:", disabled=not (doomed and confirmed)):
            delete_runs({by_label[label]["id"] for label in doomed}, store)
            del st.session_state["compare:delete:confirm"]
            st.rerun()
