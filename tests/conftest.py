"""Shared fixtures: blocked sockets, small datasets, and a quick training helper."""

from __future__ import annotations

import os
import socket

import pytest

from core.datasets import Dataset, load_dataset

MODALITY_DATASETS = ("digits_8x8", "rotten_tomatoes", "shakespeare", "sunspots")


@pytest.fixture(scope="session", autouse=True)
def run_store_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests (and the processes they start) write runs to a throw-away database."""
    os.environ["RUNS_DB"] = str(tmp_path_factory.mktemp("store") / "runs.db")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every attempt to open a network connection fail, as on an offline machine."""

    def refuse(*args, **kwargs):
        raise OSError("network access is blocked in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


_CACHE: dict[str, Dataset] = {}


def small(dataset_id: str, count: int = 96) -> Dataset:
    """A built-in dataset cut to a few samples, loaded once per test session."""
    if dataset_id not in _CACHE:
        _CACHE[dataset_id] = load_dataset(dataset_id)
    return _CACHE[dataset_id].head(count)
