"""IndexPersistWorker: follows the table and writes the changed vector index to disk.

Every ``sync_poll_s`` (half a second) it reads the table's change number, one cheap query,
and when another process has committed something (a CLI import, a second hub on the same
MySQL) it picks those rows up, so they are searchable here at once. With a broker
(memory/notices.py) another hub's change notice wakes it at once, and while the link is up it
reads the number only every ``sync_poll_connected_s``; when the link drops it is back to
``sync_poll_s`` within a fifth of a second. Every ``persist_interval_s`` it writes the index if
it changed.

The database already holds every acknowledged save, so persisting is only about start-up
speed: an index on disk that is a few seconds behind is reconciled in milliseconds, while no
index at all means re-encoding every row.

A database outage or a full disk is not a crash: the worker keeps beating, says what failed
(``error`` in its health details, cleared by the next success) and tries again on its next
round, so it follows the table again the moment the database is back. (It used to raise; six
restarts in ~31 s of a 75 s outage and the supervisor gave it up for good.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from homelab_hub.errors import StorageUnavailable
from homelab_hub.memory.service import MemoryService
from homelab_hub.workers import WorkerContext

log = logging.getLogger(__name__)

STOP_CHECK_S = 0.2  # while waiting for a notice: how often stop and the link are looked at


class IndexPersistWorker:
    name = "memory-index"

    def __init__(
        self,
        service: MemoryService,
        interval_s: float,
        poll_s: float = 0.5,
        *,
        connected: Callable[[], bool] | None = None,
        connected_poll_s: float = 10.0,
    ) -> None:
        """``connected``: whether the broker link that brings other hubs' change notices is
        up (None: no broker, poll every ``poll_s`` as ever)."""
        self.service = service
        self.interval_s = interval_s
        self.poll_s = min(poll_s, interval_s)
        self.connected = connected
        self.connected_poll_s = min(connected_poll_s, interval_s)
        self.heartbeat_timeout: float | None = max(120.0, interval_s * 4)
        self._error: str | None = None

    def run(self, ctx: WorkerContext) -> None:
        next_persist = time.monotonic() + self.interval_s
        while not ctx.stop.is_set():
            if self.service.ready:
                self._step(ctx, persist=time.monotonic() >= next_persist)
                if time.monotonic() >= next_persist:
                    next_persist = time.monotonic() + self.interval_s
            index = self.service.index
            ctx.beat(ready=self.service.ready, vectors=len(index) if index else 0, error=self._error)
            if self._sleep(ctx):
                break
        if self.service.ready:
            try:
                self.service.persist()
            except OSError as exc:
                log.warning("memory index not written at stop: %s", exc)

    def _sleep(self, ctx: WorkerContext) -> bool:
        """Until the next look at the table; True when stopped. Without a broker, ``poll_s``.
        With one: ``connected_poll_s`` while the link is up (``poll_s`` while it is down, and
        until memory has loaded, so that its first look soon follows what changed meanwhile),
        cut short by another hub's change notice."""
        if self.connected is None:
            return ctx.wait(self.poll_s)
        started = time.monotonic()
        while not ctx.stop.is_set():
            quiet = self.service.ready and self.connected()
            limit = self.connected_poll_s if quiet else self.poll_s
            left = started + limit - time.monotonic()
            if left <= 0:
                return False
            if self.service.nudged.wait(min(left, STOP_CHECK_S)):
                self.service.nudged.clear()  # before the sync: a notice during it wakes us again
                return False
        return True

    def _step(self, ctx: WorkerContext, *, persist: bool) -> None:
        try:
            if self.service.behind():
                self.service.sync()
            if persist and self.service.persist():
                log.debug("memory index persisted (%d vectors)", len(self.service.index or ()))
        except (StorageUnavailable, OSError) as exc:
            error = exc.message if isinstance(exc, StorageUnavailable) else f"index not written: {exc}"
            if error != self._error:
                log.warning("memory index: %s; retrying", error)
            self._error = error
            return
        if self._error is not None:
            log.info("memory index: recovered (%s)", self._error)
        self._error = None
