"""Compare's "Where they disagree": two runs side by side, example by example (or window by window)."""

from __future__ import annotations

from typing import Any

import altair as alt
import numpy as np
import streamlit as st

from app_pages.parts.fair_compare import sentence_case
from app_pages.parts.memory_panels import WIDTH_ONLY
from app_pages.parts.widgets import literal, target_unit, with_unit
from core.compare.disagreement import ClassDisagreement, examples_dataset, items_of, names_of
from core.compare.pair import TITLES, compare_pair
from core.errors import UserError
from core.runs.record import RunStatus, run_label
from core.runs.store import RunStore
from core.tasks.registry import TASKS

WINDOWS_PER_ROW = 2  # forecast windows side by side: each stays readable at 1280 px


def disagreement_section(selected: list[dict[str, Any]], store: RunStore | None) -> None:
    """Two runs picked by the user: the 2x2 table, the verdict on their models (the same as Results
    gives, over the selected runs' seed groups), and examples (or windows) per cell.
    """
    candidates = [
        record for record in selected if record["status"] == RunStatus.COMPLETED and record["metrics"]
    ]
    st.subheader("Where two models disagree")
    if len(candidates) < 2:
        st.info("Choose two or more completed runs above to see, example by example, where they disagree.")
        return
    if TASKS[candidates[0]["task"]].example_results is None:
        compared = " and ".join(name for name, task in TASKS.items() if task.example_results)
        st.info(f"Runs are compared example by example for {compared} only.")
        return
    labels = {run_label(record): record for record in candidates}
    cells = st.columns(2)
    first = cells[0].selectbox("Run A", list(labels), index=0, key="compare:disagree:a")
    other_model = next(  # by default, B is the first run of another model
        (index for index, record in enumerate(candidates) if record["name"] != candidates[0]["name"]), 1
    )
    second = cells[1].selectbox("Run B", list(labels), index=other_model, key="compare:disagree:b")
    if first == second:
        st.info("Choose two different runs.")
        return
    try:
        found = compare_pair(labels[first], labels[second], selected, store)
    except UserError as error:
        st.info(literal(error))
        return
    name_a, name_b = names_of(found.a, found.b)
    st.caption(literal(f"Counted over {found.found.coverage()}."))
    st.dataframe(found.found.table(), width="content")
    verdict = found.verdict
    first, second = verdict.names
    st.markdown(f"**{literal(f'Verdict on {first} against {second}: {verdict.summary}.')}**")
    (st.success if verdict.mark else st.info)(literal(verdict.sentence))
    if verdict.seed_note:
        st.caption(literal(verdict.seed_note))
    names = {"a": name_a, "b": name_b}
    if isinstance(found.found, ClassDisagreement):
        dataset, note = examples_dataset(found.a, store)  # the texts or pixels of the examples
        if note:
            st.caption(literal(note))
        class_examples(found.found.examples(dataset=dataset), names, items_of(found.a))
    else:
        forecast_windows(found, names)


def class_examples(examples: dict[str, list[dict[str, Any]]], names: dict[str, str], items: str) -> None:
    """Up to a few examples of each cell, most confident mistakes first."""
    order = ["only_a_right", "only_b_right", "both_wrong", "both_right"]  # disagreements first
    tabs = st.tabs([literal(sentence_case(TITLES[key].format(**names))) for key in order])
    for tab, shown in zip(tabs, [examples[key] for key in order], strict=True):
        with tab:
            if not shown:
                st.caption(f"No test {items} here.")
                continue
            captions = [
                literal(
                    f"true {e['true']} · {names['a']}: {e['a_predicted']} ({e['a_confidence']:.0%}) · "
                    f"{names['b']}: {e['b_predicted']} ({e['b_confidence']:.0%})"
                )
                for e in shown
            ]
            if "image" in shown[0]:
                pictures = [np.array(e["image"], dtype=np.uint8) for e in shown]
                pictures = [p[..., 0] if p.shape[-1] == 1 else p for p in pictures]
                st.image(pictures, caption=captions, width=96)
                continue
            for example, caption in zip(shown, captions, strict=True):
                text = (
                    f"*{literal(example['text'][:200])}* — "
                    if "text" in example
                    else f"#{example['index']}: "
                )
                st.markdown(f"- {text}{caption}")


def forecast_windows(found: Any, names: dict[str, str]) -> None:
    """The windows where one model's error most exceeds the other's: what it read, the truth, both
    forecasts and the naive forecast; two charts a row, the legend under each, so that each is readable
    at 1280 px.
    """
    target = found.a["metrics"]["forecast"]["target"]
    axis = with_unit(target, target_unit(found.a))
    for side in "ab":
        shown = found.examples[f"{side}_worse"]
        st.markdown(f"**{literal(sentence_case(TITLES[f'{side}_worse'].format(**names)))}**")
        if not shown:
            st.caption("None: it is never the further from the truth.")
            continue
        for start in range(0, len(shown), WINDOWS_PER_ROW):
            cells = st.columns(WINDOWS_PER_ROW)
            for cell, window in zip(cells, shown[start : start + WINDOWS_PER_ROW], strict=False):
                cell.altair_chart(window_chart(found, window, axis), width="stretch")
                errors = f"Error {names['a']} {window['a_error']:.4g}, {names['b']} {window['b_error']:.4g}"
                cell.caption(literal(errors))


def window_chart(found: Any, window: dict[str, Any], axis: str) -> alt.Chart:
    """One test window: the truth over the steps it read and forecast, the two forecasts and the naive
    one drawn under it, titled by its number and first forecast time.
    """
    frame = found.found.window_frame(window["index"])
    title = alt.TitleParams(f"Window {window['index']}", subtitle=str(window["time"] or ""), anchor="start")
    return (
        alt.Chart(frame, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("step:Q", title="Steps from the first forecast (0)"),
            y=alt.Y("value:Q", title=axis, scale=alt.Scale(zero=False)),
            color=alt.Color(
                "line:N", title=None, legend=alt.Legend(orient="bottom", columns=2, labelLimit=220)
            ),
            strokeDash=alt.condition(
                alt.datum.line == "naive (last value)", alt.value([4, 3]), alt.value([1, 0])
            ),
            order=alt.Order("drawn:Q"),
        )
        .transform_calculate(drawn="datum.line == 'truth' ? 1 : 0")  # the truth on top
        .properties(height=220, autosize=WIDTH_ONLY)  # the plot keeps its height beside the legend
    )
