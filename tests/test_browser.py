"""One real-browser journey: Debian's Chromium, driven by Playwright, against `streamlit run`.

Chromium comes from apt-get (never `playwright install`). Where it cannot be had, the test skips
with a message, except under CI=true, where it must run. Screenshots of every page are saved to
$SCREENSHOT_DIR (docs/screenshots/ to refresh the README's pictures) or to a temporary folder.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import CHROMIUM_ARGS, ROOT, ensure_chromium, settle, streamlit_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard on a store of its own: no worker of another test's pool takes its runs."""
    folder = tmp_path_factory.mktemp("browser")
    env = {"RUNS_DB": str(folder / "runs.db")}
    with streamlit_server(ROOT / "dashboard.py", folder / "server.log", env) as running:
        yield running.url


@pytest.fixture(scope="module")
def browser():
    chromium = ensure_chromium()
    if chromium is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required under CI but could not be installed with apt-get")
        pytest.skip("Chromium is not available (Debian/Ubuntu's apt-get installs it); browser test skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.mark.slow
def test_image_journey_train_stop_compare(server, browser, tmp_path):
    shots = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    errors: list[str] = []  # offline, nothing may fail to load (the page icon once did)
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    missing: list[str] = []
    page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)

    def visit(title: str) -> None:
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
        settle(page)
        page.get_by_role("heading", name=title, exact=True).first.wait_for()
        # a page's images (the Data preview) load before the next page releases them; a failed load
        # also counts as complete, so a missing image is still caught below
        page.wait_for_function("() => Array.from(document.images).every(image => image.complete)")

    def shot(name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"))

    page.goto(server)
    settle(page)
    page.get_by_role("heading", name="CNN vs RNN").wait_for()
    shot("1-home")
    visit("Data")
    page.get_by_text("MNIST digits (5,000)").first.wait_for()
    shot("2-data")
    visit("Build")
    page.get_by_text("is valid").first.wait_for()
    shot("3-build")

    visit("Train")
    epochs = page.get_by_role("spinbutton", name="Epochs")
    epochs.fill("1")
    epochs.press("Enter")
    settle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Training CNN").wait_for(timeout=180_000)  # a cold worker times both models first
    page.get_by_text("LSTM · completed").wait_for(timeout=240_000)
    settle(page)
    page.get_by_text("CNN · completed").wait_for()
    shot("4-train-results")

    epochs.fill("30")
    epochs.press("Enter")
    settle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Epoch 1 of 30").first.wait_for(timeout=60_000)
    shot("5-train-live")
    assert "workspace=private-" in page.url
    page.reload()  # in the middle of training: the address keeps the workspace, the live run comes back
    settle(page)
    page.get_by_text(re.compile(r"Epoch \d+ of 30")).first.wait_for(timeout=60_000)  # epoch 1 may be over
    page.get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text("CNN · stopped").wait_for(timeout=120_000)
    page.get_by_text("Training LSTM").wait_for(timeout=60_000)
    page.get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text("LSTM · stopped").wait_for(timeout=120_000)

    visit("Compare")
    table = page.get_by_test_id("stDataFrame").first
    table.wait_for()
    page.wait_for_timeout(1500)
    shot("6-compare")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.DictReader(Path(download.value.path()).read_text(encoding="utf-8").splitlines()))
    assert [row["Model"] for row in rows] == ["CNN", "LSTM", "CNN", "LSTM"]
    assert [row["Status"] for row in rows] == ["completed", "completed", "stopped", "stopped"]
    assert all(0 <= float(row["Accuracy"]) <= 1 for row in rows)
    # A reload of /train makes Streamlit's frontend first try /train as the app's base path: its two
    # probes there answer 404 before it finds the app at /. Nothing else may fail to load.
    probes = [
        url
        for url in missing
        if url.split("?")[0].endswith(("/train/_stcore/health", "/train/_stcore/host-config"))
    ]
    assert len(probes) == len(missing) <= 2
    assert [error for error in errors if "status of 404" not in error] == []
    assert len(errors) == len(missing)
    page.close()


@pytest.mark.slow
def test_first_visit_straight_to_a_page_uses_the_apps_navigation(browser, tmp_path):
    """A fresh server whose first visitor opens /compare (as a bookmark would) lists the app's pages
    and draws the page once (the pages live in app_pages/, which Streamlit's legacy scan of a pages/
    folder never lists).
    """
    env = {"RUNS_DB": str(tmp_path / "runs.db")}
    with streamlit_server(ROOT / "dashboard.py", tmp_path / "server.log", env) as fresh:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{fresh.url}/compare")
        settle(page)
        heading = page.get_by_role("heading", name="Compare", exact=True)
        heading.first.wait_for()
        assert heading.count() == 1  # drawn once, by the app's navigation
        links = page.get_by_test_id("stSidebarNav").get_by_role("link").all_inner_texts()
        titles = [link.split()[-1] for link in links]  # each link reads its icon's name, then its title
        assert titles == ["Home", "Data", "Build", "Train", "Compare", "Lab"]
        page.close()
