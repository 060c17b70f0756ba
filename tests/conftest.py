"""Shared fixtures: real databases, and `require()` for tests that need a component.

A test that needs something this machine may lack (MariaDB, Mosquitto, Chromium, the
Claude CLI, gst-rtsp-server…) calls ``require(ok, reason)``: it skips with the reason,
unless HOMELAB_HUB_REQUIRE_ALL=1 (set by CI), where it fails instead.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from homelab_hub.store import Database, migrate

MARIADB_URL = os.environ.get("HOMELAB_HUB_TEST_MYSQL_URL", "mysql+pymysql://root:@127.0.0.1:3306/test")


def require(available: bool, reason: str) -> None:
    """Skip (or fail, under HOMELAB_HUB_REQUIRE_ALL=1) when a component is missing."""
    if available:
        return
    if os.environ.get("HOMELAB_HUB_REQUIRE_ALL") == "1":
        pytest.fail(f"required component missing: {reason}", pytrace=False)
    pytest.skip(reason)


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll until predicate() is truthy (returns its value) or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/hub.db"


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Database]:
    """A migrated SQLite database, for tests that need one backend only."""
    db = Database.from_url(sqlite_url)
    migrate(db)
    yield db
    db.close()


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A fresh, empty MariaDB database for one test, dropped afterwards."""
    require(port_open("127.0.0.1", 3306), "MariaDB is not listening on 127.0.0.1:3306")
    import pymysql

    name = f"hub_test_{uuid.uuid4().hex[:12]}"
    admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        yield f"mysql+pymysql://root:@127.0.0.1:3306/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


@pytest.fixture(params=["sqlite", "mariadb"])
def db_url(request) -> str:
    """Runs the test once on SQLite and once on MariaDB."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("mysql_url")


@pytest.fixture
def db(db_url) -> Iterator[Database]:
    """A migrated database on each backend."""
    database = Database.from_url(db_url)
    migrate(database)
    yield database
    database.close()


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def node_bin(name: str) -> str | None:
    """Path of an npm-installed CLI (claude, mcp-inspector) under .tools/, or on PATH."""
    import shutil

    local = os.path.join(REPO_ROOT, ".tools", "node_modules", ".bin", name)
    if os.path.exists(local):
        return local
    return shutil.which(name)


@pytest.fixture
def hub_factory(tmp_path, monkeypatch):
    """Start real hubs: ``hub = hub_factory({"memory": {...}})``; stopped after the test.

    Each gets a free port, a fresh SQLite database in tmp_path and the given config overrides
    (a nested dict, merged over the test defaults). ``storage.url`` may be overridden with
    the ``mysql_url`` fixture's value to run on MariaDB.
    """
    from tests.hubclient import RunningHub, hub_config

    monkeypatch.delenv("HOMELAB_HUB_CONFIG", raising=False)
    started: list = []

    def make(overrides: dict | None = None):
        config = hub_config(tmp_path / f"hub{len(started)}", free_port(), overrides)
        hub = RunningHub(config).start()
        started.append(hub)
        return hub

    yield make
    for hub in started:
        hub.stop()


@pytest.fixture
def hub(hub_factory):
    """A running hub with default settings and no tokens (loopback, agent 'local')."""
    return hub_factory()
