"""Data: choose text, series or images (built-in, Keras download or upload) and look at them."""

import json
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.parts.services import current_dataset, load_choice
from app_pages.parts.sharing import offer_shared_models
from app_pages.parts.visitor import CHOICE, state
from app_pages.parts.widgets import dataset_names, literal, param_widgets, with_unit
from core.datasets import DATASETS, Dataset, uploads
from core.datasets.advice import class_counts, coarse_test_note, imbalance_note
from core.datasets.base import MODALITIES
from core.datasets.described import described_kind, load_described
from core.datasets.registry import column_unit
from core.errors import SpecError, UserError
from core.tasks.registry import TASKS

ORIGINS = {"built-in": "Built-in (offline)", "keras": "Keras download", "upload": "Your upload"}
UPLOAD_TYPES = {"series": ["csv"], "text": ["csv"], "images": ["zip"]}
UPLOAD_HELP = {
    "series": "A CSV with one column per variable, each unit in brackets after its name as in temp (°F), "
    "and optionally a date or time column.",
    "text": "A CSV with a column of texts and a column of labels.",
    "images": "A ZIP with one folder per class, e.g. cats/1.png, dogs/7.jpg.",
}
A_DATASET_OF = {
    "images": "an image dataset",
    "text": "a text dataset",
    "series": "a series",
    "sequences": "a sequence benchmark",
}
SEQUENCE_PIXELS = 420  # a faceted chart cannot stretch: this fits the preview's column at 1280 px
TEXT_PIXELS = 300  # the text preview's text column: with its label column, it fits the page at 1280 px
MOST_LABEL_PIXELS = 150  # the text preview's label column at most; longer labels are cut
SAMPLES = {"images": "Images", "text": "Texts", "sequences": "Sequences", "series": "Windows"}

session = state()


@st.cache_data(max_entries=4, show_spinner=False)
def csv_columns(data: bytes, name: str, modality: str) -> tuple[list[str], str | None, list[str]]:
    """The CSV's columns and, for a series, the time column and the numeric columns to preselect."""
    frame = uploads.read_csv(data, name)
    time, numeric = uploads.series_columns(frame) if modality == "series" else (None, [])
    return list(frame.columns), time, numeric


@st.cache_data(max_entries=16, show_spinner="Checking your upload…")
def upload_problem(choice_json: str, data: bytes) -> str | None:
    """Why the upload cannot be used as chosen, or None when it loads: checked before it replaces
    the current dataset (only the answer is kept, not the dataset).
    """
    try:
        load_described(json.loads(choice_json), data)
    except UserError as error:
        return str(error)
    return None


def series_options(data: bytes, name: str) -> dict[str, Any]:
    """The time column and the columns to forecast from, preselected as the CSV suggests."""
    columns, time, numeric = csv_columns(data, name, "series")
    time_column = st.selectbox(
        "Time column",
        [None, *columns],
        index=columns.index(time) + 1 if time else 0,
        format_func=lambda c: c or "(none: row order)",
    )
    if time:
        st.caption(literal(f"{time!r} reads as dates or times, so it is preselected as the time column."))
    value_columns = st.multiselect(
        "Columns to use",
        [c for c in columns if c != time_column],
        default=[c for c in numeric if c != time_column],
    )
    return {"time_column": time_column, "value_columns": value_columns}


def text_options(data: bytes, name: str) -> dict[str, Any]:
    columns, _, _ = csv_columns(data, name, "text")
    return {
        "text_column": st.selectbox("Text column", columns),
        "label_column": st.selectbox("Label column", columns, index=min(1, len(columns) - 1)),
    }


def upload_choice(modality: str, name: str, data: bytes) -> dict[str, Any]:
    """The choice this upload would make, from the column widgets its kind needs."""
    options = {"series": series_options, "text": text_options}.get(modality)
    return {
        "id": f"upload:{name}",
        "settings": {},
        "upload": {"kind": modality, "name": name, "options": options(data, name) if options else {}},
    }


def upload_form(modality: str) -> None:
    """The uploader of this kind; the upload replaces the current dataset only once it loads as chosen."""
    upload = st.file_uploader(UPLOAD_HELP[modality], type=UPLOAD_TYPES[modality], key=f"data:file:{modality}")
    if upload is None:
        return
    data = upload.getvalue()
    try:
        candidate = upload_choice(modality, upload.name, data)
    except UserError as error:
        st.error(literal(error))
        return
    problem = upload_problem(json.dumps(candidate), data)
    if problem:
        st.error(literal(f"{problem} Your current dataset stays in use."))
    elif session[CHOICE].get("upload") == candidate["upload"] and session.get("upload_bytes") == data:
        st.caption("This upload is your current dataset.")
    elif st.button("Use this upload", type="primary"):
        session["upload_bytes"] = data
        session[CHOICE] = candidate
        st.rerun()


