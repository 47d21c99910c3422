"""How far back each model's gradient reaches: its heatmap through time (Train's too), and receptive field
against memory horizon on Compare.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.parts.widgets import literal
from core.compare.memory import (
    PROBE_SAMPLES,
    gradient_frame,
    log_ticks,
    memory_frame,
    memory_sentences,
    step_word,
)
from core.runs.record import input_gradient, run_label

GRADIENT_CAPTION = (
    "Each row is an epoch, each column an input step, the last one nearest the output; the colour is how "
    f"strongly the loss depends on that step (the gradient's norm on the first {PROBE_SAMPLES} validation "
    "samples, log scale). Colours darkening towards the left are a vanishing gradient: the early steps "
    "barely matter."
)
MEASURES = ["receptive field", "memory horizon"]
WIDTH_ONLY = alt.AutoSizeParams(type="fit-x", contains="padding")  # the width fits, the height is the plot's


def gradient_chart(
    record: dict[str, Any], frame: pd.DataFrame, domain: list[float] | None = None
) -> alt.Chart:
    """The run's gradient through time: epochs x input steps, coloured by the gradient's norm (log
    scale; ``domain`` shares one colour scale between charts). ``frame`` is ``gradient_frame(record)``.
    """
    length = len(input_gradient(record)[-1])
    epochs = frame["epoch"].nunique()
    ends = domain or ([float(frame["norm"].min()), float(frame["norm"].max())] if len(frame) else None)
    return (
        alt.Chart(frame, title=alt.Title(run_label(record), subtitle="Gradient through time"))
        .transform_calculate(start="datum.first - 0.5", end="datum.last + 0.5")
        .mark_rect()
        .encode(
            x=alt.X(
                "start:Q",
                title=f"Input {step_word(record)} (the output comes after the last)",
                scale=alt.Scale(domain=[0.5, length + 0.5], nice=False, zero=False),
            ),
            x2="end:Q",
            y=alt.Y("epoch:O", title="Epoch"),
            color=alt.Color(
                "norm:Q",
                title="Gradient norm",
                scale=alt.Scale(type="log", scheme="viridis", **({"domain": domain} if domain else {})),
                legend=alt.Legend(
                    orient="bottom",
                    gradientLength=240,
                    format="~e",
                    values=log_ticks(*ends) if ends else alt.Undefined,
                ),
            ),
            tooltip=["epoch", "first", "last", alt.Tooltip("norm:Q", format=".3g")],
        )
        .properties(height=min(max(14 * epochs, 42), 240), autosize=WIDTH_ONLY)
    )


def memory_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Each run's receptive field and memory horizon as bars reaching back from the last input step,
    with the sequence length as a dashed line.
    """
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("steps:Q", title="Steps back from the last input step"),
            y=alt.Y("run:N", title=None, axis=alt.Axis(labelLimit=240)),
            yOffset=alt.YOffset("measure:N", sort=MEASURES),
            color=alt.Color("measure:N", title=None, sort=MEASURES, legend=alt.Legend(orient="bottom")),
            tooltip=["run", "measure", "label", "note"],
        )
    )
    labels = bars.mark_text(align="left", dx=3, fontSize=11).encode(text="label:N", color=alt.value("#222"))
    length = pd.DataFrame({"length": [int(frame["length"].max())]})
    rule = alt.Chart(length).mark_rule(strokeDash=[4, 3], color="#888").encode(x="length:Q")
    return (bars + labels + rule).properties(
        title="Receptive field and memory horizon", height=40 * frame["run"].nunique(), autosize=WIDTH_ONLY
    )


def memory_section(selected: list[dict[str, Any]]) -> None:
    """The probed runs' gradient heatmaps side by side on one colour scale, then every run's receptive
    field and memory horizon on one time axis.
    """
    probed = [record for record in selected if input_gradient(record)]
    st.subheader("Gradients through time")
    if not probed:
        st.info(
            "None of these runs has gradients through time to show. A run probes them at the end of each "
            "epoch; runs from an older version or a bundle may lack them, and a diverging run has none."
        )
        return
    frames = [gradient_frame(record) for record in probed]
    norms = pd.concat(frames)["norm"]
    domain = [float(norms.min()), float(norms.max())] if len(norms) else None
    columns = st.columns(min(len(probed), 2))
    for index, (record, frame) in enumerate(zip(probed, frames, strict=True)):
        columns[index % len(columns)].altair_chart(
            gradient_chart(record, frame, domain), width="stretch", key=f"compare:gradient:{record['id']}"
        )
    st.caption(f"{GRADIENT_CAPTION} One colour scale for all runs.")
    memory = memory_frame(probed)
    if memory.empty:
        return
    st.altair_chart(memory_chart(memory), width="stretch")
    st.caption(
        "Each bar reaches back from the last input step. The receptive field is how far back the "
        "architecture lets the output see: the whole sequence (the dashed line) through a recurrent layer, "
        "or where Flatten or global pooling combines every position, else one position's span. The memory "
        "horizon is how far back the trained model's gradient still reaches 1% of its largest value."
    )
    for text in memory_sentences(probed):
        st.markdown(f"- {literal(text)}")
