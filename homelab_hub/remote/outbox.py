"""The worker's outbox: its alerts wait in SQLite until the broker has acknowledged each.

The outbox is the worker's own alerts table (the same `AlertStore` the hub uses, so the
pipeline is the hub's code unchanged): every alert row above the ``delivered`` mark is still
to send. The sender takes them one at a time, oldest first, publishes each with QoS 1 and its
image or clip attached, and moves the mark only when the broker has acknowledged it: a cut
link, a broker restart or a worker killed in the middle leaves the mark where it was, and the
next connection sends the same alert again. Each carries ``origin`` = WORKER:INSTANCE:ID
(INSTANCE is made once per outbox database), so the hub stores a repeat only once.

Delivered rows stay an hour (the audio gate looks up recent visual alerts in this table),
then they and their files are removed; the hub holds the copy that counts.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from homelab_hub.cameras.alerts.store import AlertRecord, AlertStore
from homelab_hub.errors import HubError
from homelab_hub.remote.link import BrokerLink
from homelab_hub.remote.wire import Topics, pack
from homelab_hub.store import Database
from homelab_hub.workers import WorkerContext

log = logging.getLogger(__name__)

_KEEP_DELIVERED_S = 3600.0
_STATE_TABLE = "CREATE TABLE IF NOT EXISTS worker_outbox (k TEXT PRIMARY KEY, v TEXT NOT NULL)"


class OutboxAlertStore(AlertStore):
    """The worker's alert store: every alert recorded wakes the sender."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.new_alert = threading.Event()

    def record(self, **kwargs: Any) -> AlertRecord:
        record = super().record(**kwargs)
        self.new_alert.set()
        return record

    def record_audio(self, **kwargs: Any) -> AlertRecord:
        record = super().record_audio(**kwargs)
        self.new_alert.set()
        return record


class Outbox:
    """What is still to send, and the sender (a supervised worker: `run`)."""

    name = "outbox"
    heartbeat_timeout: float | None = 120.0

    def __init__(
        self, db: Database, store: OutboxAlertStore, link: BrokerLink, topics: Topics, worker: str
    ) -> None:
        self.db = db
        self.store = store
        self.link = link
        self.topic = topics.alert(worker)
        self.worker = worker
        db.execute(_STATE_TABLE)
        instance = self._get("instance")
        if instance is None:
            instance = uuid.uuid4().hex[:12]
            self._set("instance", instance)
        self.instance = instance
        self.sent = 0
        self.last_error = ""

    # -- the mark ---------------------------------------------------------------------------
    def _get(self, key: str) -> str | None:
        row = self.db.query_one("SELECT v FROM worker_outbox WHERE k = ?", (key,))
        return None if row is None else str(row["v"])

    def _set(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO worker_outbox (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
            (key, value),
        )

    @property
    def delivered(self) -> int:
        return int(self._get("delivered") or 0)

    def pending(self) -> tuple[int, float | None]:
        """How many alerts wait, and the time of the oldest."""
        row = self.db.query_one(
            "SELECT COUNT(*) AS n, MIN(ts) AS oldest FROM alerts WHERE id > ?", (self.delivered,)
        )
        if row is None:
            return 0, None
        return int(row["n"]), None if row["oldest"] is None else float(row["oldest"])

    def origin(self, alert_id: int) -> str:
        return f"{self.worker}:{self.instance}:{alert_id}"

    # -- sending ------------------------------------------------------------------------------
    def message(self, row: dict[str, Any]) -> bytes:
        record = AlertRecord.from_row(row)
        attached = b""
        path = record.clip_path if record.kind != "visual" else record.image_path
        if path:
            try:
                attached = Path(path).read_bytes()
            except OSError as exc:  # a file lost on disk: the alert still goes, without it
                log.warning("outbox: alert %d's file %s is unreadable: %s", record.id, path, exc)
        header = {
            "origin": self.origin(record.id),
            "camera": record.camera,
            "ts": record.ts,
            "verdict": record.verdict,
            "kind": record.kind,
            "description": record.description,
            "boxes": [list(b) for b in record.boxes],
            "full_frame": record.full_frame,
            "model": record.model,
            "latency_s": record.latency_s,
            "transcript": record.transcript,
        }
        return pack(header, attached)

    def send_pending(self, stop: threading.Event | None = None, limit: int = 500) -> int:
        """Send waiting alerts in order while the broker acknowledges them; returns how many
        went. Stops at the first one not acknowledged (it goes first next time)."""
        sent = 0
        while sent < limit and (stop is None or not stop.is_set()) and self.link.connected.is_set():
            row = self.db.query_one(
                "SELECT * FROM alerts WHERE id > ? ORDER BY id LIMIT 1", (self.delivered,)
            )
            if row is None:
                break
            if not self.link.publish_acked(self.topic, self.message(row), timeout=10.0):
                self.last_error = self.link.last_error or "the broker did not acknowledge an alert in 10 s"
                break
            self._set("delivered", str(int(row["id"])))
            sent += 1
            self.sent += 1
            self.last_error = ""
        return sent

    def prune(self, now: float | None = None) -> int:
        """Remove delivered alerts older than an hour, and their files."""
        cutoff = (now or time.time()) - _KEEP_DELIVERED_S
        rows = self.db.query(
            "SELECT id, image_path, clip_path FROM alerts WHERE id <= ? AND ts < ?", (self.delivered, cutoff)
        )
        for row in rows:
            for key in ("image_path", "clip_path"):
                if row.get(key):
                    Path(row[key]).unlink(missing_ok=True)
        if rows:
            self.db.execute("DELETE FROM alerts WHERE id <= ? AND ts < ?", (self.delivered, cutoff))
        return len(rows)

    def run(self, ctx: WorkerContext) -> None:
        last_prune = 0.0
        while not ctx.stop.is_set():
            self.store.new_alert.clear()
            try:
                self.send_pending(ctx.stop)
                if time.monotonic() - last_prune > 300:
                    self.prune()
                    last_prune = time.monotonic()
                waiting, oldest = self.pending()
            except HubError as exc:  # the outbox file: a full disk, a lock
                self.last_error = exc.message
                waiting, oldest = -1, None
            ctx.beat(pending=waiting, oldest_ts=oldest, sent=self.sent, error=self.last_error or None)
            # Woken by a new alert or, while some wait, soon again for the reconnected link.
            self.store.new_alert.wait(0.5 if waiting else 2.0)
