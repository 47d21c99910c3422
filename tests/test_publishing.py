"""Published comparisons: a read-only link to frozen copies of runs, which the publisher can withdraw."""

from __future__ import annotations

from helpers import shown
from streamlit.testing.v1 import AppTest
from test_app import APP
from test_fairness import classified

from core.runs.store import RunStore

TRUE = [0, 1, 2] * 10


def compare_page(tmp_path, monkeypatch, **address: str) -> AppTest:
    monkeypatch.setenv("RUNS_DB", str(tmp_path / "runs.db"))
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params.update(address)
    at.run()
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception
    return at


def test_a_published_link_is_read_only_frozen_and_can_be_withdrawn(tmp_path, monkeypatch):
    store = RunStore(tmp_path / "runs.db")
    for record in (classified("cnn1", "CNN", TRUE, TRUE), classified("gru1", "GRU", TRUE, [0] * 30)):
        store.save_record(record, "mine")
    at = compare_page(tmp_path, monkeypatch, workspace="mine")
    at.text_input(key="compare:publish:title").set_value("CNN **against** GRU").run()
    next(button for button in at.button if button.label == "Publish 2 runs").click().run()
    [publication] = store.publications("mine")
    assert publication["title"] == "CNN **against** GRU" and publication["runs"] == 2
    assert any(f"/compare?published={publication['token']}" in shown(s.value) for s in at.success)
    for _ in range(19):  # up to the budget of published comparisons a workspace may hold
        store.publish("mine", "again", store.runs(workspace="mine"))
    next(button for button in at.button if button.label == "Publish 2 runs").click().run()
    assert "This would make 21 published comparisons in this workspace; at most 20" in shown(
        at.error[0].value
    )
    assert len(store.publications("mine")) == 20
    for extra in store.publications("mine")[:19]:
        store.withdraw(extra["token"], "mine")
    store.delete(["cnn1", "gru1"], "mine")  # the link keeps its frozen copies

    visitor = compare_page(tmp_path, monkeypatch, published=publication["token"])
    banner = visitor.info[0]
    assert shown(banner.value).startswith("A published comparison, read-only: CNN **against** GRU.")
    table = next(frame.value for frame in visitor.dataframe if "Model" in frame.value.columns)
    assert list(table["Model"]) == ["CNN", "GRU"]
    assert "Import, publish and delete" not in [tab.label for tab in visitor.tabs]
    labels = [button.label for button in visitor.button]
    assert "Delete" not in labels and "Measure cost against length" not in labels
    assert visitor.session_state["workspace"] != "mine"  # the visitor has a workspace of their own

    assert store.withdraw(publication["token"], "mine")
    gone = compare_page(tmp_path, monkeypatch, published=publication["token"])
    assert [info.value for info in gone.info] == ["Whoever published this comparison has withdrawn it."]
    unknown = compare_page(tmp_path, monkeypatch, published="not-a-token")
    assert [shown(error.value) for error in unknown.error] == [
        "This comparison link is unknown here: check that it was copied whole, from this app."
    ]
