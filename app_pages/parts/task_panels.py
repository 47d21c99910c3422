"""Each task's Compare panel, named by its entry in ``core.tasks.registry`` (``PANELS``): what one run
got right or wrong on its test split.
"""

from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from app_pages.parts.widgets import literal, target_unit, with_unit
from core.datasets.registry import column_unit

MATRIX_PIXELS = 260  # a confusion matrix's side at most, so it fits one of two columns at 1280 px
CELL_PIXELS = 40  # a cell's side at most
COUNTED_CELL_PIXELS = 20  # cells at least this wide show their count (three digits); others in a tooltip
NAMED_CELL_PIXELS = 10  # cells at least this wide have their class names on the axes (20 classes: 13 px)
MOST_DRAWN_CLASSES = 50  # beyond this (uploads may have 1,000) a table lists the most confused pairs
CONFUSED_PAIRS = 20
LABEL_PIXELS = 90  # class names wider than this are cut with an ellipsis (the tooltip has them whole)
LABEL_FONT_PIXELS = 11  # class names' font size at most; smaller where a cell is shorter
CHARACTER_PIXELS = 6.5  # about the width of one character of a class name
SLANTED_CELL_PIXELS = 20  # names slanted at 45 degrees need cells this wide not to overlap; narrower: upright


def confusion_panel(record: dict[str, Any]) -> None:
    metrics = record["metrics"]
    names = metrics["class_names"]
    matrix = np.array(metrics["confusion_matrix"])
    if len(names) > MOST_DRAWN_CLASSES:
        confused_pairs(names, matrix)
    else:
        confusion_matrix(names, matrix)
    misclassified_examples(metrics.get("examples", []))


def confused_pairs(names: list[str], matrix: np.ndarray) -> None:
    """Too many classes for a matrix: the off-diagonal cells with the most test samples."""
    rows = [
        {"True": names[i], "Predicted": names[j], "Test samples": int(matrix[i, j])}
        for i, j in zip(*np.nonzero(matrix), strict=True)
        if i != j
    ]
    rows = sorted(rows, key=lambda row: -row["Test samples"])[:CONFUSED_PAIRS]
    too_many = f"{len(names):,} classes are too many to draw as a matrix"
    if not rows:
        st.caption(f"{too_many}, and no test sample was put in the wrong class.")
        return
    st.caption(f"{too_many}; the {len(rows)} pairs of classes confused most often on the test split:")
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def confusion_matrix(names: list[str], matrix: np.ndarray) -> None:
    """The matrix drawn at its own size (its cells stay square)."""
    st.altair_chart(confusion_chart(names, matrix), width="content")


