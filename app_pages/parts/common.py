"""What the pages share: this visitor's state, the cached datasets, and widgets made from Params."""

from __future__ import annotations

import gc
import hashlib
import json
import re
import urllib.parse
import uuid
from typing import Any

import altair  # noqa: F401  (imported before the freeze below, like everything the pages use)
import pandas  # noqa: F401
import streamlit as st

from core import budget
from core.datasets import DATASETS, Dataset, keras_classics
from core.datasets.base import counted
from core.datasets.described import load_described
from core.errors import SpecError, UserError
from core.exchange import share
from core.inputs import WORKSPACE_NAME, WORKSPACE_RULE
from core.model.presets import presets_for
from core.model.spec import ModelSpec
from core.params import Param
from core.runs.pool import WorkerPool
from core.runs.queue import enqueue, one_per_seed, queued_record
from core.runs.record import UNFINISHED, WorkStatus
from core.runs.store import RunStore, default_path
from core.tasks.registry import TASKS

DEFAULT_DATASET = {"id": "mnist_5k", "settings": {}}
QUEUE_ADVICE = "Wait for some of your runs to finish, or cancel the queued ones."
DEFAULT_RNN = {  # by modality; a task may name its own (core.tasks.registry's starter_rnn)
    "images": "LSTM",
    "text": "LSTM",
    "series": "Stacked LSTM (Keras example)",
    "sequences": "LSTM",
}
# While a worker trains or measures, the panels that follow it redraw this often. With Chromium on
# the same two cores, each redraw of Train's live panel cost the browser about 0.1 s of CPU: every
# 2 s rather than every second took a ~14 s training round's browser and server CPU from 3.6 s to 2.3 s.
POLL_SECONDS = 2.0
MARKDOWN_MARKS = re.compile(r"([\\`*_{}\[\]()#+\-!|~<>$:])")

# Streamlit collects garbage in full after every rerun (every 2 s while Train polls). The
# libraries imported by now hold about 120,000 objects for the life of the process, and walking
# them took about 50 ms of each collection: freeze them, once (Python imports this module once).
gc.freeze()


# ---- navigation --------------------------------------------------------------------------------


def app_pages() -> list[st.Page]:
    """The app's pages, in the order the sidebar lists them."""
    return [
        st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("app_pages/data.py", title="Data", icon=":material/dataset:"),
        st.Page("app_pages/build.py", title="Build", icon=":material/construction:"),
        st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("app_pages/compare.py", title="Compare", icon=":material/compare:"),
        st.Page("app_pages/lab.py", title="Lab", icon=":material/science:"),
    ]


def prepare_run() -> None:
    """What every script run does before its page: page settings, and a shared link or a workspace
    named in the address.
    """
    st.set_page_config(page_title="CNN vs RNN", page_icon="📊", layout="wide")  # an emoji needs no network
    if "share" in st.query_params and st.query_params["share"] != state().get("applied_share"):
        apply_share(st.query_params["share"])
    if "workspace" in st.query_params and st.query_params["workspace"] != state()["workspace"]:
        open_workspace(st.query_params["workspace"])


def navigate() -> None:
    """dashboard.py: prepare the run, then run the page the address asks for."""
    prepare_run()
    page = st.navigation(app_pages())
    page.run()


# ---- this visitor's state ------------------------------------------------------------------


def state() -> Any:
    """Session state with this visitor's defaults filled in; nothing here is shared between visitors."""
    session = st.session_state
    session.setdefault("choice", dict(DEFAULT_DATASET))
    session.setdefault("models", {})  # dataset id -> {model name: {"spec": dict, "uids": [str]}}
    session.setdefault("runs", [])  # ids of the runs this visitor queued, oldest first
    session.setdefault("workspace", f"private-{uuid.uuid4().hex[:12]}")
    return session


def open_workspace(name: str) -> None:
    """Switch this visitor to a named workspace (from a ?workspace= link), or say why not."""
    if WORKSPACE_NAME.fullmatch(name):
        state()["workspace"] = name
    else:
        st.error(f"A workspace name has {WORKSPACE_RULE}; the link was ignored.")


@st.cache_resource(show_spinner=False)
def _store(path: str) -> RunStore | str:
    """The process's run store, shared by all visitors (each sees only their workspace)."""
    try:
        return RunStore(path)
    except UserError as error:
        return str(error)


