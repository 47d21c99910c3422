"""CNN vs RNN: build, train and compare convolutional and recurrent networks on real data."""

import streamlit as st

from pages.common import apply_share, open_workspace, state

st.set_page_config(page_title="CNN vs RNN", page_icon="📊", layout="wide")  # an emoji icon needs no network

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/dataset:"),
    st.Page("pages/build.py", title="Build", icon=":material/construction:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("pages/lab.py", title="Lab", icon=":material/science:"),
]

if "share" in st.query_params and st.query_params["share"] != state().get("applied_share"):
    apply_share(st.query_params["share"])
if "workspace" in st.query_params and st.query_params["workspace"] != state()["workspace"]:
    open_workspace(st.query_params["workspace"])

st.navigation(PAGES).run()
