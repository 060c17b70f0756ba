"""Worker lifecycle events (table worker_events): every supervised restart, with its reason."""

from __future__ import annotations

import time

from homelab_hub.store.db import Database


def record_worker_event(db: Database, worker: str, event: str, reason: str) -> None:
    """Append one event; the reason is cut to the column's 2,000 characters."""
    db.execute(
        "INSERT INTO worker_events (worker, ts, event, reason) VALUES (?, ?, ?, ?)",
        (worker, time.time(), event, reason[:2000]),
    )
