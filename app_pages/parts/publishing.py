"""Published comparisons on Compare: a read-only link (``/compare?published=TOKEN``) to frozen copies of
the selected runs, which whoever opens it can read and download but not change; and the publisher's
list of their links, each of which they can withdraw.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import streamlit as st

from app_pages.parts.widgets import literal
from core import budget
from core.errors import UserError
from core.runs.store import RunStore

PUBLISHED = "published"  # the address's parameter naming a published comparison
MOST_TITLE = 120  # characters of a published comparison's title


def published_comparison(store: RunStore | None) -> dict[str, Any] | None:
    """The published comparison the address names (title and frozen runs), or None where it names
    none; an unknown or withdrawn link is one sentence, and the page stops.
    """
    token = st.query_params.get(PUBLISHED)
    if token is None:
        return None
    found = store.publication(token) if store else None
    if found is None:
        st.error("This comparison link is unknown here: check that it was copied whole, from this app.")
        st.stop()
    if found["withdrawn"] is not None:
        st.info("Whoever published this comparison has withdrawn it.")
        st.stop()
    return found


def link(token: str) -> str:
    """The address of a published comparison on this server."""
    url = urlsplit(st.context.url or "")
    origin = f"{url.scheme}://{url.netloc}" if url.netloc else ""
    return f"{origin}/compare?{PUBLISHED}={token}"


def publish_section(selected: list[dict[str, Any]], store: RunStore, workspace: str, title: str) -> None:
    """Publish the selected runs as a read-only link; the workspace's links, each one withdrawable."""
    st.subheader("Publish a read-only link")
    st.caption(
        "Whoever opens the link sees Compare and the lesson card for copies of these runs, frozen now: "
        "they can download the bundle, not delete, train into or change anything. Deleting the runs here "
        "later does not change what the link shows; withdraw the link to take it down."
    )
    cells = st.columns([3, 1], vertical_alignment="bottom")
    named = cells[0].text_input("Title", value=title, max_chars=MOST_TITLE, key="compare:publish:title")
    if cells[1].button(f"Publish {len(selected)} run{'s' * (len(selected) > 1)}", icon=":material/public:"):
        try:
            budget.check(
                len(store.publications(workspace)) + 1,
                budget.PUBLISHED,
                "published comparisons in this workspace",
                "Withdraw one first.",
            )
        except UserError as error:
            st.error(literal(error))
        else:
            token = store.publish(workspace, named.strip() or title, selected)
            st.session_state["compare:notice"] = f"Published: {link(token)}"
            st.rerun()
    for publication in store.publications(workspace):
        row = st.columns([3, 1], vertical_alignment="center")
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(publication["created"]))
        runs = f"{publication['runs']} run{'s' * (publication['runs'] > 1)}"
        row[0].markdown(literal(f"{publication['title']} · {runs} · {when}"))
        row[0].code(link(publication["token"]), language=None)
        withdraw = f"compare:withdraw:{publication['token']}"
        if row[1].button("Withdraw", key=withdraw, icon=":material/link_off:"):
            store.withdraw(publication["token"], workspace)
            st.rerun()
