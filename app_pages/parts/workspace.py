"""The visitor's workspace in the address (``?workspace=...``) from the first page, and what they chose
(data, models and training settings) kept in the run store beside their runs: a reload, back/forward
or a bookmark brings all of it back.
"""

from __future__ import annotations

import hashlib
import json

import streamlit as st

from app_pages.parts.services import open_store
from app_pages.parts.visitor import CHOICE, MODELS, RUNS, TRAINING, WORKSPACE, state
from app_pages.parts.widgets import literal
from core.errors import UserError
from core.inputs import WORKSPACE_NAME, WORKSPACE_RULE
from core.runs.store import RunStore

UPLOAD = "upload_bytes"  # the visitor's uploaded file, in session state
REMEMBERED = "workspace:remembered"  # the choice last written to the store, so an unchanged one is not


def follow_address() -> None:
    """Open the workspace the address names (bringing back what was chosen in it), then keep the
    visitor's workspace in the address.
    """
    session = state()
    named = st.query_params.get("workspace")
    if named is not None and named != session[WORKSPACE]:
        if WORKSPACE_NAME.fullmatch(named):
            session[WORKSPACE] = named
            if store := open_store():
                restore(store, named)
        else:
            st.error(f"A workspace name has {WORKSPACE_RULE}; the link was ignored.")
    if st.query_params.get("workspace") != session[WORKSPACE]:
        st.query_params["workspace"] = session[WORKSPACE]


def restore(store: RunStore, name: str) -> None:
    """The workspace's runs, and the data, models and training settings last chosen in it (an upload
    by its hash).
    """
    session = state()
    session[RUNS] = store.run_ids(name)
    kept = store.workspace(name)
    if kept is None:
        return
    digest = kept["choice"].get("upload", {}).get("sha256")
    data = store.upload(digest) if digest else None
    if digest and data is None:
        return  # the upload is no longer kept: the visitor starts from the defaults
    choice = dict(kept["choice"])
    if data is not None:
        choice["upload"] = {key: value for key, value in choice["upload"].items() if key != "sha256"}
        session[UPLOAD] = data
    training = kept.get("training", {})  # workspaces kept before training settings were
    session[CHOICE], session[MODELS], session[TRAINING] = choice, kept["models"], training
    session[REMEMBERED] = _written(choice, kept["models"], training, digest)


def remember() -> None:
    """Keep the visitor's data choice, models and training settings in the store when they changed (an
    upload once, by its hash).
    """
    session = state()
    store = open_store()
    if store is None:
        return
    choice, data = session[CHOICE], session.get(UPLOAD)
    digest = hashlib.sha256(data).hexdigest() if choice.get("upload") and data else None
    written = _written(choice, session[MODELS], session[TRAINING], digest)
    if session.get(REMEMBERED) == written:
        return
    try:
        if digest:
            store.put_upload(data)
        store.save_workspace(session[WORKSPACE], json.loads(written))
    except UserError as error:  # a read-only store
        st.warning(
            literal(f"{error} Your data, models and training settings are kept for this session only.")
        )
        return
    session[REMEMBERED] = written


def _written(choice: dict, models: dict, training: dict, digest: str | None) -> str:
    """What the store keeps for a workspace, as JSON text: the choice (an upload's hash in it), models
    and training settings.
    """
    if digest:
        choice = {**choice, "upload": {**choice["upload"], "sha256": digest}}
    return json.dumps({"choice": choice, "models": models, "training": training}, sort_keys=True)
