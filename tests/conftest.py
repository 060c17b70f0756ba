"""Shared fixtures: real databases and running hubs. Helpers live in tests/support.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from homelab_hub.server.components import all_migrations
from homelab_hub.store import Database, migrate
from tests.support import free_port, port_open, require

# Tests that mostly hold something open or wait out an outage (the issues ask for minutes):
# `scripts/test` runs them (-m long) beside the rest (-m "not long") to keep the suite short.
LONG = (
    "tests/web/test_live_streams.py::test_the_grid_websocket_an_mjpeg_stream_and_an_sse_session_stay_up_for_two_minutes",
    "tests/server/test_outages.py",
    "tests/remote/",
    "tests/test_lean_install.py",
    # Mostly waiting too (reconnects, backoffs, slow readers, polls): they balance the halves.
    "tests/web/test_live_protocol.py",
    "tests/web/test_camera_grid.py",
    "tests/cameras/stream/test_worker_rtsp.py",
    "tests/memory/test_follow_over_broker.py",
    "tests/watchdog/test_budget.py",
    "tests/watchdog/test_tiers.py",
    "tests/watchdog/test_state.py",
    "tests/watchdog/test_claude.py",
    # CPU-bound, but the waiting half leaves a core idle: the PyTorch side of the equivalence.
    "tests/memory/test_memory_embedder.py",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "long: holds or waits for minutes; run beside the rest by scripts/test"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(LONG):
            item.add_marker(pytest.mark.long)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/hub.db"


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Database]:
    """A migrated SQLite database, for tests that need one backend only."""
    db = Database.from_url(sqlite_url)
    migrate(db, all_migrations())
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
    migrate(database, all_migrations())
    yield database
    database.close()


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
def local_hub(tmp_path, monkeypatch):
    """A hub with default settings, reached in-process (no socket): for REST-only tests."""
    from tests.hubclient import InProcessHub, hub_config

    monkeypatch.delenv("HOMELAB_HUB_CONFIG", raising=False)
    hub = InProcessHub(hub_config(tmp_path / "local", free_port()))
    yield hub
    hub.stop()


@pytest.fixture
def hub(hub_factory):
    """A running hub with default settings and no tokens (loopback, agent 'local')."""
    return hub_factory()
