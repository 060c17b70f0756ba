"""Runs workers in threads, watches their heartbeats and restarts them when they die.

A crashed worker (its ``run`` raised, or returned without being asked to stop) and a
silent one (no heartbeat within its timeout) are both restarted from their factory, after
a backoff that doubles each time up to ``backoff_max_s``, forever: a worker is never given
up. (It used to be: six crashes in ~31 s of a database outage marked the memory index failed
for good, and the hub never found rows written after it.) More than ``max_restarts`` within
``restart_window_s`` is reported as ``crash-looping (restart 14 in 2 h, next in 5 min): <last
error>``; a worker that then runs for ``stable_s`` has its backoff and its loop forgotten,
as Kubernetes does with CrashLoopBackOff. A silent thread is asked to stop and then left
alone: nothing here closes a resource that another thread is using (the PyAV
cross-thread-close deadlock). Every restart is recorded in ``worker_events``.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from homelab_hub.metrics import WORKER_RESTARTS, WORKER_UP
from homelab_hub.store.worker_events import record_worker_event
from homelab_hub.workers import Worker, WorkerContext

if TYPE_CHECKING:
    from homelab_hub.config import SupervisorConfig
    from homelab_hub.store import Database

log = logging.getLogger(__name__)

WorkerStateName = Literal["starting", "running", "backoff", "crash-looping", "stopped"]
WorkerFactory = Callable[[], Worker]


@dataclass
class WorkerState:
    name: str
    state: WorkerStateName = "starting"
    reason: str = ""
    restarts: int = 0
    started_at: float = 0.0
    last_beat_age_s: float | None = None
    abandoned_threads: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    # The crash that caused the last restart; kept (in data, not as the reason) until the
    # worker has run for the stable period, then cleared.
    last_error: str = ""

    def public(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "reason": self.reason,
            "restarts": self.restarts,
            "uptime_s": round(time.time() - self.started_at, 1)
            if self.started_at and self.state == "running"
            else 0.0,
            "last_beat_age_s": None if self.last_beat_age_s is None else round(self.last_beat_age_s, 1),
            "abandoned_threads": self.abandoned_threads,
            **({"last_error": self.last_error} if self.last_error else {}),
            **self.details,
        }


@dataclass
class _Slot:
    name: str
    factory: WorkerFactory
    heartbeat_timeout: float | None
    state: WorkerState
    thread: threading.Thread | None = None
    ctx: WorkerContext | None = None
    crash: str | None = None
    finished: bool = False
    next_start: float = 0.0
    backoff: float = 0.0
    launched: float = 0.0  # monotonic
    restart_times: deque[float] = field(default_factory=deque)
    # The current crash loop: restarts since the worker last ran for the stable period.
    loop_restarts: int = 0
    loop_since: float = 0.0


def _span(seconds: float) -> str:
    """A duration the way a person says it: 40 s, 5 min, 2 h."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


