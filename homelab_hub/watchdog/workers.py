"""The hub's own workers, watched through their heartbeats with the same findings and reports.

The supervisor is their tier 1 (it restarts a dead or silent worker with backoff); the
watchdog reports what it did (🔧 when a worker was restarted since the last check) and calls
a human (🚨) when the supervisor gave up and marked a worker failed. Camera workers' beat
details (last_frame_age_s, fps, reconnects, model_latency_ms) are passed through.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from homelab_hub.watchdog.checks import Finding
from homelab_hub.watchdog.escalation import Outcome
from homelab_hub.watchdog.records import ServiceStatus


class WorkerStateView(Protocol):
    """What the watchdog reads of one supervised worker's state."""

    @property
    def state(self) -> str: ...

    @property
    def reason(self) -> str: ...

    @property
    def restarts(self) -> int: ...

    def public(self) -> dict[str, Any]: ...


class WorkerStates(Protocol):
    """The one thing the watchdog asks of the supervisor."""

    def states(self) -> Mapping[str, WorkerStateView]: ...


class WorkerWatch:
    def __init__(self, supervisor: WorkerStates) -> None:
        self.supervisor = supervisor
        self._restarts: dict[str, int] = {}
        self._reports: dict[str, str] = {}
        self._changed: set[str] = set()
        self._last: dict[str, Outcome] = {}

    def check(self) -> dict[str, Outcome]:
        out: dict[str, Outcome] = {}
        self._changed.clear()
        for name, state in self.supervisor.states().items():
            key = f"worker:{name}"
            findings: list[Finding] = []
            seen = self._restarts.get(name, state.restarts)
            if state.state == "crash-looping":
                findings.append(Finding("worker_crash_looping", f"worker {name} {state.reason}"))
                outcome = Outcome("needs_human", state.reason, findings=findings, attempts=state.restarts)
            elif state.restarts > seen or state.state == "backoff":
                findings.append(
                    Finding("worker_restarted", f"worker {name} restarted by the supervisor: {state.reason}")
                )
                outcome = Outcome("fixed", state.reason, findings=findings, attempts=state.restarts)
            else:
                outcome = Outcome("nominal", attempts=state.restarts)
            self._restarts[name] = state.restarts
            if self._reports.get(key, "nominal") != outcome.report:
                self._changed.add(key)
            self._reports[key] = outcome.report
            self._last[key] = outcome
            out[key] = outcome
        return out

    def changed(self, key: str) -> bool:
        return key in self._changed

    def status(self) -> list[ServiceStatus]:
        rows: list[ServiceStatus] = []
        for name, state in self.supervisor.states().items():
            key = f"worker:{name}"
            outcome = self._last.get(key, Outcome("nominal"))
            rows.append(
                ServiceStatus(
                    name=key,
                    kind="worker",
                    state=state.state,
                    report=outcome.report,
                    findings=[f.message for f in outcome.findings]
                    or ([state.reason] if state.reason else []),
                    restart_attempts=state.restarts,
                    details=state.public(),
                )
            )
        return rows
