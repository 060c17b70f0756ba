"""The hub's own workers, watched through their heartbeats with the same findings and reports.

The supervisor is their tier 1 (it restarts a dead or silent worker with backoff); the
watchdog reports what it did (🔧 when a worker was restarted since the last check) and calls
a human (🚨) when the supervisor gave up and marked a worker failed. Camera workers' beat
details (last_frame_age_s, fps, reconnects, model_latency_ms) are passed through.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from homelab_hub.watchdog.checks import Finding
from homelab_hub.watchdog.escalation import Outcome
from homelab_hub.watchdog.records import ServiceStatus
from homelab_hub.watchdog.store import IncidentStore


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


class ReportChanges:
    """Which keys' reports changed in the last check: what the watchdog's report tells."""

    def __init__(self) -> None:
        self._reports: dict[str, str] = {}
        self._changed: set[str] = set()

    def start(self) -> None:
        self._changed.clear()

    def note(self, key: str, report: str) -> None:
        if self._reports.get(key, "nominal") != report:
            self._changed.add(key)
        self._reports[key] = report

    def changed(self, key: str) -> bool:
        return key in self._changed


class WorkerWatch(ReportChanges):
    def __init__(self, supervisor: WorkerStates) -> None:
        super().__init__()
        self.supervisor = supervisor
        self._restarts: dict[str, int] = {}
        self._last: dict[str, Outcome] = {}

    def check(self) -> dict[str, Outcome]:
        out: dict[str, Outcome] = {}
        self.start()
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
            self.note(key, outcome.report)
            self._last[key] = outcome
            out[key] = outcome
        return out

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


# Each camera worker on another machine: (reachable, its link in words, its last state).
RemoteWorkers = Callable[[], Mapping[str, tuple[bool, str, dict[str, Any]]]]


class RemoteWorkerWatch(ReportChanges):
    """`homelab-hub worker`s on other machines, each watched as a service of its own.

    A worker is silent when its link is gone (the broker's will, or no word for two
    keepalives): that is a finding, an incident (opened once per outage, with the worker's last
    state as forensics) and the human tier at once, since the hub can restart no process on
    another machine (the worker's own service manager does) and Claude cannot reach its code.
    When it is back, the incident is resolved.
    """

    def __init__(self, source: RemoteWorkers, incidents: IncidentStore) -> None:
        super().__init__()
        self.source = source
        self.incidents = incidents
        self._open: dict[str, int] = {}
        self._last: dict[str, tuple[Outcome, str, dict[str, Any]]] = {}

    def check(self) -> dict[str, Outcome]:
        out: dict[str, Outcome] = {}
        self.start()
        for name, (reachable, link, state) in self.source().items():
            key = f"remote:{name}"
            if reachable:
                incident = self._open.pop(key, None)
                if incident is not None:
                    self.incidents.add_action(
                        incident, "check", "healthy again", True, f"worker {name} {link}"
                    )
                    self.incidents.set_status(incident, "resolved")
                outcome = Outcome("nominal")
            else:
                finding = Finding("worker_unreachable", f"camera worker {name} {link}")
                fresh = key not in self._open
                if fresh:
                    forensics = {"worker": name, "link": link, "last_state": _brief(state)}
                    self._open[key] = self.incidents.open(key, [finding.to_dict()], forensics)
                outcome = Outcome(
                    "needs_human",
                    f"camera worker {name} {link}: check the machine, its network and its service "
                    "(systemctl status homelab-hub-worker)",
                    self._open[key],
                    findings=[finding],
                    escalated=fresh,
                )
            self.note(key, outcome.report)
            self._last[key] = (outcome, link, state)
            out[key] = outcome
        return out

    def status(self) -> list[ServiceStatus]:
        rows: list[ServiceStatus] = []
        for key, (outcome, link, state) in sorted(self._last.items()):
            rows.append(
                ServiceStatus(
                    name=key,
                    kind="remote-worker",
                    state="running" if outcome.report == "nominal" else "unreachable",
                    report=outcome.report,
                    findings=[f.message for f in outcome.findings],
                    last_incident_id=outcome.incident_id,
                    details={"link": link, **_brief(state)},
                )
            )
        return rows


def _brief(state: dict[str, Any]) -> dict[str, Any]:
    """A worker's state without its per-camera detail (the cameras' own rows hold that)."""
    cameras = state.get("cameras")
    brief = {k: v for k, v in state.items() if k != "cameras"}
    if isinstance(cameras, dict):
        brief["cameras"] = sorted(cameras)
    return brief