def run_store() -> RunStore | None:
    """The run store ($RUNS_DB), or None after saying on screen why runs cannot be kept."""
    store = _store(str(default_path()))
    if isinstance(store, str):
        st.warning(literal(f"{store} Runs are kept for this session only."))
        return None
    return store


@st.cache_resource(show_spinner=False)
def _worker_pool(path: str) -> WorkerPool:
    """The server's worker processes, shared by all visitors; started when work is first queued."""
    return WorkerPool(RunStore(path))


def worker_pool(store: RunStore) -> WorkerPool:
    return _worker_pool(str(store.path))


def new_uid() -> str:
    return uuid.uuid4().hex[:8]


# ---- datasets --------------------------------------------------------------------------------


@st.cache_resource(max_entries=8, show_spinner="Loading the dataset…")
def _built_in(description_json: str) -> Dataset:
    return load_described(json.loads(description_json))


@st.cache_resource(max_entries=4, ttl=3600, show_spinner="Reading your upload…")
def _uploaded(description_json: str, data: bytes) -> Dataset:
    return load_described(json.loads(description_json), data)


def load_choice(choice: dict[str, Any]) -> Dataset:
    """The chosen dataset (cached and shared read-only), or a UserError saying why it cannot load."""
    description = json.dumps({key: choice[key] for key in ("id", "settings", "upload") if key in choice})
    if choice.get("upload"):
        return _uploaded(description, st.session_state.get("upload_bytes"))
    return _built_in(description)


def current_dataset() -> Dataset | None:
    """The visitor's dataset, or None after showing on screen why it could not be loaded (or that a
    worker is still downloading it).
    """
    try:
        return load_choice(state()["choice"])
    except keras_classics.NotFetched:
        wait_for_download(state()["choice"]["id"])
    except SpecError as error:
        for problem in error.problems:
            st.error(literal(problem))
    except UserError as error:
        st.error(literal(error))
    return None


def wait_for_download(dataset_id: str) -> None:
    """Ask a worker to download a Keras dataset and show its progress until it is ready or failed."""
    store = run_store()
    if store is None:
        return
    if (store.download(dataset_id) or {}).get("status") not in (
        WorkStatus.QUEUED,
        WorkStatus.RUNNING,
        WorkStatus.FAILED,
    ):
        store.request_download(dataset_id)
    worker_pool(store).ensure()

    @st.fragment(run_every=POLL_SECONDS)
    def progress() -> None:
        download = store.download(dataset_id) or {}
        if download.get("status") == WorkStatus.FAILED:
            st.error(literal(sentence(download["reason"])))
            if st.button("Try again", key=f"download:retry:{dataset_id}"):
                store.request_download(dataset_id)
                st.rerun()
        elif download.get("status") == WorkStatus.DONE:
            st.rerun()
        else:
            st.info(
                f"Downloading {DATASETS[dataset_id].name} in a worker (once; later visits read it at once)…"
            )

    progress()


def dataset_title(dataset: Dataset) -> str:
    return f"{dataset.info.name} · {dataset.info.modality} · {dataset.signature.task}"


# ---- models ----------------------------------------------------------------------------------


def models_for(dataset: Dataset) -> dict[str, dict[str, Any]]:
    """This visitor's models for a dataset; a first visit starts with the first CNN preset and an RNN."""
    models = state()["models"]
    if dataset.info.id not in models:
        presets = presets_for(dataset.signature)
        rnn = TASKS[dataset.signature.task].starter_rnn or DEFAULT_RNN.get(dataset.info.modality)
        cnn = next((name for name, spec in presets.items() if spec.family == "cnn"), None)
        starters = [name for name in (cnn, rnn) if name in presets]
        models[dataset.info.id] = {name: entry(presets[name]) for name in starters}
    return models[dataset.info.id]


def entry(spec: ModelSpec) -> dict[str, Any]:
    return {"spec": spec.to_dict(), "uids": [new_uid() for _ in spec.layers]}


def spec_of(model: dict[str, Any]) -> ModelSpec:
    return ModelSpec.from_dict(model["spec"])


def unique_name(base: str, taken: dict[str, Any]) -> str:
    name, number = base, 2
    while name in taken:
        name, number = f"{base} ({number})", number + 1
    return name


# ---- widgets made from Params ----------------------------------------------------------------