def confusion_chart(names: list[str], matrix: np.ndarray) -> alt.LayerChart | alt.Chart:
    """The matrix as a heatmap of square cells, sized to fit one of two columns at 1280 px, with every
    class name on both axes while a cell is tall enough for one.
    """
    cells = pd.DataFrame(
        [
            {"true": names[i], "predicted": names[j], "count": int(matrix[i, j])}
            for i in range(len(names))
            for j in range(len(names))
        ]
    )
    cell = min(CELL_PIXELS, MATRIX_PIXELS // len(names))
    axis = {
        "labelLimit": LABEL_PIXELS,
        "labels": cell >= NAMED_CELL_PIXELS,
        "labelOverlap": False,  # Streamlit's theme would drop labels it finds too close
        "labelFlush": False,
        "labelFontSize": min(LABEL_FONT_PIXELS, cell - 2),
    }
    heat = (
        alt.Chart(cells, title="Confusion matrix (test split)")
        .mark_rect()
        .encode(
            x=alt.X(
                "predicted:N",
                sort=names,
                title="Predicted",
                axis=alt.Axis(labelAngle=label_angle(names, cell), **axis),
            ),
            y=alt.Y("true:N", sort=names, title="True", axis=alt.Axis(**axis)),
            color=alt.Color(
                "count:Q",
                scale=alt.Scale(scheme="blues"),
                title="Samples",
                legend=alt.Legend(orient="bottom", direction="horizontal", gradientLength=cell * len(names)),
            ),
            tooltip=["true", "predicted", "count"],
        )
        .properties(width=alt.Step(cell), height=alt.Step(cell))
    )
    if cell >= COUNTED_CELL_PIXELS:
        dark = int(matrix.max()) / 2
        heat += heat.mark_text(fontSize=10).encode(
            text="count:Q",
            color=alt.condition(alt.datum.count > dark, alt.value("white"), alt.value("#222")),
        )
    return heat


def label_angle(names: list[str], cell: int) -> int:
    """The Predicted axis's names level where the longest fits its cell, else slanted where the cells are
    wide enough for that, else upright.
    """
    if max(len(str(name)) for name in names) * CHARACTER_PIXELS <= cell:
        return 0
    return -45 if cell >= SLANTED_CELL_PIXELS else -90


def misclassified_examples(examples: list[dict[str, Any]]) -> None:
    """A few test examples the model got wrong: pictures with captions, or texts."""
    if examples:
        st.markdown("**Misclassified examples**")
    if examples and "image" in examples[0]:
        pictures = [np.array(e["image"], dtype=np.uint8) for e in examples]
        pictures = [p[..., 0] if p.shape[-1] == 1 else p for p in pictures]
        captions = [literal(f"{e['true']} → {e['predicted']}") for e in examples]
        st.image(pictures, caption=captions, width=64)
    for example in examples:
        if "text" in example:
            st.markdown(
                f"- *{literal(example['text'][:160])}* — true **{literal(example['true'])}**, "
                f"predicted **{literal(example['predicted'])}** ({example['confidence']:.0%})"
            )


FORECAST_WINDOW = 200  # test points drawn at once; a slider moves the window


def forecast_panel(record: dict[str, Any]) -> None:
    forecast = record["metrics"]["forecast"]
    count = len(forecast["truth"])
    start, end = 0, count
    if count > FORECAST_WINDOW:
        start, end = st.slider(
            "Test points shown",
            0,
            count,
            (count - FORECAST_WINDOW, count),
            key=f"compare:window:{record['id']}",
        )
    shown = slice(start, end)
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(forecast["time"][shown], errors="coerce"),
            "naive (last value)": forecast["naive"][shown],
            "truth": forecast["truth"][shown],
            "model": forecast["predicted"][shown],
        }
    )
    target = forecast["target"]
    axis_title = with_unit(target, column_unit(record["dataset"], target))
    st.altair_chart(forecast_chart(frame, target, axis_title), width="stretch")
    metrics = record["metrics"]
    total = forecast.get("points", count)
    kept = f"the first {count:,} of {total:,} kept with the run" if total > count else f"{count:,}"
    unit = target_unit(record)
    st.caption(
        f"Test points {start + 1:,}-{end:,} of {kept} shown. MAE {metrics['mae']:.4g} against "
        f"{metrics['naive_mae']:.4g} for the naive forecast, in {unit}, over the whole test split."
    )


FORECAST_LINES = (  # series, colour, dash, width, opacity: drawn in this order, the truth last, on top
    ("naive (last value)", "#b0b0b0", [4, 3], 1.5, 1.0),
    ("model", "#e4572e", [], 2.5, 0.75),
    ("truth", "#1f3b73", [], 1.5, 1.0),
)


def forecast_chart(frame: pd.DataFrame, target: str, axis_title: str) -> alt.LayerChart:
    """Truth, the model's forecast and the naive one over time: the truth drawn last, over the others."""
    long = frame.melt("time", var_name="series", value_name="value")
    order = [line[0] for line in FORECAST_LINES]
    base = alt.Chart(long).encode(
        x=alt.X("time:T", title="Time"),
        y=alt.Y("value:Q", title=axis_title, scale=alt.Scale(zero=False)),
        color=alt.Color(
            "series:N",
            title=None,
            sort=order,
            scale=alt.Scale(domain=order, range=[line[1] for line in FORECAST_LINES]),
            legend=alt.Legend(orient="top"),  # the plot keeps the panel's width
        ),
    )
    return alt.layer(
        *(
            base.mark_line(strokeDash=dash, strokeWidth=width, opacity=opacity).transform_filter(
                alt.datum.series == series
            )
            for series, _, dash, width, opacity in FORECAST_LINES
        ),
        title=f"Test forecast of {target}, one step ahead",
    )


