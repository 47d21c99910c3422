"""Shared fixtures: a throw-away run store for the session, and blocked sockets. Shared helpers are in
``helpers.py``."""

from __future__ import annotations

import os
import socket

import pytest


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