def param_widget(param: Param, value: Any, key: str, disabled: bool = False) -> Any:
    """One widget for one Param: bounds, choices and help text come from its definition."""
    common = {"help": param.help, "key": key, "disabled": disabled}
    if param.kind == "bool":
        return st.toggle(param.label, value=bool(value), **common)
    if param.kind == "choice":
        return st.selectbox(param.label, param.choices, index=param.choices.index(value), **common)
    cast = int if param.kind == "int" else float
    step = {"step": 1} if param.kind == "int" else {"format": "%g"}
    return cast(
        st.number_input(
            param.label,
            min_value=cast(param.min),
            max_value=cast(param.max),
            value=cast(value),
            **step,
            **common,
        )
    )


def param_widgets(
    params: tuple[Param, ...], values: dict[str, Any], key: str, columns: int = 3
) -> dict[str, Any]:
    """A row of widgets for a group of Params; returns the values the visitor set."""
    if not params:
        return {}
    slots = st.columns(min(columns, len(params)))
    result = {}
    for index, param in enumerate(params):
        with slots[index % len(slots)]:
            result[param.name] = param_widget(
                param, values.get(param.name, param.default), f"{key}:{param.name}"
            )
    return result


def format_number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4g}"


def dataset_names(modality: str, origin: str) -> list[str]:
    return [name for name, info in DATASETS.items() if info.modality == modality and info.origin == origin]


def literal(text: Any) -> str:
    """Text from a visitor, a link, a bundle or a file, shown as itself where Streamlit reads Markdown:
    the marks that make links, images, emphasis, code, headings, lists, tables, maths and Streamlit's
    directives are escaped, so none of them can form.
    """
    return MARKDOWN_MARKS.sub(r"\\\1", str(text))


def sentence(text: str) -> str:
    """A phrase as a sentence: first letter up, a full stop at the end, the rest untouched."""
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else ""


def finished_runs(store: RunStore | None) -> list[dict[str, Any]]:
    """This visitor's finished runs, from the run store."""
    if store is None:
        return []
    return [r for r in store.runs(state()["workspace"]) if r["status"] not in UNFINISHED]


def delete_runs(run_ids: set[str], store: RunStore | None) -> None:
    session = state()
    if store is not None:
        store.delete(sorted(run_ids), session["workspace"])
    session["runs"] = [run_id for run_id in session["runs"] if run_id not in run_ids]


def dataset_description(dataset: Dataset) -> dict[str, Any]:
    """How a worker finds the visitor's dataset again: id, settings, and an upload by its SHA-256."""
    choice = state()["choice"]
    description = {"id": dataset.info.id, "settings": choice.get("settings", {})}
    if choice.get("upload"):
        digest = hashlib.sha256(st.session_state["upload_bytes"]).hexdigest()
        description["upload"] = {**choice["upload"], "sha256": digest}
    return description


def queue_runs(
    store: RunStore,
    dataset: Dataset,
    specs: list[ModelSpec],
    settings: dict[str, Any],
    seeds: list[int] | None = None,
) -> list[str]:
    """Queue these models on the visitor's dataset for the workers, one run per seed where ``seeds`` are
    given; returns the problems of any refused.
    """
    session = state()
    description = dataset_description(dataset)
    records, problems = [], []
    for spec in specs:
        try:
            record = queued_record(description, dataset.info, dataset.signature, spec, settings)
        except SpecError as error:
            problems += [f"{spec.name}: {problem}" for problem in error.problems]
        else:
            records += one_per_seed(record, seeds) if seeds else [record]
    waiting = len({*store.queued(), *store.running()} & set(session["runs"]))
    try:
        budget.check(waiting + len(records), budget.QUEUED_RUNS, "runs waiting or training", QUEUE_ADVICE)
    except UserError as error:
        return [str(error)]
    if "upload" in description and records:
        store.put_upload(session["upload_bytes"])
    session["runs"].extend(enqueue(store, records, session["workspace"]))
    worker_pool(store).ensure()
    return problems


def apply_share(token: str) -> None:
    """Restore a shared comparison (dataset and models), or say in one sentence why not."""
    session = state()
    session["applied_share"] = token
    try:
        shared = share.decode(token)
        if shared.dataset is None:
            receive_models(token, shared)
            return
        dataset = load_choice(shared.dataset)
        shared.check_against(dataset.signature)
    except keras_classics.NotFetched:
        session["applied_share"] = None  # applied once a worker has downloaded the dataset
        offer_download(shared.dataset["id"])
        return
    except UserError as error:
        st.error(literal(f"{error} Nothing was loaded."))
        return
    session["choice"] = shared.dataset
    session["models"][dataset.info.id] = {spec.name: entry(spec) for spec in shared.models}
    st.success(
        f"Loaded a shared comparison: {dataset.info.name} with {len(shared.models)} model(s), "
        "ready to train on the Train page."
    )