class Supervisor:
    def __init__(self, config: SupervisorConfig, *, db: Database | None = None, tick_s: float = 0.5) -> None:
        self.config = config
        self.db = db
        self.tick_s = tick_s
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._monitor: threading.Thread | None = None

    # -- public API -------------------------------------------------------------------
    def add(self, name: str, factory: WorkerFactory, *, heartbeat_timeout: float | None = None) -> None:
        """Register (or replace) a worker; it starts at once if the supervisor runs."""
        self.remove(name)
        with self._lock:
            self._slots[name] = _Slot(name, factory, heartbeat_timeout, WorkerState(name))
            if self._monitor is not None:
                self._launch(self._slots[name])

    def remove(self, name: str, timeout: float = 10.0) -> bool:
        """Stop and forget a worker; returns False if it did not stop within timeout."""
        with self._lock:
            slot = self._slots.pop(name, None)
        if slot is None:
            return True
        WORKER_UP.labels(name).set(0)
        return self._halt(slot, timeout)

    def names(self) -> list[str]:
        with self._lock:
            return list(self._slots)

    def start(self) -> None:
        with self._lock:
            if self._monitor is not None:
                return
            self._stop.clear()
            for slot in self._slots.values():
                self._launch(slot)
            self._monitor = threading.Thread(target=self._watch, name="supervisor", daemon=True)
            self._monitor.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._monitor is not None:
            self._monitor.join(timeout)
            self._monitor = None
        with self._lock:
            slots = list(self._slots.values())
        deadline = time.monotonic() + timeout
        for slot in slots:
            if slot.ctx is not None:
                slot.ctx.stop.set()
        for slot in slots:
            self._halt(slot, max(0.1, deadline - time.monotonic()))
            slot.state.state = "stopped"

    def states(self) -> dict[str, WorkerState]:
        now = time.monotonic()
        with self._lock:
            out = {}
            for name, slot in self._slots.items():
                if slot.ctx is not None:
                    beat, details = slot.ctx.snapshot()
                    slot.state.last_beat_age_s = now - beat
                    slot.state.details = details
                if slot.state.state == "crash-looping":
                    slot.state.reason = (
                        f"crash-looping (restart {slot.loop_restarts} in {_span(now - slot.loop_since)}, "
                        f"next in {_span(slot.next_start - now)}): {slot.state.last_error}"
                    )
                out[name] = slot.state
            return out

    def retry_now(self) -> None:
        """Restart every worker waiting out a backoff at the next tick. The storage probe
        calls this when the database answers again: workers that crashed on the outage come
        back at once instead of after a backoff grown during it (up to backoff_max_s)."""
        now = time.monotonic()
        with self._lock:
            for slot in self._slots.values():
                if slot.state.state in ("backoff", "crash-looping"):
                    slot.next_start = min(slot.next_start, now)

    def context(self, name: str) -> WorkerContext | None:
        with self._lock:
            slot = self._slots.get(name)
            return None if slot is None else slot.ctx

    # -- internals ----------------------------------------------------------------------
    def _timeout(self, slot: _Slot) -> float:
        return slot.heartbeat_timeout or self.config.heartbeat_timeout_s

    def _launch(self, slot: _Slot) -> None:
        try:
            worker = slot.factory()
        except Exception as exc:
            self._crashed(slot, f"could not be created: {type(exc).__name__}: {exc}")
            return
        if getattr(worker, "heartbeat_timeout", None):
            slot.heartbeat_timeout = worker.heartbeat_timeout
        ctx = WorkerContext(stop=threading.Event())
        slot.ctx, slot.crash, slot.finished = ctx, None, False

        def body() -> None:
            try:
                worker.run(ctx)
            except BaseException as exc:
                slot.crash = f"{type(exc).__name__}: {exc}"
                log.error("worker %s crashed:\n%s", slot.name, traceback.format_exc())
            finally:
                slot.finished = True

        slot.thread = threading.Thread(target=body, name=f"worker:{slot.name}", daemon=True)
        slot.state.state = "running"
        slot.state.reason = ""
        slot.state.started_at = time.time()
        slot.launched = time.monotonic()
        WORKER_UP.labels(slot.name).set(1)
        slot.thread.start()

    def _halt(self, slot: _Slot, timeout: float) -> bool:
        if slot.ctx is not None:
            slot.ctx.stop.set()
        if slot.thread is not None and slot.thread is not threading.current_thread():
            slot.thread.join(timeout)
            return not slot.thread.is_alive()
        return True

    def _watch(self) -> None:
        while not self._stop.wait(self.tick_s):
            now = time.monotonic()
            with self._lock:
                slots = list(self._slots.values())
            for slot in slots:
                try:
                    self._check(slot, now)
                except Exception:  # the monitor itself must never die
                    log.exception("supervisor check of %s failed", slot.name)

    def _check(self, slot: _Slot, now: float) -> None:
        state = slot.state
        if self._stop.is_set():
            return
        if state.state in ("backoff", "crash-looping"):
            if now >= slot.next_start:
                self._launch(slot)
            return
        if slot.ctx is None:
            return
        if slot.loop_restarts and not slot.finished and now - slot.launched >= self.config.stable_s:
            # Ran long enough to count as recovered: the next crash starts a fresh loop.
            slot.backoff, slot.loop_restarts = 0.0, 0
            slot.restart_times.clear()
            state.last_error = ""
        if slot.finished:
            reason = slot.crash or "returned without being asked to stop"
            self._crashed(slot, reason)
            return
        beat, _ = slot.ctx.snapshot()
        if now - beat > self._timeout(slot):
            reason = f"silent: no heartbeat for {now - beat:.0f}s (timeout {self._timeout(slot):.0f}s)"
            slot.ctx.stop.set()
            if slot.thread is not None:
                slot.thread.join(1.0)
                if slot.thread.is_alive():
                    # Cannot kill a thread; it has been asked to stop and is left to finish.
                    state.abandoned_threads += 1
            self._crashed(slot, reason)

    def _crashed(self, slot: _Slot, reason: str) -> None:
        state = slot.state
        now = time.monotonic()
        WORKER_UP.labels(slot.name).set(0)
        slot.restart_times.append(now)
        while slot.restart_times and now - slot.restart_times[0] > self.config.restart_window_s:
            slot.restart_times.popleft()
        if slot.loop_restarts == 0:
            slot.loop_since = now
        slot.loop_restarts += 1
        kind = "silent" if reason.startswith("silent") else "crash"
        slot.backoff = (
            self.config.backoff_initial_s
            if slot.backoff == 0
            else min(slot.backoff * 2, self.config.backoff_max_s)
        )
        slot.next_start = now + slot.backoff
        state.restarts += 1
        state.last_error = reason
        state.reason = reason
        state.state = "crash-looping" if len(slot.restart_times) > self.config.max_restarts else "backoff"
        WORKER_RESTARTS.labels(slot.name, kind).inc()
        if state.state == "crash-looping":
            log.error(
                "worker %s crash-looping (restart %d in %s, next in %s): %s",
                slot.name,
                slot.loop_restarts,
                _span(now - slot.loop_since),
                _span(slot.backoff),
                reason,
            )
        else:
            log.warning("worker %s %s; restart %d in %.1fs", slot.name, reason, state.restarts, slot.backoff)
        self._record(slot.name, state.state if state.state == "crash-looping" else "restart", reason)

    def _record(self, worker: str, event: str, reason: str) -> None:
        if self.db is None:
            return
        try:
            record_worker_event(self.db, worker, event, reason)
        except Exception:  # a database outage must not stop supervision
            log.warning("could not record worker event for %s", worker)
