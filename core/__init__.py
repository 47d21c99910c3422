"""The engine behind the dashboard: datasets, layer registry, model building, training.

Nothing here imports Streamlit; the same code serves the pages and the command line.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter off screens
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
