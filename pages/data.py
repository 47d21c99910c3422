"""Data: choose text, series or images (built-in, Keras download or upload) and look at them."""

import json

import altair as alt
import pandas as pd
import streamlit as st

from core.datasets import DATASETS, Dataset, uploads
from core.datasets.base import MODALITIES
from core.datasets.described import load_described
from core.errors import UserError
from pages.common import current_dataset, dataset_names, literal, param_widgets, state

ORIGINS = {"built-in": "Built-in (offline)", "keras": "Keras download", "upload": "Your upload"}
UPLOAD_TYPES = {"series": ["csv"], "text": ["csv"], "images": ["zip"]}
UPLOAD_HELP = {
    "series": "A CSV with one column per variable, and optionally a date or time column.",
    "text": "A CSV with a column of texts and a column of labels.",
    "images": "A ZIP with one folder per class, e.g. cats/1.png, dogs/7.jpg.",
}


@st.cache_data(max_entries=4, show_spinner=False)
def csv_columns(data: bytes, name: str) -> list[str]:
    return list(uploads.read_csv(data, name).columns)


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


def upload_choice(modality: str, name: str, data: bytes) -> dict:
    """The choice this upload would make, from the column widgets its kind needs."""
    options: dict = {}
    if modality != "images":
        columns = csv_columns(data, name)
        if modality == "series":
            options["time_column"] = st.selectbox(
                "Time column", [None, *columns], format_func=lambda c: c or "(none: row order)"
            )
            options["value_columns"] = st.multiselect(
                "Columns to use", [c for c in columns if c != options["time_column"]]
            )
        else:
            options["text_column"] = st.selectbox("Text column", columns)
            options["label_column"] = st.selectbox("Label column", columns, index=min(1, len(columns) - 1))
    return {
        "id": f"upload:{name}",
        "settings": {},
        "upload": {"kind": modality, "name": name, "options": options},
    }


session = state()
choice = session["choice"]
chosen_info = DATASETS.get(choice["id"])
current_modality = chosen_info.modality if chosen_info else choice.get("upload", {}).get("kind", "images")
current_origin = chosen_info.origin if chosen_info else "upload"

st.title("Data")
left, right = st.columns([1, 2], gap="large")
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
        index=list(ORIGINS).index(current_origin),
        format_func=ORIGINS.get,
        horizontal=True,
        key="data:origin",
    )
    if origin == "upload":
        upload = st.file_uploader(
            UPLOAD_HELP[modality], type=UPLOAD_TYPES[modality], key=f"data:file:{modality}"
        )
        if upload is not None:
            data = upload.getvalue()
            try:
                candidate = upload_choice(modality, upload.name, data)
            except UserError as error:
                st.error(literal(error))
            else:
                problem = upload_problem(json.dumps(candidate), data)
                if problem:
                    st.error(literal(problem))
                elif st.button("Use this upload", type="primary"):
                    session["upload_bytes"] = data
                    session["choice"] = candidate
                    st.rerun()
    else:
        names = dataset_names(modality, origin)
        index = names.index(choice["id"]) if choice["id"] in names else 0
        name = st.selectbox(
            "Dataset",
            names,
            index=index,
            format_func=lambda n: DATASETS[n].name,
            key=f"data:dataset:{modality}:{origin}",
        )
        info = DATASETS[name]
        st.caption(f"{info.description}  \nSource: {info.source}. Licence: {info.licence}.")
        if origin == "keras" and choice["id"] != name:
            st.info("Keras classics are downloaded once (a few seconds to a minute), then cached.")
            if st.button("Download and use", type="primary"):
                session["choice"] = {"id": name, "settings": {}}
                st.rerun()
        elif choice["id"] != name:
            session["choice"] = choice = {"id": name, "settings": {}}

    active = session["choice"]
    dataset = current_dataset()
    info = DATASETS.get(active["id"]) or (dataset.info if dataset else None)
    if info is not None and info.settings:
        st.subheader("Preprocessing")
        settings = param_widgets(
            info.settings, active.get("settings", {}), key=f"data:settings:{active['id']}", columns=2
        )
        if settings != active.get("settings"):
            active["settings"] = settings
            dataset = current_dataset()


def show_images(dataset: Dataset) -> None:
    images, labels = dataset.train.x[:24], dataset.train.y[:24]
    pictures = [image[..., 0] if image.shape[-1] == 1 else image for image in images]
    st.image(pictures, caption=[dataset.class_names[y] for y in labels], width=72, clamp=True)
    counts = pd.Series(dataset.train.y).value_counts().sort_index()
    balance = pd.DataFrame(
        {"class": [dataset.class_names[i] for i in counts.index], "images": counts.to_numpy()}
    )
    chart = (
        alt.Chart(balance, title="Class balance (training split)")
        .mark_bar()
        .encode(x=alt.X("class:N", sort=None, title="Class"), y=alt.Y("images:Q", title="Images"))
    )
    st.altair_chart(chart, width="stretch")


def show_text(dataset: Dataset) -> None:
    preview = dataset.preview
    if dataset.signature.task == "language-model":
        st.markdown("**Samples of the corpus**")
        for snippet in preview["texts"][:4]:
            st.text(snippet[:300])
    elif "texts" in preview:
        st.dataframe(
            pd.DataFrame({"text": preview["texts"][:50], "label": preview["labels"][:50]}),
            hide_index=True,
            width="stretch",
            height=260,
        )
        lengths = pd.DataFrame({"tokens": preview["lengths"]})
        chart = (
            alt.Chart(lengths, title="Text length (tokens per text)")
            .mark_bar()
            .encode(
                x=alt.X("tokens:Q", bin=alt.Bin(maxbins=40), title="Tokens"),
                y=alt.Y("count()", title="Texts"),
            )
        )
        rule = (
            alt.Chart(pd.DataFrame({"cut": [dataset.signature.input.dims[0]]}))
            .mark_rule(color="red")
            .encode(x="cut:Q")
        )
        st.altair_chart(chart + rule, width="stretch")
        st.caption("The red line is the sequence length: longer texts are cut, shorter ones padded.")
    st.metric("Vocabulary", f"{dataset.signature.vocab_size:,} tokens")


def show_series(dataset: Dataset) -> None:
    frame = dataset.preview["frame"]
    long = frame.drop(columns="part").reset_index(names="time").melt("time", var_name="variable")
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
            y=alt.Y("value:Q", title="Value"),
            strokeDash=alt.StrokeDash("variable:N", title="Variable"),
        )
    )
    st.altair_chart(
        (bands + lines).properties(title="The series, with its chronological split"), width="stretch"
    )


with right:
    if dataset is not None:
        st.subheader(dataset.info.name)
        shape = dataset.signature.input
        cells = st.columns(4)
        cells[0].metric("Training", f"{len(dataset.train):,}")
        cells[1].metric("Validation", f"{len(dataset.validation):,}")
        cells[2].metric("Test", f"{len(dataset.test):,}")
        cells[3].metric(
            "Classes" if dataset.class_names else "Outputs",
            len(dataset.class_names) or dataset.signature.outputs,
        )
        st.markdown(f"Batches enter the model as **{shape}**.")
        for note in dataset.notes:
            st.info(note)
        {"images": show_images, "text": show_text, "series": show_series}[dataset.info.modality](dataset)
        st.page_link(
            "pages/build.py", label="Next: build models for this data", icon=":material/arrow_forward:"
        )
