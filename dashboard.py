"""CNN vs RNN: build, train and compare convolutional and recurrent networks on real data."""

import streamlit as st
from streamlit.runtime.scriptrunner import script_runner

from pages.common import apply_share, open_workspace, state

# After every script run Streamlit calls keras.backend.clear_session() once Keras is imported, for
# apps that build models inside the script. Here models train in a background thread, and that call
# resets Keras' state for every thread and clears TensorFlow's kernel cache in the middle of a fit
# (measured: a 1-epoch LSTM took 43 s instead of 3 s while the Train page was open). Jobs clear the
# session themselves, between fits.
script_runner._clean_problem_modules = lambda: None


st.set_page_config(page_title="CNN vs RNN", page_icon=":material/compare:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/dataset:"),
    st.Page("pages/build.py", title="Build", icon=":material/construction:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
]

if "share" in st.query_params and st.query_params["share"] != state().get("applied_share"):
    apply_share(st.query_params["share"])
if "workspace" in st.query_params and st.query_params["workspace"] != state()["workspace"]:
    open_workspace(st.query_params["workspace"])

st.navigation(PAGES).run()
