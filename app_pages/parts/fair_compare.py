"""Compare's fairness panels: seed groups with bands, and whether differences are significant."""

from __future__ import annotations

from typing import Any

import altair as alt
import streamlit as st

from app_pages.parts.widgets import literal
from core.compare.seed_groups import SeedGroup, group_curves, group_table, seed_groups
from core.compare.significance import group_verdicts, verdict_rows
from core.runs.record import RunStatus

MOST_PAIRS = 15  # significance tests shown at once (pairs of groups)
SPLIT_ORDER = ["train", "validation"]


def sentence_case(text: str) -> str:
    """The first letter upper case, the rest (model names) as written."""
    return text[:1].upper() + text[1:]


def groups_of(selected: list[dict[str, Any]]) -> list[SeedGroup]:
    """The selected completed runs grouped by configuration (runs differing only in their seed)."""
    return seed_groups([record for record in selected if record["status"] == RunStatus.COMPLETED])


def seed_group_section(groups: list[SeedGroup]) -> None:
    """The groups' test metrics as mean ± sd with a 95% interval, where any group has two runs or more;
    and how many runs repeated a seed.
    """
    if any(len(group.runs) > 1 for group in groups):
        st.subheader("Seed groups")
        st.table(group_table(groups).set_index("Group"))  # a table wraps its long cells: none is hidden
        st.caption(
            "Runs of one configuration that differ only in their seed form a group. Each cell is the mean "
            "over the group's runs ± their standard deviation, and the range where the true mean lies with "
            "95% confidence (Student's t). Train a model with several seeds on the Train page to form a "
            "group."
        )
    if repeats := sum(group.repeats for group in groups):
        st.caption(
            f"{repeats} run{'s' * (repeats > 1)} repeated a seed of the same configuration and "
            f"{'are' if repeats > 1 else 'is'} left out of the tests: a seed trained twice gives the same "
            "result, so each model counts its newest run of each seed once."
        )


def band_chart(groups: list[SeedGroup], metric: str, split: str, axis_title: str) -> alt.LayerChart:
    """Each group's mean curve, with its min-max band (light) and ±1 sd band (darker); ``axis_title`` names
    the metric with its unit.
    """
    frame = group_curves(groups, metric)
    frame = frame[frame["split"] == split]
    base = alt.Chart(frame, title=f"{axis_title} ({split}), mean of each group").encode(
        x=alt.X("epoch:Q", title="Epoch", axis=alt.Axis(tickMinStep=1, format="d")),
        color=alt.Color("group:N", title="Group"),
    )
    spread = base.mark_area(opacity=0.12).encode(y=alt.Y("min:Q", title=axis_title), y2="max:Q")
    deviation = base.mark_area(opacity=0.28).encode(y="low:Q", y2="high:Q")
    mean = base.mark_line(point=True).encode(
        y="mean:Q",
        tooltip=[
            "group",
            "epoch",
            "runs",
            alt.Tooltip("mean:Q", format=".4f"),
            alt.Tooltip("sd:Q", format=".4f"),
            alt.Tooltip("min:Q", format=".4f"),
            alt.Tooltip("max:Q", format=".4f"),
        ],
    )
    return (spread + deviation + mean).properties(height=320)


def band_section(groups: list[SeedGroup], metric: str, axis_title: str) -> bool:
    """Bands for the seed groups, when any has two runs or more and the user keeps them on; returns
    whether they were drawn (instead of one line per run).
    """
    if not any(len(group.runs) > 1 for group in groups):
        return False
    cells = st.columns(2)
    if not cells[0].toggle("Seed groups as bands", value=True, key="compare:bands"):
        return False
    split = cells[1].radio(
        "Split", SPLIT_ORDER, index=1, horizontal=True, key="compare:band_split", format_func=str.title
    )
    st.altair_chart(band_chart(groups, metric, split, axis_title), width="stretch")
    st.caption(
        "Line: the mean over the group's runs. Dark band: ±1 standard deviation. Light band: min to max."
    )
    return True


def significance_section(groups: list[SeedGroup]) -> None:
    """For each pair of groups (single runs included): the right test, its p-value and a sentence."""
    if len(groups) < 2:
        return
    found = group_verdicts(groups, MOST_PAIRS)
    pairs = len(groups) * (len(groups) - 1) // 2
    st.subheader("Is the difference real?")
    table = verdict_rows(found)
    marked = table["Verdict"].str.contains(" is better than ")
    st.table(  # a table wraps its cells, so no column is hidden at 1280 px
        table.set_index(["A", "B"])
        .style.apply(lambda _: ["font-weight: bold" if mark else "" for mark in marked], subset=["Verdict"])
        .format(na_rep="–", precision=0)
    )
    st.caption(
        "Smallest p: the smallest p-value these counts of seeds (or of examples told apart) can reach, even "
        "with a perfect separation. Seeds needed: roughly how many seeds of each model would show a gap "
        "this size at p < 0.05 four times in five, from the seeds' spread so far (an estimate)."
    )
    if pairs > MOST_PAIRS:
        st.caption(f"The first {MOST_PAIRS} of {pairs} pairs; choose fewer runs to see the others.")
    st.caption(
        "A model is called better only when the test's p-value is below 0.05: the chance of a difference "
        "at least this large if the two were equally good. Two seed groups of two runs or more: Welch's "
        "t-test over their seeds. Otherwise one run of each on the same test split: McNemar's exact test on "
        "the examples only one gets right (classification) or the Wilcoxon signed-rank test on each "
        "window's error (forecasting). Every tab shows this same verdict for a pair."
    )
    with st.expander("What each test says"):
        for first, second, verdict in found:
            st.markdown(f"- {literal(f'{first.label} against {second.label}: {verdict.text}')}")
