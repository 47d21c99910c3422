"""Sweeps on Ray: each planned run is one Ray task, on a local Ray started here or on a cluster.

A task rebuilds the run's dataset from its config, trains it with ``TrainingJob`` and returns the
finished record with the trained model; the driver writes each one to the run store as it returns.
The project's code travels to the workers as the job's working directory, so a remote cluster needs
only the same Python packages.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from core.datasets.described import load_described
from core.errors import UserError
from core.model.spec import ModelSpec
from core.runs.record import RunStatus
from core.runs.store import RunStore

LOCAL = "local"  # start a Ray instance on this machine for the sweep
CLIENT_PORT = 10001  # Ray Client's default port on a cluster's head node
CONNECT_SECONDS = 5.0
PROJECT = Path(__file__).resolve().parents[2]
EXCLUDES = ["/.git/", "/runs/", "/docs/", "/tests/", "/bench/", "/.benchmarks/"]  # and what .gitignore lists


@contextmanager
def connected(address: str = LOCAL, cpus: int | None = None) -> Iterator[None]:
    """Within the block, Ray is connected: ``"local"`` starts a Ray of ``cpus`` CPUs (default: all)
    on this machine, ``"auto"`` joins the cluster this machine belongs to, ``"ray://HOST[:PORT]"`` a
    cluster's head node. A cluster that cannot be reached is told in one sentence.
    """
    ray = _import_ray()
    try:
        _connect(ray, address, cpus)
        yield
    finally:
        ray.shutdown()


def train_on_ray(
    records: list[dict[str, Any]],
    store: RunStore,
    workspace: str,
    gpu: bool = False,
    listener: Callable[[dict[str, Any], int], None] | None = None,
) -> list[dict[str, Any]]:
    """Within ``connected()``: train queued run records as Ray tasks (one CPU each, and one GPU with
    ``gpu``) and save each finished run to ``store`` as it returns; ``listener`` gets it with the count
    finished so far. Ctrl-C cancels the runs not finished yet. Returns the finished runs, in the order
    they finished.
    """
    import ray

    task = ray.remote(train_task).options(num_cpus=1, num_gpus=int(gpu))
    pending = {task.remote(record): record for record in records}
    finished: list[dict[str, Any]] = []
    try:
        while pending:
            [ready], _ = ray.wait(list(pending))
            record, model = _result(ray, ready, pending[ready])
            store.save_record(record, workspace)
            if model is not None:
                store.save_model(record["id"], model)
            del pending[ready]
            finished.append(record)
            if listener is not None:
                listener(record, len(finished))
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref)
    return finished


def train_task(record: dict[str, Any]) -> tuple[dict[str, Any], bytes | None]:
    """In a Ray worker: train a queued run; returns its finished record and its ``.keras`` model
    (None when training failed).
    """
    from core.training.job import TrainingJob  # TensorFlow loads in the worker only

    config = record["config"]
    dataset = load_described(config["dataset"], fetch_missing=True)
    job = TrainingJob(dataset, ModelSpec.from_dict(config["model"]), config["train"], queued=record)
    return job.run(), job.model_file


def _import_ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise UserError("Ray is not installed; run pip install -r requirements-scale.txt.") from None
    return ray


def _connect(ray: ModuleType, address: str, cpus: int | None) -> None:
    """Start a local Ray, or join a cluster; one sentence when it cannot be reached."""
    options: dict[str, Any] = {}
    if address == LOCAL:
        if cpus is not None and cpus < 1:
            raise UserError("A local Ray needs at least one CPU.")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        options = {"num_cpus": cpus, "include_dashboard": False}
    elif cpus is not None:
        raise UserError(
            "A number of CPUs can be set for a local Ray only; a cluster has the CPUs it started with."
        )
    elif address != "auto":
        _check_client_address(address)
    try:
        with warnings.catch_warnings():  # Ray warns before it raises; our sentence says it all
            warnings.simplefilter("ignore")
            ray.init(
                address=address,
                runtime_env={"working_dir": str(PROJECT), "excludes": EXCLUDES},
                logging_level=logging.ERROR,
                log_to_driver=False,
                **options,
            )
    except ConnectionError as error:
        raise _unreachable(address, str(error).split(". ")[0].rstrip(".")) from None


def _check_client_address(address: str) -> None:
    """Check that ``address`` is a ``ray://`` address and that something listens there: Ray itself
    would retry for half a minute before it tells.
    """
    parts = urlsplit(address)
    try:
        host, port = parts.hostname, parts.port or CLIENT_PORT
    except ValueError:
        host = None
    if parts.scheme != "ray" or not host:
        raise UserError(f"{address!r} is not a Ray address; give ray://HOST:PORT, or auto on a cluster node.")
    try:
        socket.create_connection((host, port), timeout=CONNECT_SECONDS).close()
    except OSError as error:
        raise _unreachable(address, error.strerror or str(error)) from None


def _unreachable(address: str, reason: str) -> UserError:
    return UserError(f"No Ray cluster could be reached at {address} ({reason}).")


def _result(ray: ModuleType, ref: Any, queued: dict[str, Any]) -> tuple[dict[str, Any], bytes | None]:
    """A finished task's record and model; a task that failed outside training becomes a failed run."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as error:  # data missing on the worker, a worker killed or out of memory
        cause = getattr(error, "cause", None) or error
        reason = (str(cause).strip().splitlines() or [cause.__class__.__name__])[0][:200]
        return {**queued, "status": RunStatus.FAILED, "reason": reason, "finished": time.time()}, None
