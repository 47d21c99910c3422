"""The lesson's comparison card on Compare: a row per thing the lesson weighs, a column per model, each
cell from this comparison's measurements (``core.lab.lesson_card``), and the one click that fills a gap.
"""

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.parts.services import run_signature, worker_pool
from app_pages.parts.widgets import literal, sentence
from core.compare.seed_groups import seed_groups
from core.errors import UserError
from core.exchange.script import reproducible
from core.lab import length_cost
from core.lab.lesson_card import card_rows, length_accuracy
from core.model.spec import ModelSpec
from core.runs.estimates import measuring
from core.runs.record import WorkStatus, signature_of
from core.runs.store import RunStore


def cost_points(selected: list[dict[str, Any]]) -> list[length_cost.Point]:
    """The cost-against-length measurements of the selected runs' models on their data's shape (one per
    seed group, keyed like the Lab's, so a measurement made there is found here); UserError when the
    data cannot be measured that way.
    """
    record = selected[0]
    if signature_of(record) is None and not reproducible(record):
        raise UserError(
            "this run on uploaded data was trained before runs kept their data's shape; train it again "
            "to measure its cost against length"
        )
    signature = run_signature(record)
    specs = {
        group.label: ModelSpec.from_dict(group.runs[0]["config"]["model"]) for group in seed_groups(selected)
    }
    return length_cost.plan(specs, signature)


def length_chart(frame: pd.DataFrame) -> alt.Chart:
    """Accuracy per text-length bucket, a line per model."""
    order = list(frame.sort_values("first")["bucket"].drop_duplicates())
    return (
        alt.Chart(frame, title="Accuracy by text length (test texts, tokens kept)")
        .mark_line(point=True)
        .encode(
            x=alt.X("bucket:N", title="Text length", sort=order, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("accuracy:Q", title="Accuracy", scale=alt.Scale(zero=False)),
            color=alt.Color(
                "model:N",
                title="Model",
                legend=alt.Legend(orient="right", labelLimit=400),
            ),
            tooltip=["model", "bucket", alt.Tooltip("accuracy:Q", format=".3f"), "examples"],
        )
        .properties(height=320)
    )


def lesson_card_section(
    selected: list[dict[str, Any]], records: list[dict[str, Any]], store: RunStore | None
) -> None:
    """The card for the selected runs, with a button that measures cost against length where it lacks."""
    st.subheader("The lesson's comparison card")
    st.caption(
        "Decide by the data's structure, then weigh local features, memory, parallel speed and where each "
        "family won; every cell below is measured on these runs, and an empty one says how to fill it."
    )
    slopes: dict[str, float] = {}
    points: list[length_cost.Point] = []
    cost_missing = "press Measure cost against length below"
    try:
        points = cost_points(selected)
    except UserError as error:
        cost_missing = str(error).rstrip(".")
    found = store.calibrations([point.key for point in points]) if store and points else {}
    if points:
        fitted = length_cost.Measured.of(points, found).slopes()
        slopes = dict(zip(fitted["model"], fitted["train_slope"], strict=True))
    if measuring(found):
        cost_missing = "being measured by a worker; open Compare again in a minute"
    groups, rows = card_rows(selected, records, slopes, cost_missing)
    with st.container(border=True):
        header = st.columns([1, *[2] * len(groups)])
        header[0].markdown("**Row**")
        for cell, group in zip(header[1:], groups, strict=True):
            cell.markdown(f"**{literal(group.label)}**")
        for row in rows:
            st.divider()
            cells = st.columns([1, *[2] * len(groups)])
            cells[0].markdown(f"**{row.title}**  \n:gray[{row.weighs}]")
            if row.summary:
                cells[1].markdown(literal(row.summary))
            for cell, group in zip(cells[1:], groups, strict=True):
                if group.label in row.cells:
                    cell.markdown(literal(row.cells[group.label]))
            for missing in row.missing:
                st.caption(f":material/info: {literal(sentence(missing))}")
    lengths = length_accuracy(groups)
    if not lengths.empty:
        st.altair_chart(length_chart(lengths), width="stretch")
    unmeasured = [point for point in points if found.get(point.key, {}).get("status") != WorkStatus.DONE]
    if (
        store
        and unmeasured
        and st.button(
            "Measure cost against length",
            icon=":material/speed:",
            disabled=measuring(found),
            help="A worker times these models at T = 32 to 1,024 (as on the Lab page), once, and keeps it.",
        )
    ):
        store.request_calibrations(length_cost.requests(unmeasured))
        store.retry_calibrations([point.key for point in unmeasured])
        worker_pool(store).ensure()
        st.rerun()
