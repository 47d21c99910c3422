"""The app's pages and what every script run does before its page."""

from __future__ import annotations

import gc

import altair  # noqa: F401  (imported before the freeze below, like everything the pages use)
import pandas  # noqa: F401
import streamlit as st

from app_pages.parts import services  # noqa: F401  (loaded before the freeze)
from app_pages.parts.sharing import apply_share
from app_pages.parts.visitor import APPLIED_SHARE, state
from app_pages.parts.workspace import follow_address, remember

# Streamlit collects garbage in full after every rerun (every 2 s while Train polls). The
# libraries imported by now hold about 120,000 objects for the life of the process, and walking
# them took about 50 ms of each collection: freeze them, once (Python imports this module once).
gc.freeze()


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
    """What every script run does before its page: page settings, a shared link, and the workspace the
    address names (or the visitor's, put in the address).
    """
    st.set_page_config(page_title="CNN vs RNN", page_icon="📊", layout="wide")  # an emoji needs no network
    if "share" in st.query_params and st.query_params["share"] != state().get(APPLIED_SHARE):
        apply_share(st.query_params["share"])
    follow_address()


def navigate() -> None:
    """dashboard.py: prepare the run, run the page the address asks for, and keep what the visitor
    chose in their workspace (also when the page reruns or stops early).
    """
    prepare_run()
    page = st.navigation(app_pages())
    try:
        page.run()
    finally:
        remember()
