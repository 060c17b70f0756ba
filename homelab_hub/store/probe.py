"""StorageProbe: the worker that keeps the storage part of health current.

Health never asks the database itself (it took 2.5-8.3 s under load when it pinged from the
tools' thread pool): it reads `Database.status`, which every statement updates. This worker
makes sure that status is never stale: it reads every ``interval_s``, and while the newest
write failed (a full disk, a read-only replica) it tries a one-row write, so health says
"cannot write" during the fault and clears it as soon as writes work again, even when no
caller writes. When storage comes back it calls ``on_recover`` (the supervisor's
`retry_now`), so workers that crashed on the outage restart at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from homelab_hub.errors import StorageUnavailable
from homelab_hub.store.db import Database
from homelab_hub.workers import WorkerContext

PROBE_INTERVAL_S = 2.0


class StorageProbe:
    name = "storage"

    def __init__(
        self,
        db: Database,
        interval_s: float = PROBE_INTERVAL_S,
        on_recover: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.interval_s = interval_s
        self.on_recover = on_recover
        self.heartbeat_timeout: float | None = max(120.0, interval_s * 10)

    def run(self, ctx: WorkerContext) -> None:
        while not ctx.stop.is_set():
            before = self.db.status.problem()
            self.probe()
            problem = self.db.status.problem()
            if before is not None and problem is None and self.on_recover is not None:
                self.on_recover()
            ctx.beat(error=problem)
            if ctx.wait(self.interval_s):
                return

    def probe(self) -> None:
        """One read, and one write while writes are failing; outcomes land in the status."""
        try:
            self.db.ping()
            if self.db.status.write_failing:
                self.db.execute("REPLACE INTO storage_probe (id, at) VALUES (1, ?)", (time.time(),))
        except StorageUnavailable:
            pass  # noted in db.status by the statement itself
