"""The watchdog's typed records: incidents, per-service state, the restart budget's entries,
the lock's holder and the status rows the tools show.

Text that came from a watched service (log lines, command lines, a manager's stderr, Claude's
answer) is redacted (`homelab_hub.redact.redact_text`) before it is stored in any of these:
`redact_tree` is applied by the store on every write, so nothing raw reaches the database,
an answer or a notification.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from homelab_hub.redact import redact_text

# Incident statuses: open (being handled) | fixed (restart verified) | code_fixed (Claude's
# fix verified) | needs_human (tier 3 notified) | resolved (healthy again on its own/after a human).
OPEN_STATUSES = ("open", "needs_human")


def redact_tree(value: Any) -> Any:
    """A copy of a JSON-like value with every string passed through redact_text."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: redact_tree(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_tree(item) for item in value]
    return value


@dataclass
class Incident:
    id: int
    service: str
    status: str
    origin: str
    opened_at: float
    updated_at: float
    closed_at: float | None
    requested_by: str | None
    findings: list[dict[str, Any]]
    forensics: dict[str, Any]
    actions: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """Everything, for admins (already redacted at capture)."""
        return {
            "id": self.id,
            "service": self.service,
            "status": self.status,
            "origin": self.origin,
            "opened_at": self.opened_at,
            "updated_at": self.updated_at,
            "closed_at": self.closed_at,
            "requested_by": self.requested_by,
            "findings": self.findings,
            "forensics": self.forensics,
            "actions": self.actions,
        }

    def agent_view(self) -> dict[str, Any]:
        """What an agent token may read: what was found and done, without the raw forensics.

        Log tails, raw log lines and process command lines are where secrets hide that a
        pattern cannot recognise (a password in an unusual flag, a key in a stack trace), so
        they stay admin-only even though they were redacted when captured.
        """
        procs = [{k: v for k, v in p.items() if k != "cmdline"} for p in self.forensics.get("processes", [])]
        return {
            **self.to_dict(),
            "findings": [{k: v for k, v in f.items() if k != "lines"} for f in self.findings],
            "forensics": {
                "captured_at": self.forensics.get("captured_at"),
                "log_age_s": self.forensics.get("log_age_s"),
                "processes": procs,
                "withheld": "log tails, log lines and command lines are shown to admin tokens only",
            },
            "actions": [_action_for_agents(a) for a in self.actions],
        }


def _action_for_agents(action: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in action.items() if k not in ("processes", "forensics")}
    if isinstance(out.get("findings"), list):  # a recurrence's findings carry raw log lines
        out["findings"] = [
            {k: v for k, v in f.items() if k != "lines"} for f in out["findings"] if isinstance(f, dict)
        ]
    if isinstance(out.get("claude"), dict):
        out["claude"] = {k: v for k, v in out["claude"].items() if k != "stderr"}
    return out


@dataclass
class IncidentSummary:
    id: int
    service: str
    status: str
    origin: str
    opened_at: float
    closed_at: float | None


@dataclass
class RestartEntry:
    """One tier-1 restart counted against the service's restart budget."""

    at: float
    incident_id: int | None
    verified: bool

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "incident_id": self.incident_id, "verified": self.verified}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RestartEntry:
        incident = data.get("incident_id")
        return cls(float(data["at"]), None if incident is None else int(incident), bool(data.get("verified")))


# A watched service's state, and what the last check did about it.
ServiceStateName = Literal["healthy", "unhealthy", "recovering", "needs_human", "unknown"]
Report = Literal["nominal", "fixed", "code_fixed", "needs_human"]
# Why a check found a service unwell; the log reader's problems (log_*) are findings too.
FindingKind = Literal[
    "not_running", "zombie_process", "start_limit_hit", "spinning", "hung", "log_stale", "log_missing",
    "log_unreadable", "serious_errors", "dependency_down", "worker_failed", "worker_crash_looping",
    "worker_restarted", "manual_restart", "worker_unreachable",
]  # fmt: skip


@dataclass
class ServiceState:
    service: str
    state: ServiceStateName = "unknown"
    report: Report = "nominal"
    last_check_at: float | None = None
    last_healthy_at: float | None = None
    last_claude_at: float | None = None
    last_incident_id: int | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    log_cursors: dict[str, dict[str, int]] = field(default_factory=dict)
    # The budget: restarts since the last stable period (pruned to the window when counted).
    restarts: list[RestartEntry] = field(default_factory=list)
    # Start of the current healthy streak; None while unhealthy.
    stable_since: float | None = None

    @property
    def restart_attempts(self) -> int:
        return len(self.restarts)


@dataclass
class LockHolder:
    """Who holds the watchdog's one-writer lock (or last held it)."""

    name: str
    owner: str
    holder: str
    acquired_at: float
    renewed_at: float
    expires_at: float
    last_check_at: float | None

    def live(self, now: float) -> bool:
        return self.expires_at > now


@dataclass
class ServiceStatus:
    """One row of watchdog_status: a watched service or a hub worker."""

    name: str
    kind: str
    state: str
    report: str
    last_check_at: float | None = None
    findings: list[str] = field(default_factory=list)
    restart_attempts: int = 0
    last_incident_id: int | None = None
    last_claude_at: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