def dataset_picker(modality: str, origin: str) -> None:
    """A built-in dataset becomes the current one when picked; a Keras one once downloaded."""
    names = dataset_names(modality, origin)
    if not names:
        st.info("No dataset of this kind comes from this source; choose another source.")
        return
    choice = session[CHOICE]
    name = st.selectbox(
        "Dataset",
        names,
        index=names.index(choice["id"]) if choice["id"] in names else 0,
        format_func=lambda n: DATASETS[n].name,
        key=f"data:dataset:{modality}:{origin}",
    )
    info = DATASETS[name]
    st.caption(f"{info.description}  \nSource: {info.source}. Licence: {info.licence}.")
    if origin == "keras" and choice["id"] != name:
        st.info("Keras classics are downloaded once (a few seconds to a minute), then cached.")
        if st.button("Download and use", type="primary"):
            session[CHOICE] = {"id": name, "settings": {}}
            st.rerun()
    elif choice["id"] != name:
        session[CHOICE] = {"id": name, "settings": {}}


def preprocessing(dataset: Dataset | None) -> Dataset | None:
    """The current dataset's settings; a change is kept only when the data loads with it."""
    active = session[CHOICE]
    info = DATASETS.get(active["id"]) or (dataset.info if dataset else None)
    if info is None or not info.settings:
        return dataset
    st.subheader("Preprocessing")
    settings = param_widgets(
        info.settings, active.get("settings", {}), key=f"data:settings:{active['id']}", columns=2
    )
    if settings == active.get("settings"):
        return dataset
    try:
        changed = load_choice({**active, "settings": settings})
    except (UserError, SpecError) as error:
        st.error(literal(f"{error} The dataset keeps its previous settings."))
        return dataset
    active["settings"] = settings
    return changed


