"""Numbered schema migrations, per component, run at start on SQLite and MySQL alike.

Each engine owns its tables and lists its migrations in its own ``schema.py`` as
``MIGRATIONS``; its component entry (server/components/) hands them in. Versions are
numbered per component, so two engines never fight over a number. Applied migrations are
recorded in ``schema_migrations``; a second hub starting at the same time waits on a lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from homelab_hub.store.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    description: str
    sqlite: tuple[str, ...]
    mysql: tuple[str, ...]

    def statements(self, dialect: str) -> tuple[str, ...]:
        return self.sqlite if dialect == "sqlite" else self.mysql


_LEDGER = {
    "sqlite": "CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, "
    "description TEXT NOT NULL, applied_at REAL NOT NULL, PRIMARY KEY (component, version))",
    "mysql": "CREATE TABLE IF NOT EXISTS schema_migrations (component VARCHAR(64) NOT NULL, version INT NOT NULL, "
    "description VARCHAR(255) NOT NULL, applied_at DOUBLE NOT NULL, PRIMARY KEY (component, version)) "
    "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
}


def migrate(db: Database, migrations: Iterable[Migration]) -> list[Migration]:
    """Apply every migration given that is not yet recorded (the hub hands in every
    component's, `server.components.all_migrations`; a camera replay only the cameras'); returns
    those applied now. Components run in the order given, each one's migrations by version.

    Raises StorageUnavailable when the database cannot be reached.
    """
    pending_all = list(migrations)
    rank = {name: i for i, name in enumerate(dict.fromkeys(m.component for m in pending_all))}
    db.execute(_LEDGER[db.dialect])
    applied: list[Migration] = []
    with _migration_lock(db):
        done = {
            (r["component"], int(r["version"]))
            for r in db.query("SELECT component, version FROM schema_migrations")
        }
        for m in sorted(pending_all, key=lambda m: (rank[m.component], m.version)):
            if (m.component, m.version) in done:
                continue
            log.info("migration %s/%d: %s", m.component, m.version, m.description)
            # MySQL commits DDL implicitly, so each statement stands alone; the ledger row is
            # written last, and every statement is written to be safe to re-run.
            for stmt in m.statements(db.dialect):
                db.execute(stmt)
            db.execute(
                "INSERT INTO schema_migrations (component, version, description, applied_at) VALUES (?, ?, ?, ?)",
                (m.component, m.version, m.description, time.time()),
            )
            applied.append(m)
    return applied


@contextmanager
def _migration_lock(db: Database) -> Iterator[None]:
    """Serialise migrations across processes: GET_LOCK on MySQL, one write transaction on SQLite
    (SQLite's DDL is transactional, so a failed migration leaves nothing half-done)."""
    if db.dialect == "mysql":
        db.query("SELECT GET_LOCK('homelab_hub_migrate', 60) AS got")
        try:
            yield
        finally:
            db.query("SELECT RELEASE_LOCK('homelab_hub_migrate') AS released")
    else:
        with db.transaction():
            yield
