"""Compare's fairness panels: seed groups with bands, whether differences are significant, where two
runs disagree, example by example, and how far back each model's gradient reaches (its heatmap is
Train's too).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from app_pages.parts.widgets import literal
from core.compare.disagreement import ClassDisagreement, examples_dataset, items_of, names_of
from core.compare.memory import PROBE_SAMPLES, gradient_frame, memory_frame, step_word
from core.compare.pair import TITLES, compare_pair
from core.compare.seed_groups import SeedGroup, group_curves, group_table, seed_groups
from core.compare.significance import compare, probability
from core.errors import UserError
from core.runs.record import RunStatus, input_gradient, run_label
from core.runs.store import RunStore
from core.tasks.registry import TASKS

MOST_PAIRS = 15  # significance tests shown at once (pairs of groups)
SPLIT_ORDER = ["train", "validation"]


def sentence_case(text: str) -> str:
    """The first letter upper case, the rest (model names) as written."""
    return text[:1].upper() + text[1:]


def groups_of(selected: list[dict[str, Any]]) -> list[SeedGroup]:
    """The selected completed runs grouped by configuration (runs differing only in their seed)."""
    return seed_groups([record for record in selected if record["status"] == RunStatus.COMPLETED])


def seed_group_section(groups: list[SeedGroup]) -> None:
    """The groups' test metrics as mean ± sd with a 95% interval, where any group has two runs or more."""
    if not any(len(group.runs) > 1 for group in groups):
        return
    st.subheader("Seed groups")
    st.dataframe(group_table(groups), hide_index=True, width="stretch")
    st.caption(
        "Runs of one configuration that differ only in their seed form a group. Each cell is the mean "
        "over the group's runs ± their standard deviation, and the range where the true mean lies with "
        "95% confidence (Student's t). Train a model with several seeds on the Train page to form a group."
    )


def band_chart(groups: list[SeedGroup], metric: str, split: str, title: str) -> alt.LayerChart:
    """Each group's mean curve, with its min-max band (light) and ±1 sd band (darker)."""
    frame = group_curves(groups, metric)
    frame = frame[frame["split"] == split]
    base = alt.Chart(frame, title=title).encode(
        x=alt.X("epoch:Q", title="Epoch", axis=alt.Axis(tickMinStep=1, format="d")),
        color=alt.Color("group:N", title="Group"),
    )
    spread = base.mark_area(opacity=0.12).encode(y=alt.Y("min:Q", title=metric), y2="max:Q")
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


def band_section(groups: list[SeedGroup], metric: str, title: str) -> bool:
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
    st.altair_chart(
        band_chart(groups, metric, split, f"{title} ({split}), mean of each group"), width="stretch"
    )
    st.caption(
        "Line: the mean over the group's runs. Dark band: ±1 standard deviation. Light band: min to max."
    )
    return True


def significance_section(groups: list[SeedGroup]) -> None:
    """For each pair of groups (single runs included): the right test, its p-value and a sentence."""
    if len(groups) < 2:
        return
    pairs = list(combinations(groups, 2))
    rows, sentences, untested = [], [], []
    for first, second in pairs[:MOST_PAIRS]:
        try:
            result = compare(first.runs, second.runs, (first.label, second.label))
        except UserError as error:
            untested.append(str(error))
            continue
        verdict = result.mark or "no significant difference"
        rows.append(
            {
                "A": first.label,
                "B": second.label,
                "Test": result.test,
                "p-value": probability(result.p_value),
                "Verdict": verdict,
            }
        )
        sentences.append(f"{first.label} against {second.label}: {result.sentence}")
    st.subheader("Is the difference real?")
    if untested:
        count = f"{len(untested)} pair{'s' * (len(untested) > 1)} not tested"
        st.caption(
            literal(f"{count}: {untested[0]} Train several seeds of each model to compare their groups.")
        )
    if not rows:
        return
    table = pd.DataFrame(rows)
    marked = table["Verdict"].str.contains(" is better than ")
    st.dataframe(
        table.style.apply(
            lambda _: ["font-weight: bold" if mark else "" for mark in marked], subset=["Verdict"]
        ),
        hide_index=True,
        width="stretch",
    )
    if len(pairs) > MOST_PAIRS:
        st.caption(f"The first {MOST_PAIRS} of {len(pairs)} pairs; choose fewer runs to see the others.")
    st.caption(
        "A model is called better only when the test's p-value is below 0.05: the chance of a difference "
        "at least this large if the two were equally good. Two seed groups: Welch's t-test over their seeds. "
        "Two single runs: McNemar's exact test on the examples only one gets right (classification) or the "
        "Wilcoxon signed-rank test on each window's error (forecasting)."
    )
    with st.expander("What each test says"):
        for text in sentences:
            st.markdown(f"- {literal(text)}")


def disagreement_section(
    selected: list[dict[str, Any]], records: list[dict[str, Any]], store: RunStore | None
) -> None:
    """Two runs picked by the user: the 2x2 table with its test, and examples (or windows) per cell."""
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
        found = compare_pair(labels[first], labels[second], records, store)
    except UserError as error:
        st.info(literal(error))
        return
    name_a, name_b = names_of(found.a, found.b)
    st.caption(literal(f"Counted over {found.found.coverage()}."))
    st.dataframe(found.found.table(), width="content")
    (st.success if found.test.mark else st.info)(literal(found.test.sentence))
    if found.groups:
        group_a, group_b, test = found.groups
        st.caption(literal(f"Seed groups {group_a.label} and {group_b.label}: {test.sentence}"))
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
    forecasts and the naive forecast.
    """
    for side in "ab":
        shown = found.examples[f"{side}_worse"]
        st.markdown(f"**{literal(sentence_case(TITLES[f'{side}_worse'].format(**names)))}**")
        if not shown:
            st.caption("None: it is never the further from the truth.")
            continue
        columns = st.columns(len(shown))
        for cell, window in zip(columns, shown, strict=True):
            frame = found.found.window_frame(window["index"])
            when = f" ({window['time']})" if window["time"] else ""
            chart = (
                alt.Chart(frame, title=f"Window {window['index']}{when}")
                .mark_line(point=True)
                .encode(
                    x=alt.X("step:Q", title="Steps from the first forecast"),
                    y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
                    color=alt.Color("line:N", title=None),
                    strokeDash=alt.condition(
                        alt.datum.line == "naive (last value)", alt.value([4, 3]), alt.value([1, 0])
                    ),
                )
                .properties(height=200)
            )
            cell.altair_chart(chart, width="stretch")
            errors = f"Error {names['a']} {window['a_error']:.4g}, {names['b']} {window['b_error']:.4g}"
            cell.caption(literal(errors))


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
    return (
        alt.Chart(frame, title=f"Gradient through time · {record['name']}")
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
                legend=alt.Legend(orient="bottom", gradientLength=160, format=".1e"),
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
        "architecture lets one output position see (unbounded for recurrent layers, drawn to the dashed "
        "sequence length; Flatten or global pooling then combines all positions); the memory horizon is "
        "how far back the trained model's gradient still reaches 1% of its largest value. A horizon far "
        "shorter than the receptive field: the model can see further than it learned to use."
    )
