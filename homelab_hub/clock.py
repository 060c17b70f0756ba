"""A wall-clock time that never steps: the wall time when the process started plus the
monotonic time since.

Durations measured with `time.time()` break when the clock is set back (NTP after a boot
without an RTC, a hand-set clock): a restart window or a backoff "due" an hour from now
blocked the watchdog worker past its heartbeat. `steady_time()` gives stamps that read like
epoch seconds (they are stored and shown) but only ever move forward at the monotonic rate.
"""

from __future__ import annotations

import time

_WALL0 = time.time()
_MONO0 = time.monotonic()


def steady_time() -> float:
    """Epoch-like seconds that never go backwards within this process."""
    return _WALL0 + (time.monotonic() - _MONO0)
