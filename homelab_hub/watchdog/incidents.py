"""The watchdog's persistent memory: incidents (what was found, captured and tried) and the
per-service escalation state that must survive a hub restart."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from homelab_hub.errors import NotFound
from homelab_hub.store import Database

# Incident statuses: open (being handled) | fixed (restart verified) | code_fixed (Claude's
# fix verified) | needs_human (tier 3 notified) | resolved (healthy again on its own/after a human).
OPEN_STATUSES = ("open", "needs_human")


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


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


@dataclass
class ServiceState:
    service: str
    state: str = "unknown"  # healthy | unhealthy | recovering | needs_human | unknown
    report: str = "nominal"  # nominal | fixed | code_fixed | needs_human
    restart_attempts: int = 0
    last_check_at: float | None = None
    last_healthy_at: float | None = None
    last_claude_at: float | None = None
    last_incident_id: int | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    log_cursors: dict[str, dict[str, int]] = field(default_factory=dict)


class IncidentStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def open(
        self,
        service: str,
        findings: list[dict[str, Any]],
        forensics: dict[str, Any],
        *,
        origin: str = "check",
        requested_by: str | None = None,
    ) -> int:
        now = time.time()
        result = self.db.execute(
            "INSERT INTO watchdog_incidents (service, opened_at, updated_at, closed_at, status, origin, requested_by, "
            "findings, forensics, actions) VALUES (?, ?, ?, NULL, 'open', ?, ?, ?, ?, '[]')",
            (service, now, now, origin, requested_by, _dumps(findings), _dumps(forensics)),
        )
        assert result.lastrowid is not None
        return int(result.lastrowid)

    def add_action(
        self, incident_id: int, tier: str, action: str, ok: bool, detail: str, **extra: Any
    ) -> None:
        with self.db.transaction():
            row = self.db.query_one("SELECT actions FROM watchdog_incidents WHERE id = ?", (incident_id,))
            if row is None:
                return
            actions = json.loads(row["actions"])
            actions.append(
                {"ts": time.time(), "tier": tier, "action": action, "ok": ok, "detail": detail, **extra}
            )
            self.db.execute(
                "UPDATE watchdog_incidents SET actions = ?, updated_at = ? WHERE id = ?",
                (_dumps(actions), time.time(), incident_id),
            )

    def set_status(self, incident_id: int, status: str) -> None:
        now = time.time()
        closed = None if status in OPEN_STATUSES else now
        self.db.execute(
            "UPDATE watchdog_incidents SET status = ?, updated_at = ?, closed_at = ? WHERE id = ?",
            (status, now, closed, incident_id),
        )

    def get(self, incident_id: int) -> Incident:
        """Raises NotFound for an unknown id."""
        row = self.db.query_one("SELECT * FROM watchdog_incidents WHERE id = ?", (incident_id,))
        if row is None:
            raise NotFound(f"incident {incident_id} does not exist")
        return Incident(
            id=int(row["id"]),
            service=row["service"],
            status=row["status"],
            origin=row["origin"],
            opened_at=float(row["opened_at"]),
            updated_at=float(row["updated_at"]),
            closed_at=None if row["closed_at"] is None else float(row["closed_at"]),
            requested_by=row["requested_by"],
            findings=json.loads(row["findings"]),
            forensics=json.loads(row["forensics"]),
            actions=json.loads(row["actions"]),
        )

    def recent(self, service: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        sql = "SELECT id, service, status, origin, opened_at, closed_at FROM watchdog_incidents"
        params: tuple[Any, ...] = ()
        if service is not None:
            sql += " WHERE service = ?"
            params = (service,)
        return self.db.query(sql + f" ORDER BY id DESC LIMIT {int(limit)}", params)


class StateStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def load(self, service: str) -> ServiceState:
        row = self.db.query_one("SELECT * FROM watchdog_service_state WHERE service = ?", (service,))
        if row is None:
            return ServiceState(service)
        return ServiceState(
            service=service,
            state=row["state"],
            report=row["report"],
            restart_attempts=int(row["restart_attempts"]),
            last_check_at=row["last_check_at"],
            last_healthy_at=row["last_healthy_at"],
            last_claude_at=row["last_claude_at"],
            last_incident_id=None if row["last_incident_id"] is None else int(row["last_incident_id"]),
            findings=json.loads(row["findings"]),
            log_cursors=json.loads(row["log_cursors"]),
        )

    def load_all(self) -> dict[str, ServiceState]:
        return {
            row["service"]: self.load(row["service"])
            for row in self.db.query("SELECT service FROM watchdog_service_state")
        }

    def save(self, st: ServiceState) -> None:
        values = (
            st.state,
            st.report,
            st.restart_attempts,
            st.last_check_at,
            st.last_healthy_at,
            st.last_claude_at,
            st.last_incident_id,
            _dumps(st.findings),
            _dumps(st.log_cursors),
            time.time(),
        )
        with self.db.transaction():
            updated = self.db.execute(
                "UPDATE watchdog_service_state SET state = ?, report = ?, restart_attempts = ?, last_check_at = ?, "
                "last_healthy_at = ?, last_claude_at = ?, last_incident_id = ?, findings = ?, log_cursors = ?, "
                "updated_at = ? WHERE service = ?",
                (*values, st.service),
            )
            exists = updated.rowcount > 0 or self.db.query_one(
                "SELECT service FROM watchdog_service_state WHERE service = ?", (st.service,)
            )
            if not exists:
                self.db.execute(
                    "INSERT INTO watchdog_service_state (state, report, restart_attempts, last_check_at, "
                    "last_healthy_at, last_claude_at, last_incident_id, findings, log_cursors, updated_at, service) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*values, st.service),
                )
