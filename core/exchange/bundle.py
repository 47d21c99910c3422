"""Comparison bundles: runs exported as one JSON file and imported elsewhere, validated strictly."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import replace
from typing import Any

from core import budget
from core.errors import UserError
from core.runs.database import StoreError
from core.runs.record import FIELDS, VERSION_KEY, RunRecord
from core.runs.store import RunStore

FORMAT = "cnn-rnn-dashboard/runs"
VERSION = 1
MAX_RUNS = 200


def export_bundle(records: list[dict[str, Any]]) -> str:
    """The runs (configs, per-epoch histories, test metrics) as one JSON document; uploaded data
    stays behind (only its name travels).
    """
    runs = [{key: record.get(key) for key in (*FIELDS, VERSION_KEY)} for record in records]
    for run in runs:
        dataset = {key: value for key, value in run["config"]["dataset"].items() if key != "upload"}
        run["config"] = {**run["config"], "dataset": dataset}
    return json.dumps({"format": FORMAT, "version": VERSION, "exported": time.time(), "runs": runs}, indent=1)


def import_bundle(data: bytes, workspace: str) -> list[dict[str, Any]]:
    """Read a bundle for a workspace; every run is checked whole. Any problem: one UserError.

    Each run's id is made from the workspace and the run's content, so importing the same bundle
    twice gives the same ids (the store keeps one copy).
    """
    if len(data) > budget.BUNDLE_BYTES:
        megabytes, limit = len(data) / 1e6, budget.BUNDLE_BYTES / 1e6
        raise UserError(f"The bundle is {megabytes:.1f} MB; at most {limit:.0f} MB are accepted.")
    try:
        bundle = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise UserError("The bundle is not a JSON file.") from None
    except RecursionError:
        raise UserError("The bundle nests too deeply to be read.") from None
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise UserError(f"The file is not a bundle of this app (its format should be {FORMAT!r}).")
    if bundle.get("version") != VERSION:
        raise UserError(
            f"The bundle has version {bundle.get('version')!r}; this app reads version {VERSION}."
        )
    runs = bundle.get("runs")
    if not isinstance(runs, list) or not 1 <= len(runs) <= MAX_RUNS:
        raise UserError(f"The bundle must hold 1 to {MAX_RUNS} runs.")
    return [
        replace(
            RunRecord.from_outside(run, f"Run {number} of the bundle"), id=_content_id(workspace, run)
        ).to_dict()
        for number, run in enumerate(runs, start=1)
    ]


def import_into(store: RunStore, data: bytes, workspace: str) -> tuple[int, int]:
    """Check a bundle and save all its runs in one transaction, or none; returns how many runs were
    added and how many were already in the workspace (imported before).
    """
    records = import_bundle(data, workspace)
    try:
        added = store.import_runs(records, workspace)
    except StoreError as error:
        raise UserError(
            f"The runs could not be saved to {store.where} ({error}); nothing was imported."
        ) from None
    return added, len(records) - added


def _content_id(workspace: str, run: dict[str, Any]) -> str:
    canonical = json.dumps([workspace, run], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:10]
