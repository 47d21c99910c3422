"""Home: what the app does, and where to see each CNN vs RNN difference happen."""

import streamlit as st

st.title("CNN vs RNN")
st.markdown(
    "Pick real data (**images, text or time series**), build a convolutional or a recurrent network "
    "layer by layer, **train it live**, and **compare** the models side by side: accuracy or error, "
    "learning curves, training time, size, and what each one got right or wrong. "
    "Every layer shows the shape of the data it passes on, "
    "(batch, time, features) or (batch, height, width, channels), "
    "because mixing up those axes is the classic mistake."
)
st.page_link("app_pages/data.py", label="Start: choose a dataset", icon=":material/arrow_forward:")

st.subheader("The two families at a glance")
CARD = [  # aspect, CNN, RNN
    ("Data it suits", "grids: images, or windows of a sequence", "sequences in order: text, series, speech"),
    (
        "Local feature extraction",
        "filters slide over neighbouring pixels or time steps",
        "none built in: one step at a time",
    ),
    (
        "Memory of context",
        "only as wide as its receptive field (dilation widens it)",
        "a hidden state carried along the whole sequence",
    ),
    (
        "Parallel training",
        "every position at once: fast on CPUs and GPUs",
        "step after step: slower per epoch",
    ),
    (
        "Typical uses",
        "vision, audio, fast sequence models (TCN)",
        "language, forecasting, anything with long order",
    ),
]
SEE_IT = [  # where each difference shows
    ("app_pages/data.py", "Pick a dataset"),
    ("app_pages/build.py", "Layers on Build"),
    ("app_pages/train.py", "Speed on Train"),
    ("app_pages/compare.py", "Results on Compare"),
]
# One Markdown table, not a grid of columns: the first paint of Home stays close to a bare app's
rows = [f"| **{aspect}** | {cnn} | {rnn} |" for aspect, cnn, rnn in CARD]
st.markdown("\n".join(["| | CNN | RNN |", "|---|---|---|", *rows]))
st.caption("See it happen:")
for column, (page, label) in zip(st.columns(len(SEE_IT)), SEE_IT, strict=True):
    column.page_link(page, label=label, icon=":material/arrow_forward:")

st.subheader("How it works")
steps = st.columns(4)
steps[0].markdown(
    "**1. Data**  \nBuilt-in sets work offline; Keras classics download on demand; "
    "or upload your own CSV or ZIP."
)
steps[1].markdown(
    "**2. Build**  \nStart from a preset or from empty. Each layer is checked as you edit, "
    "and the Keras code is written for you."
)
steps[2].markdown(
    "**3. Train**  \nQueue several models; watch loss and accuracy live; "
    "stop any time and keep what was learned."
)
steps[3].markdown(
    "**4. Compare**  \nMetrics, curves, time, size, confusion matrices, forecasts "
    "and generated text, side by side; download the table."
)