def class_balance(dataset: Dataset) -> None:
    counts = class_counts(dataset)
    samples = SAMPLES[dataset.info.modality]
    balance = pd.DataFrame({"class": list(counts), "samples": list(counts.values())})
    chart = (
        alt.Chart(balance, title="Class balance (training split)")
        .mark_bar()
        .encode(
            x=alt.X("class:N", sort=None, title="Class", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("samples:Q", title=samples),
        )
    )
    st.altair_chart(chart, width="stretch")


def show_images(dataset: Dataset) -> None:
    images, labels = dataset.train.x[:24], dataset.train.y[:24]
    pictures = [image[..., 0] if image.shape[-1] == 1 else image for image in images]
    st.image(pictures, caption=[dataset.class_names[y] for y in labels], width=72, clamp=True)
    class_balance(dataset)


def label_pixels(labels: list[str]) -> int:
    """The preview's label column wide enough for its longest label, up to a point."""
    return min(MOST_LABEL_PIXELS, 24 + 8 * max((len(str(label)) for label in labels), default=5))


def show_text(dataset: Dataset) -> None:
    preview = dataset.preview
    if TASKS[dataset.signature.task].preview == "corpus":
        st.markdown("**Samples of the corpus**")
        for snippet in preview["texts"][:4]:
            st.text(snippet[:300])
    elif "texts" in preview:
        st.dataframe(
            pd.DataFrame({"text": preview["texts"][:50], "label": preview["labels"][:50]}),
            hide_index=True,
            width="stretch",
            height=260,
            column_config={
                "text": st.column_config.TextColumn("Text", width=TEXT_PIXELS),
                "label": st.column_config.TextColumn("Label", width=label_pixels(preview["labels"][:50])),
            },
        )
        lengths = pd.DataFrame({"tokens": preview["lengths"]})
        cut = dataset.signature.input.dims[0]
        extent = [0, max(cut, *preview["lengths"]) + 1]  # the cut in view, and one bar per length at most
        chart = (
            alt.Chart(lengths, title="Text length (tokens per text)")
            .mark_bar()
            .encode(
                x=alt.X("tokens:Q", bin=alt.Bin(maxbins=40, extent=extent), title="Tokens"),
                y=alt.Y("count()", title="Texts"),
            )
        )
        rule = alt.Chart(pd.DataFrame({"cut": [cut]})).mark_rule(color="red").encode(x="cut:Q")
        st.altair_chart(chart + rule, width="stretch")
        st.caption("The red line is the sequence length: longer texts are cut, shorter ones padded.")
    if dataset.class_names:
        class_balance(dataset)
    st.metric("Vocabulary", f"{dataset.signature.vocab_size:,} tokens")


def value_title(labels: list[str], units: list[str | None]) -> str:
    """The preview's value axis title: the one variable with its unit, or the unit the variables share."""
    if len(labels) == 1:
        return labels[0]
    if len(set(units)) == 1 and units[0]:
        return f"Value ({units[0]})"
    return "Value (each variable in its own unit)"


def show_series(dataset: Dataset) -> None:
    """The series over time, each variable with its unit, on a value axis that starts at the data."""
    frame = dataset.preview["frame"]
    values = frame.drop(columns="part")
    units = [column_unit(dataset.info.id, column) for column in values.columns]
    labels = [with_unit(column, unit) for column, unit in zip(values.columns, units, strict=True)]
    long = values.set_axis(labels, axis=1).reset_index(names="time").melt("time", var_name="variable")
    bounds = (
        frame.reset_index(names="time").groupby("part", sort=False)["time"].agg(["min", "max"]).reset_index()
    )
    bands = (
        alt.Chart(bounds)
        .mark_rect(opacity=0.12)
        .encode(
            x="min:T",
            x2="max:T",
            color=alt.Color("part:N", title="Split", sort=["train", "validation", "test"]),
        )
    )
    lines = (
        alt.Chart(long)
        .mark_line(strokeWidth=1)
        .encode(
            x=alt.X("time:T", title="Time"),
            y=alt.Y("value:Q", title=value_title(labels, units), scale=alt.Scale(zero=False)),
            strokeDash=alt.StrokeDash("variable:N", title="Variable"),
        )
    )
    st.altair_chart(
        (bands + lines).properties(title="The series, with its chronological split"), width="stretch"
    )


def show_sequences(dataset: Dataset) -> None:
    """A sequence benchmark: its first training sequences step by step (and digits as the images read)."""
    if dataset.as_image is not None:
        pictures = [dataset.as_image(sample)[..., 0] for sample in dataset.train.x[:24]]
        st.image(
            pictures, caption=[dataset.class_names[y] for y in dataset.train.y[:24]], width=72, clamp=True
        )
    for text in dataset.preview.get("texts", []):
        st.code(text, language=None)
    chart = (
        alt.Chart(dataset.preview["samples"])
        .mark_line(interpolate="step-after", strokeWidth=1)
        .encode(
            x=alt.X("step:Q", title="Time step"),
            y=alt.Y("value:Q", title="Value", scale=alt.Scale(zero=False)),
            color=alt.Color("channel:N", title="Input", legend=alt.Legend(orient="top")),
            row=alt.Row(
                "sample:N",
                title=None,
                header=alt.Header(labelAngle=0, labelAlign="left", labelOrient="top", labelFontWeight="bold"),
            ),
        )
        .properties(
            height=90, width=SEQUENCE_PIXELS, title="The first training sequences, with their targets"
        )
    )
    st.altair_chart(chart)
    if dataset.class_names:
        class_balance(dataset)


def show_dataset(dataset: Dataset) -> None:
    st.subheader(literal(dataset.info.name))
    cells = st.columns([1.1, 1.2, 1, 0.7])  # room for "Validation sequences" at 1280 px
    samples = SAMPLES[dataset.info.modality].lower()
    for cell, (part, split) in zip(
        cells,
        [("Training", dataset.train), ("Validation", dataset.validation), ("Test", dataset.test)],
        strict=False,
    ):
        cell.metric(f"{part} {samples}", f"{len(split):,}")
    cells[3].metric(
        "Classes" if dataset.class_names else "Outputs",
        len(dataset.class_names) or dataset.signature.outputs,
    )
    st.markdown(f"Batches enter the model as **{dataset.signature.input}**.")
    for note in filter(None, [*dataset.notes, coarse_test_note(dataset)]):
        st.info(literal(note))
    if warning := imbalance_note(dataset):
        st.warning(literal(warning))
    shows = {"images": show_images, "text": show_text, "series": show_series, "sequences": show_sequences}
    shows[dataset.info.modality](dataset)
    offer_shared_models(dataset)
    st.page_link(
        "app_pages/build.py", label="Next: build models for this data", icon=":material/arrow_forward:"
    )


def origin_of(choice: dict[str, Any]) -> str:
    return DATASETS[choice["id"]].origin if choice["id"] in DATASETS else "upload"


_, current_modality = described_kind(session[CHOICE])
st.title("Data")
left, right = st.columns([1, 2], gap="large")  # the preview gets the room: tiles and charts
with left:
    modality = st.radio(
        "Kind of data",
        MODALITIES,
        index=MODALITIES.index(current_modality),
        format_func=str.capitalize,
        horizontal=True,
        key="data:modality",
    )
    origin = st.radio(
        "Source",
        list(ORIGINS),
        index=list(ORIGINS).index(origin_of(session[CHOICE])),
        format_func=ORIGINS.get,
        horizontal=True,
        key="data:origin",
    )
    if origin == "upload" and modality not in UPLOAD_TYPES:
        st.info("Sequence benchmarks are generated from a seed: there is nothing to upload.")
    elif origin == "upload":
        upload_form(modality)
    else:
        dataset_picker(modality, origin)
    current_name, current_modality = described_kind(session[CHOICE])
    on_screen = current_modality == modality  # the current dataset is of the kind on screen
    dataset = preprocessing(current_dataset()) if on_screen else None

with right:
    if dataset is not None:
        show_dataset(dataset)
    elif not on_screen:
        st.info(
            literal(
                f"Your current dataset is {current_name} ({current_modality}); choose "
                f"{A_DATASET_OF[modality]} or upload one. Until then, Build and Train use {current_name}."
            )
        )
