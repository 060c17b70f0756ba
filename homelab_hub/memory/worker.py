"""IndexPersistWorker: follows the table and writes the changed vector index to disk.

Every interval it picks up rows that another process changed (a CLI import, a second hub on
the same MySQL) and then persists the index if it changed.

The database already holds every acknowledged save, so this is only about start-up speed:
an index on disk that is a few seconds behind is reconciled in milliseconds, while no
index at all means re-encoding every row.
"""

from __future__ import annotations

import logging

from homelab_hub.memory.service import MemoryService
from homelab_hub.workers import WorkerContext

log = logging.getLogger(__name__)


class IndexPersistWorker:
    name = "memory-index"

    def __init__(self, service: MemoryService, interval_s: float) -> None:
        self.service = service
        self.interval_s = interval_s
        self.heartbeat_timeout: float | None = max(120.0, interval_s * 4)

    def run(self, ctx: WorkerContext) -> None:
        while not ctx.stop.is_set():
            index = self.service.index
            if self.service.ready:
                self.service.sync()
            if self.service.ready and self.service.persist():
                log.debug("memory index persisted (%d vectors)", len(index) if index else 0)
            ctx.beat(ready=self.service.ready, vectors=len(index) if index else 0)
            if ctx.wait(self.interval_s):
                break
        if self.service.ready:
            self.service.persist()
