"""Memory test fixtures: the embedding model is loaded once per test session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from homelab_hub.memory.config import MemoryConfig
from homelab_hub.memory.embedder import Embedder
from homelab_hub.memory.service import MemoryService
from homelab_hub.server.components import all_migrations
from homelab_hub.store import Database, migrate


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    model = Embedder(None)
    model.load_now()
    return model


@pytest.fixture
def make_service(embedder, tmp_path) -> Iterator[Callable[..., MemoryService]]:
    """``make_service(db_url, **config)``: a started MemoryService on that database."""
    opened: list[Database] = []

    def make(url: str, index_dir: Path | None = None, **config: object) -> MemoryService:
        db = Database.from_url(url)
        migrate(db, all_migrations())
        opened.append(db)
        service = MemoryService(
            db, MemoryConfig(**config), index_dir or tmp_path / f"index{len(opened)}", embedder
        )
        service.start_now()
        return service

    yield make
    for db in opened:
        db.close()


@pytest.fixture
def memory(make_service, db_url) -> MemoryService:
    """A started MemoryService on each backend (SQLite and MariaDB)."""
    return make_service(db_url)


class MemoryHub:
    """A running hub with tokens for agents alice and bob and an admin."""

    def __init__(self, hub) -> None:  # type: ignore[no-untyped-def]
        self.hub = hub
        self.alice = hub.create_token("alice")
        self.bob = hub.create_token("bob")
        self.admin = hub.create_token("root", admin=True)

    def rest(self, tool: str, args: dict, token: str | None = None):  # type: ignore[no-untyped-def]
        return self.hub.rest(tool, args, token=token or self.alice)

    def ok(self, tool: str, args: dict, token: str | None = None) -> dict:
        res = self.rest(tool, args, token)
        assert res.status_code == 200, res.text
        return res.json()

    def error(self, tool: str, args: dict, status: int, token: str | None = None) -> dict:
        res = self.rest(tool, args, token)
        assert res.status_code == status, res.text
        body = res.json()
        assert body["ok"] is False and "Traceback" not in res.text
        return body["error"]


@pytest.fixture(params=["sqlite", "mariadb"])
def memory_hub(request) -> MemoryHub:
    """A real hub over HTTP on SQLite and on MariaDB."""
    overrides: dict = {"memory": {"persist_interval_s": 1.0}}
    if request.param == "mariadb":
        # Before hub_factory, so that the hub closes before its database is dropped.
        overrides["storage"] = {"url": request.getfixturevalue("mysql_url")}
    request.getfixturevalue("embedder")  # load the model once, before the hub wants it
    return MemoryHub(request.getfixturevalue("hub_factory")(overrides))


@pytest.fixture(scope="module")
def make_service_module(embedder, tmp_path_factory) -> Iterator[MemoryService]:
    """One started MemoryService on SQLite shared by a module's tests (costly imports once)."""
    tmp = tmp_path_factory.mktemp("memory-module")
    db = Database.from_url(f"sqlite:///{tmp / 'memory.db'}")
    migrate(db, all_migrations())
    service = MemoryService(db, MemoryConfig(), tmp / "index", embedder)
    service.start_now()
    yield service
    db.close()