def receive_models(token: str, shared: share.SharedComparison) -> None:
    """Models whose data stayed with the sender: added to the visitor's current dataset when they fit it,
    and offered on the Data page for any other data the visitor picks.
    """
    session = state()
    session["shared_models"] = token
    carried = f"This link carries {carried_models(shared)}; the data stayed with the sender."
    try:
        dataset = load_choice(session["choice"])
        shared.check_fits(dataset)
    except UserError as error:
        st.info(
            literal(
                f"{carried} {error} Pick or upload data of that kind on the Data page, where the models are "
                "offered. Nothing was loaded."
            )
        )
        return
    use_shared_models(shared, dataset)
    st.success(
        literal(
            f"{carried} They were added to your current dataset, {dataset.info.name}, ready to train; "
            "to use them on other data, pick it on the Data page."
        )
    )


def carried_models(shared: share.SharedComparison) -> str:
    return f"{counted(len(shared.models), 'model')} made for {shared.shape}"


def use_shared_models(shared: share.SharedComparison, dataset: Dataset) -> None:
    """Add a link's models to this dataset's models (one of the same name is replaced)."""
    models = state()["models"].setdefault(dataset.info.id, {})
    models.update({spec.name: entry(spec) for spec in shared.models})


def offer_shared_models(dataset: Dataset) -> None:
    """On the Data page: the models of a link without its data, for the dataset on screen if they fit it."""
    token = state().get("shared_models")
    if token is None:
        return
    shared = share.decode(token)
    models = state()["models"].get(dataset.info.id, {})
    if all(spec.name in models and spec_of(models[spec.name]) == spec for spec in shared.models):
        return
    try:
        shared.check_fits(dataset)
    except UserError as error:
        st.caption(literal(f"The models of the link you opened are not offered for this dataset. {error}"))
        return
    with st.container(border=True):
        st.markdown(
            literal(f"The link you opened carries {carried_models(shared)}; its data stayed with the sender.")
        )
        st.button(
            literal(f"Add them to {dataset.info.name}"),
            icon=":material/add:",
            on_click=use_shared_models,
            args=(shared, dataset),
        )


def offer_download(dataset_id: str) -> None:
    """A link's Keras dataset is downloaded only when the visitor asks for it."""
    session = state()
    if session.get("share:download") == dataset_id:
        wait_for_download(dataset_id)
        return
    st.info(
        f"This shared comparison uses {DATASETS[dataset_id].name}, which this server has not downloaded yet."
    )
    if st.button("Download it and open the comparison", icon=":material/download:"):
        session["share:download"] = dataset_id
        st.rerun()


def share_note(dataset: Dataset, count: int) -> str:
    """What a share link of this many models on this dataset gives whoever opens it, as Markdown."""
    models = counted(count, "model")
    if dataset.info.origin == "upload":
        return literal(
            f"This link carries {models} and the shape of your data, {dataset.signature.input}. "
            f"Your data stays with you: whoever opens the link trains the models on {dataset.info.modality} "
            "data of their own."
        )
    return f"This link opens **{literal(dataset.info.name)}** with {models}, ready to train:"


def share_link(dataset: Dataset, models: dict[str, dict[str, Any]]) -> str:
    """A URL that restores this dataset and these models (or a UserError saying why it cannot); for an
    upload, the models and the shape of the data, which stays with the sender.
    """
    specs = [spec_of(model) for model in models.values()]
    if dataset.info.origin == "upload":
        token = share.encode_without_data(share.DataShape.of(dataset), specs)
    else:
        token = share.encode(dataset.info.id, state()["choice"].get("settings", {}), specs)
    url = st.context.url
    if not isinstance(url, str) or "://" not in url:  # no browser address (e.g. under AppTest)
        return f"/?share={token}"
    address = urllib.parse.urlsplit(url)
    base_path = st.get_option("server.baseUrlPath").strip("/")
    home = f"{address.scheme}://{address.netloc}/{base_path + '/' if base_path else ''}"
    return f"{home}?share={token}"  # the home page: the script that applies links runs there first
