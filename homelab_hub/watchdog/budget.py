"""The restart budget of one service: how many tier-1 restarts it may still have, how long to
back off before the next one, and when its slate is wiped clean.

- Restarts count over a sliding window: at most ``max_restart_attempts`` within
  ``restart_window_minutes`` (monit's "N restarts within M cycles", systemd's
  StartLimitBurst/StartLimitIntervalSec). One more fault in the window escalates.
- The count resets only after the service has been healthy for ``stable_minutes`` since its
  last fault (Kubernetes forgives a crash loop after 10 minutes of stable running), never at
  one healthy check: a daemon that deadlocks 12 s after every start logs happily for those
  12 s, and the seed's reset-at-next-healthy-check restarted it forever.
- Between restarts in the window the watchdog backs off: ``restart_backoff_s`` before the
  second, doubling for each one after, at most ``restart_backoff_max_s`` (as systemd's
  RestartSec with RestartSteps, or Kubernetes' 10 s doubling to 5 min).

Times are `steady_time()`: a clock set back must not push the next restart, the window or the
stable period an hour away.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from homelab_hub.clock import steady_time
from homelab_hub.watchdog.config import WatchdogConfig
from homelab_hub.watchdog.records import RestartEntry, ServiceState


@dataclass
class Budget:
    config: WatchdogConfig

    @property
    def window_s(self) -> float:
        return self.config.restart_window_minutes * 60

    @property
    def stable_s(self) -> float:
        return self.config.stable_minutes * 60

    def in_window(self, st: ServiceState, now: float | None = None) -> list[RestartEntry]:
        """The restarts that still count: those within the window (since the last reset)."""
        now = steady_time() if now is None else now
        return [r for r in st.restarts if now - r.at < self.window_s]

    def left(self, st: ServiceState, now: float | None = None) -> int:
        return max(0, self.config.max_restart_attempts - len(self.in_window(st, now)))

    def backoff_s(self, counted: int) -> float:
        """Seconds to wait after the last restart before the next one, with ``counted``
        restarts already in the window: none 0, one restart_backoff_s, then doubling."""
        if counted <= 0:
            return 0.0
        delay = self.config.restart_backoff_s * (2 ** (counted - 1))
        return float(min(delay, self.config.restart_backoff_max_s))

    def wait_before_next(self, st: ServiceState, now: float | None = None) -> float:
        """Seconds from now until the next restart is allowed (0: now)."""
        now = steady_time() if now is None else now
        counted = self.in_window(st, now)
        if not counted:
            return 0.0
        due = max(r.at for r in counted) + self.backoff_s(len(counted))
        return max(0.0, due - now)

    def record(self, st: ServiceState, incident_id: int | None, verified: bool, at: float) -> None:
        """Count a restart; entries that left the window are dropped (the incident keeps them)."""
        st.restarts = [*self.in_window(st, at), RestartEntry(at, incident_id, verified)]

    def healthy(self, st: ServiceState, at: float) -> bool:
        """Note a healthy check; True once the service has been healthy for the stable period."""
        if st.stable_since is None:
            st.stable_since = at
        return at - st.stable_since >= self.stable_s

    def unhealthy(self, st: ServiceState, now: float | None = None) -> None:
        """Note a fault: the healthy streak ends, restarts that left the window are dropped."""
        st.stable_since = None
        st.restarts = self.in_window(st, now)

    def worst_backoff_s(self) -> float:
        """The longest the backoffs of one full budget can add up to (for heartbeat timeouts)."""
        return sum(self.backoff_s(n) for n in range(1, self.config.max_restart_attempts))

    def history(self, st: ServiceState, now: float | None = None) -> str:
        """'3 restarts within 2.1 min (budget 3 per 30 min): 12:00:01 verified, ...'."""
        now = steady_time() if now is None else now
        counted = self.in_window(st, now)
        if not counted:
            return "no restarts in the window"
        span = (now - counted[0].at) / 60
        stamps = ", ".join(
            f"{time.strftime('%H:%M:%S', time.localtime(r.at))} {'verified' if r.verified else 'failed'}"
            for r in counted
        )
        return (
            f"{len(counted)} restart(s) within {span:.1f} min (budget {self.config.max_restart_attempts} "
            f"per {self.config.restart_window_minutes:g} min): {stamps}"
        )
