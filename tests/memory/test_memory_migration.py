"""Schema versions 2 (threads, time, versions, chunks), 3 (change sequence) and 4 (the embedder
of each row) upgrade a version-1 table in place; its rows, made by sentence-transformers, are
re-embedded once."""

from __future__ import annotations

from homelab_hub.memory.config import MemoryConfig
from homelab_hub.memory.schema import MIGRATIONS
from homelab_hub.memory.service import MemoryService
from homelab_hub.server.components import all_migrations
from homelab_hub.store import Database, migrate


def test_a_version_1_database_upgrades_and_its_memories_stay_searchable(db_url, embedder, tmp_path):
    db = Database.from_url(db_url)
    first = [m for m in all_migrations() if not (m.component == "memory" and m.version > 1)]
    migrate(db, first)
    text = "Ollama on dgx-spark listens on port 11434."
    db.execute(
        "INSERT INTO memories (agent, content, category, tags, source, section, content_hash, embedding, "
        "created_at, updated_at) VALUES (?, ?, '', '[]', '', '', ?, ?, 1.0, 1.0)",
        (
            "ops",
            text,
            __import__("hashlib").sha256(text.encode()).hexdigest(),
            embedder.embed([text])[0].tobytes(),
        ),
    )
    applied = migrate(db, all_migrations())
    assert [(m.component, m.version) for m in applied] == [("memory", 2), ("memory", 3), ("memory", 4)]
    assert migrate(db, all_migrations()) == []
    service = MemoryService(db, MemoryConfig(), tmp_path / "index", embedder)
    service.start_now()
    assert service.reconcile_report.reembedded == 1
    hit = service.search("ops", "which port does ollama use")[0]
    assert hit.memory.content == text
    assert hit.memory.thread == ""
    assert hit.memory.occurred_at is None
    assert service.save("ops", text).created is False
    assert [m.version for m in MIGRATIONS] == [1, 2, 3, 4]
    db.close()