def language_panel(record: dict[str, Any]) -> None:
    metrics = record["metrics"]
    st.markdown("Seed:")
    st.text(metrics.get("seed_text", ""))
    for sample in metrics.get("samples", []):
        st.markdown(f"**Temperature {sample['temperature']}**")
        st.text(sample["text"])


POINTS_SHOWN = 1000  # regression: test samples drawn in the scatter


def predicted_against_true_panel(record: dict[str, Any]) -> None:
    """Regression: each test sample's prediction against its true value, the exact line and the baseline."""
    metrics = record["metrics"]
    predictions = metrics["predictions"]
    frame = pd.DataFrame({"true": predictions["true"], "predicted": predictions["predicted"]}).head(
        POINTS_SHOWN
    )
    ends = [float(frame.min().min()), float(frame.max().max())] if len(frame) else [0.0, 1.0]
    dots = (
        alt.Chart(frame, title="Predicted against true (test split)")
        .mark_circle(size=16, opacity=0.5)
        .encode(
            x=alt.X("true:Q", title="True", scale=alt.Scale(zero=False)),
            y=alt.Y("predicted:Q", title="Predicted", scale=alt.Scale(zero=False)),
            tooltip=[alt.Tooltip("true:Q", format=".3f"), alt.Tooltip("predicted:Q", format=".3f")],
        )
    )
    exact = (
        alt.Chart(pd.DataFrame({"true": ends, "predicted": ends}))
        .mark_line(color="#888", strokeDash=[4, 3])
        .encode(x="true:Q", y="predicted:Q")
    )
    mean = (
        alt.Chart(pd.DataFrame({"mean": [predictions["train_mean"]]}))
        .mark_rule(color="#e4572e")
        .encode(y="mean:Q")
    )
    st.altair_chart(dots + exact + mean, width="stretch")
    st.caption(
        f"{len(frame):,} of {predictions['count']:,} test samples. On the dashed line a prediction is exact; "
        f"the red line is the training mean, the baseline: MSE {metrics['mse']:.4g} against "
        f"{metrics['baseline_mse']:.4g}."
    )


def step_accuracy_panel(record: dict[str, Any]) -> None:
    """Sequence labelling: accuracy at each step that matters, beside the input-blind guess, and examples."""
    metrics = record["metrics"]
    first, end = metrics["scored_steps"]
    frame = pd.DataFrame({"step": range(first, end), "accuracy": metrics["step_accuracy"]})
    line = (
        alt.Chart(frame, title="Accuracy at each scored step (test split)")
        .mark_line(point=True)
        .encode(
            x=alt.X("step:Q", title="Step", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("accuracy:Q", title="Accuracy", scale=alt.Scale(domain=[0, 1])),
            tooltip=["step", alt.Tooltip("accuracy:Q", format=".3f")],
        )
    )
    baseline = (
        alt.Chart(pd.DataFrame({"baseline": [metrics["baseline_accuracy"]]}))
        .mark_rule(color="#e4572e", strokeDash=[4, 3])
        .encode(y="baseline:Q")
    )
    st.altair_chart(line + baseline, width="stretch")
    st.caption(
        f"The dashed line answers each step's commonest training label ({metrics['baseline_accuracy']:.3f}). "
        f"Loss over every step {metrics['loss']:.4g} against {metrics['baseline_loss']:.4g} for each step's "
        "label frequencies, which never read the input."
    )
    examples = metrics.get("examples", [])
    if examples:
        st.dataframe(
            pd.DataFrame(
                {
                    "Test sequence": [example["index"] + 1 for example in examples],
                    "True": [" ".join(map(str, example["true"])) for example in examples],
                    "Predicted": [" ".join(map(str, example["predicted"])) for example in examples],
                }
            ),
            hide_index=True,
            width="stretch",
        )


PANELS = {  # by the task's name in core.tasks.registry
    "classification": confusion_panel,
    "forecasting": forecast_panel,
    "language-model": language_panel,
    "regression": predicted_against_true_panel,
    "sequence-labelling": step_accuracy_panel,
}
