"""Memory test fixtures: the embedding models are loaded once per test session.

``embedder`` is the default (ONNX); ``torch_embedder`` the sentence-transformers one of the
``[torch]`` extra, which the test install carries for the equivalence tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from homelab_hub.memory.config import MemoryConfig
from homelab_hub.memory.embedder import Embedder
from homelab_hub.memory.embedders import build_embedder
from homelab_hub.memory.service import MemoryService
from homelab_hub.server.components import all_migrations
from homelab_hub.store import Database, migrate
from tests.memory import support as memory_support
from tests.support import require


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    model = build_embedder(MemoryConfig())
    model.load_now()
    return model


@pytest.fixture(scope="session")
def torch_embedder() -> Embedder:
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        require(False, "sentence-transformers is not installed (pip install homelab-hub[torch])")
    model = build_embedder(MemoryConfig(embedder="torch"))
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


@pytest.fixture(scope="session")
def eval_sets(embedder, tmp_path_factory) -> dict[str, list[memory_support.EvalSet]]:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("quality")
    db = Database.from_url(f"sqlite:///{tmp / 'quality.db'}")
    migrate(db, all_migrations())
    service = MemoryService(db, MemoryConfig(), tmp / "index", embedder)
    service.start_now()
    sets = {
        "operator": [memory_support.load_operator_set(service)],
        "conversation": list(memory_support.load_conversation_set(service).values()),
    }
    tables = {
        (name, split): memory_support.recall_table(chosen, memory_support.service_search(service), split)
        for name, chosen in sets.items()
        for split in ("dev", "test", None)
    }
    return {"service": service, "sets": sets, "tables": tables}  # type: ignore[return-value]
