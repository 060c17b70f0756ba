"""The contract between long-running workers and the supervisor.

A worker is any object with a ``name``, an optional ``heartbeat_timeout`` (seconds; None
takes the supervisor's default) and a ``run(ctx)`` method. ``run`` loops until
``ctx.stop`` is set, checking it between units of work, calls ``ctx.beat()`` at least once
per heartbeat period, owns (opens and closes) its resources in its own thread, and returns
when stopped. Raising means "I crashed": the supervisor records why and restarts a fresh
worker from its factory with backoff. Engines implement this without knowing the server.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol


class Worker(Protocol):
    name: str
    heartbeat_timeout: float | None

    def run(self, ctx: WorkerContext) -> None: ...


@dataclass
class WorkerContext:
    stop: threading.Event
    last_beat: float = field(default_factory=time.monotonic)
    details: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def beat(self, **details: Any) -> None:
        """Say "I am alive and making progress"; details show up in /api/health."""
        with self._lock:
            self.last_beat = time.monotonic()
            if details:
                self.details.update(details)

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds`` or until stopped; True when stop was requested."""
        return self.stop.wait(seconds)

    def snapshot(self) -> tuple[float, dict[str, Any]]:
        with self._lock:
            return self.last_beat, dict(self.details)
