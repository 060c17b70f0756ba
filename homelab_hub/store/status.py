"""What the database last did, kept in memory so that health never has to ask it.

Every statement the `Database` runs notes its outcome here: a read (SELECT) or a write
(anything else, commits included). Health reports the newest outcome of each kind, so a full
disk shows as "cannot write" while reads still work (it used to say ``ok``: its only check
was a read), and an error clears as soon as the same kind of statement succeeds again.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    ok: bool
    at: float  # monotonic
    error: str = ""


class StorageStatus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.read: Outcome | None = None
        self.write: Outcome | None = None

    def note(self, *, write: bool, error: str | None = None) -> None:
        outcome = Outcome(error is None, time.monotonic(), error or "")
        with self._lock:
            if write:
                self.write = outcome
            else:
                self.read = outcome

    def problem(self) -> str | None:
        """'cannot read: …' or 'cannot write: …' while the newest outcome of that kind failed."""
        with self._lock:
            read, write = self.read, self.write
        if read is not None and not read.ok:
            return f"cannot read: {read.error}"
        if write is not None and not write.ok:
            return f"cannot write: {write.error}"
        return None

    @property
    def write_failing(self) -> bool:
        write = self.write
        return write is not None and not write.ok

    def ages(self) -> dict[str, float | None]:
        now = time.monotonic()
        read, write = self.read, self.write
        return {
            "last_read_age_s": None if read is None else round(now - read.at, 1),
            "last_write_age_s": None if write is None else round(now - write.at, 1),
        }
