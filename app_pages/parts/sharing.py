"""Share links on the pages: applying one from the address, offering its models, and making one."""

from __future__ import annotations

import urllib.parse
from typing import Any

import streamlit as st

from app_pages.parts.services import load_choice, offer_download
from app_pages.parts.visitor import APPLIED_SHARE, CHOICE, MODELS, entry, spec_of, state
from app_pages.parts.widgets import literal
from core.datasets import Dataset, keras_classics
from core.datasets.base import counted
from core.errors import UserError
from core.exchange import share


def apply_share(token: str) -> None:
    """Restore a shared comparison (dataset and models), or say in one sentence why not."""
    session = state()
    session[APPLIED_SHARE] = token
    try:
        shared = share.decode(token)
        if shared.dataset is None:
            receive_models(token, shared)
            return
        dataset = load_choice(shared.dataset)
        shared.check_against(dataset.signature)
    except keras_classics.NotFetched:
        session[APPLIED_SHARE] = None  # applied once a worker has downloaded the dataset
        offer_download(shared.dataset["id"])
        return
    except UserError as error:
        st.error(literal(f"{error} Nothing was loaded."))
        return
    session[CHOICE] = shared.dataset
    session[MODELS][dataset.info.id] = {spec.name: entry(spec) for spec in shared.models}
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
        dataset = load_choice(session[CHOICE])
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
    models = state()[MODELS].setdefault(dataset.info.id, {})
    models.update({spec.name: entry(spec) for spec in shared.models})


def offer_shared_models(dataset: Dataset) -> None:
    """On the Data page: the models of a link without its data, for the dataset on screen if they fit it."""
    token = state().get("shared_models")
    if token is None:
        return
    shared = share.decode(token)
    models = state()[MODELS].get(dataset.info.id, {})
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
        token = share.encode(dataset.info.id, state()[CHOICE].get("settings", {}), specs)
    url = st.context.url
    if not isinstance(url, str) or "://" not in url:  # no browser address (e.g. under AppTest)
        return f"/?share={token}"
    address = urllib.parse.urlsplit(url)
    base_path = st.get_option("server.baseUrlPath").strip("/")
    home = f"{address.scheme}://{address.netloc}/{base_path + '/' if base_path else ''}"
    return f"{home}?share={token}"  # the home page: the script that applies links runs there first
