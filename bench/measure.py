"""What the benchmarks share: a load gate, alternating rounds summed up as median and interquartile
range, a streamlit server on a free port, Debian's Chromium driven by Playwright, the dashboard's
Train page, and the memory of a process.

Timings on these 2-core machines vary by 15-40% from run to run, so every timing here is a warm-up
and then alternating rounds (A, B, A, B ...), each started once the 1-minute load is low.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.runs.record import FINISHED
from core.runs.store import RunStore
from tests.browser import CHROMIUM_ARGS, IDLE, ensure_chromium, settle

LOAD_LIMIT = 0.6  # a round starts once the 1-minute load is below this ...
MAX_WAIT = 60.0  # ... or after this many seconds of waiting, noted in the round's line
VIEWPORT = {"width": 1400, "height": 1100}
WAIT_MS = 600_000  # Playwright's longest wait for a page or a run
FIRST_SEED = 1  # the seed of the first click's runs; each click takes the next
QUEUE_WAIT = 30.0  # seconds a click on Train may take to queue its runs

Measurement = dict[str, float]  # what one side measured in one round: case -> value


# ---- rounds, the load gate and the summary -------------------------------------------------------


def one_minute_load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def wait_until_quiet(limit: float = LOAD_LIMIT, max_wait: float = MAX_WAIT) -> str:
    """Wait until the 1-minute load is below ``limit``, ``max_wait`` seconds at most; says how it went."""
    start = time.monotonic()
    while (load := one_minute_load()) >= limit:
        if time.monotonic() - start >= max_wait:
            return f"load {load:.2f} after {max_wait:.0f} s wait, went on ABOVE the gate"
        time.sleep(2)
    return f"load {load:.2f} after {time.monotonic() - start:.0f} s wait"


def alternate(sides: dict[str, Callable[[], Measurement]], count: int) -> dict[str, list[Measurement]]:
    """A warm-up of every side, then ``count`` rounds of every side in turn (A, B, A, B ...), each
    behind the load gate; prints every round and returns each side's rounds (warm-up left out).
    """
    results: dict[str, list[Measurement]] = {side: [] for side in sides}
    for number in range(count + 1):
        label = f"round {number}" if number else "warm-up"
        for side, measure in sides.items():
            gate = wait_until_quiet()
            measured = measure()
            shown = "  ".join(f"{case} {value:7.3f}" for case, value in measured.items())
            print(f"{label:>9}  {side:<12} {shown}   ({gate})", flush=True)
            if number:
                results[side].append(measured)
    return results


@dataclass(frozen=True)
class Spread:
    """Median and interquartile range of some values."""

    median: float
    q1: float
    q3: float

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        if len(values) < 2:
            return cls(values[0], values[0], values[0])
        q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
        return cls(median, q1, q3)

    def __format__(self, spec: str) -> str:
        return f"{self.median:{spec}} (IQR {self.q1:{spec}}-{self.q3:{spec}})"


def summarize(results: dict[str, list[Measurement]], ratio: tuple[str, str] | None = None) -> None:
    """Print each side's median and IQR per case and, for ``ratio`` (numerator, denominator), the
    median and IQR of the per-round ratios.
    """
    for case in next(iter(results.values()))[0]:
        parts = [f"{side} {Spread.of([r[case] for r in rounds]):.3f}" for side, rounds in results.items()]
        if ratio:
            top, bottom = (results[side] for side in ratio)
            quotients = [a[case] / b[case] for a, b in zip(top, bottom, strict=True)]
            parts.append(f"ratio {ratio[0]}/{ratio[1]} {Spread.of(quotients):.3f}")
        print(f"{case}: " + ";  ".join(parts), flush=True)


# ---- processes -------------------------------------------------------------------------------------


def proc_mb(pid: int, file: str, field: str) -> float:
    """A size in kB that ``/proc/PID/<file>`` gives on its ``field:`` line, in MB."""
    for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"process {pid} reports no {field}")


def resident_mb(pid: int) -> float:
    """A process's resident memory (VmRSS), in MB."""
    return proc_mb(pid, "status", "VmRSS")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_idle(pid: int, interval: float = 0.5) -> None:
    """Wait until a process uses (almost) no CPU for ``interval`` seconds."""
    used = cpu_seconds(pid)
    while True:
        time.sleep(interval)
        now = cpu_seconds(pid)
        if now - used < 0.03:
            return
        used = now


def loads_tensorflow(pid: int) -> bool:
    return "tensorflow" in Path(f"/proc/{pid}/maps").read_text()


