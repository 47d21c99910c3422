"""The dashboard's pages, run by ``dashboard.py`` through ``st.navigation``: thin views that read widgets
and call into ``core``. The folder is not named ``pages/``: Streamlit would scan such a folder as a
legacy multipage app and list every script in it."""
