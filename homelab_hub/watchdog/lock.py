"""One state, one writer: the lease that lets only one process act on the watched services.

A hub's watchdog worker and ``homelab-hub watchdog --once`` from cron share the database and
so the services' state; if both checked at once they would restart the same daemon twice and
count each other's restarts. Whoever acts holds the lease (a row in the database, see
`LockStore`), renews it while it works, and releases it when done; a holder that dies stops
renewing and the lease expires after ``lease_s``.
"""

from __future__ import annotations

import os
import socket
import time
import uuid

from homelab_hub.errors import Conflict
from homelab_hub.store import Database
from homelab_hub.watchdog.records import LockHolder
from homelab_hub.watchdog.store import LockStore


class WatchdogLocked(Conflict):
    """Another process holds the watchdog lock; nothing was checked or restarted."""

    def __init__(self, holder: LockHolder) -> None:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder.acquired_at))
        left = max(0.0, holder.expires_at - time.time())
        super().__init__(
            f"the watchdog is already run by {holder.holder} (lock held since {since}, renewed "
            f"{time.time() - holder.renewed_at:.0f}s ago, expires in {left:.0f}s unless renewed); "
            "this run checks and restarts nothing. Run the watchdog in one place: in the hub "
            "(watchdog.enabled = true) or from cron with the hub's watchdog.enabled = false."
        )
        self.holder = holder


class WatchdogLock:
    def __init__(self, db: Database, role: str, lease_s: float) -> None:
        self.store = LockStore(db)
        self.owner = uuid.uuid4().hex
        self.holder = f"{role} (pid {os.getpid()} on {socket.gethostname()})"
        self.lease_s = lease_s
        self._renewed = 0.0  # monotonic time of our last successful acquire/renew

    def acquire(self) -> None:
        """Take or renew the lease. Raises WatchdogLocked when another holder has it."""
        other = self.store.acquire(self.owner, self.holder, self.lease_s)
        if other is not None:
            self._renewed = 0.0
            raise WatchdogLocked(other)
        self._renewed = time.monotonic()

    def keep(self) -> None:
        """Renew during long work, at most every third of the lease (one UPDATE, not one per call)."""
        if time.monotonic() - self._renewed > self.lease_s / 3:
            self.acquire()

    @property
    def held(self) -> bool:
        return self._renewed > 0 and time.monotonic() - self._renewed < self.lease_s

    def checked(self, at: float) -> None:
        self.store.checked(self.owner, at)

    def release(self) -> None:
        if self._renewed:
            self.store.release(self.owner)
            self._renewed = 0.0

    def current(self) -> LockHolder | None:
        return self.store.holder()