# ---- the browser -----------------------------------------------------------------------------------


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright, launched as the browser test does."""
    from playwright.sync_api import sync_playwright

    path = ensure_chromium()
    if path is None:
        raise RuntimeError("Chromium is not available: apt-get install chromium (Debian's package)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def first_visit_seconds(browser: Any, url: str, heading: str) -> float:
    """Seconds from opening ``url`` in a new browser session (empty cache) until ``heading`` shows
    and the page's script has finished.
    """
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        start = time.perf_counter()
        page.goto(url)
        page.get_by_role("heading", name=heading, exact=True).first.wait_for(timeout=WAIT_MS)
        page.wait_for_selector(IDLE, timeout=WAIT_MS)
        return time.perf_counter() - start
    finally:
        context.close()


class TrainPage:
    """The dashboard's Train page open in the browser, and the run store its runs land in."""

    def __init__(self, browser: Any, url: str, store: RunStore, workspace: str | None = None) -> None:
        """The Train page in a new browser session, in ``workspace`` (a new one if None)."""
        self.page = browser.new_page(viewport=VIEWPORT)
        self.page.goto(f"{url}/train" + (f"?workspace={workspace}" if workspace else ""))
        settle(self.page)
        self.page.get_by_role("heading", name="Train", exact=True).wait_for()
        self.store = store
        self.seed = FIRST_SEED - 1

    def set_epochs(self, epochs: int) -> None:
        self.set_number("Epochs", epochs)

    def set_number(self, label: str, value: float) -> None:
        """Type ``value`` into the number field labelled ``label`` and wait for the rerun."""
        field = self.page.get_by_role("spinbutton", name=label, exact=True)
        field.fill(str(value))
        field.press("Enter")
        settle(self.page)

    def train(self) -> tuple[list[dict[str, Any]], float]:
        """Set a seed not trained yet (the page trains each seed of a model once), click Train and wait
        until every run it queued has ended and the page is idle again; returns those runs' records and
        the seconds from the click to the first batch in the store.
        """
        self.seed += 1
        self.set_number("Seed", self.seed)
        return self.wait(*self.click())

    def click(self) -> tuple[set[str], float]:
        """Click Train; returns the runs in the store before the click and the time of the click."""
        before = {run["id"] for run in self.store.runs()}
        self.page.get_by_role("button", name="Train", exact=True).click()
        return before, time.perf_counter()

    def first_batch(self, before: set[str], clicked: float) -> tuple[list[dict[str, Any]], float]:
        """Wait for the first batch of a run queued by the click; returns the click's runs and the
        seconds from the click to that batch.
        """
        while True:
            runs = [run for run in self.store.runs(live=True) if run["id"] not in before]
            if any(run["progress"].get("batch", 0) >= 1 for run in runs):
                return runs, time.perf_counter() - clicked
            if runs and all(run["status"] in FINISHED for run in runs):
                raise RuntimeError(f"runs ended before a batch: {[run['reason'] for run in runs]}")
            if not runs and time.perf_counter() - clicked > QUEUE_WAIT:
                raise RuntimeError(f"the click queued no run (already trained?); see {self.shot('no-run')}")
            time.sleep(0.02)

    def wait(self, before: set[str], clicked: float) -> tuple[list[dict[str, Any]], float]:
        """Wait until every run queued by the click has completed and the page is idle again; returns
        those runs' records and the seconds from the click to the first batch in the store.
        """
        runs, first_batch = self.first_batch(before, clicked)
        while True:  # read again at least once: the first batch's read may predate a run's estimate
            runs = [run for run in self.store.runs() if run["id"] not in before]
            if all(run["status"] in FINISHED for run in runs):
                break
            time.sleep(0.5)
        failed = [
            f"{run['name']}: {run['status']} {run['reason']}" for run in runs if run["status"] != "completed"
        ]
        if failed:
            raise RuntimeError(f"runs did not complete: {failed}")
        self.page.get_by_role("button", name="Stop", exact=True, disabled=True).wait_for(timeout=WAIT_MS)
        settle(self.page)
        return runs, first_batch

    def shot(self, name: str) -> Path:
        """A full-page screenshot in the temporary folder; its path."""
        path = Path(tempfile.gettempdir(), f"bench-{name}.png")
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def visit(self, title: str, heading: str | None = None) -> None:
        """Go to another page through the sidebar, in the same browser session."""
        self.page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
        settle(self.page)
        self.page.get_by_role("heading", name=heading or title, exact=True).first.wait_for()
