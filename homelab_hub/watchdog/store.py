"""The watchdog's SQL, all of it: incidents, per-service escalation state and the one-writer
lock. SQLite and MySQL/MariaDB alike (the `Database` wrapper maps the placeholders).

Every text written into an incident or a service's findings passes `redact_tree` first:
whatever a caller hands in, the database never holds a recognisable secret.
"""

from __future__ import annotations

import json
import time
from typing import Any

from homelab_hub.errors import Conflict, NotFound
from homelab_hub.store import Database
from homelab_hub.watchdog.records import (
    OPEN_STATUSES,
    Incident,
    IncidentSummary,
    LockHolder,
    RestartEntry,
    ServiceState,
    redact_tree,
)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


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
        """Record a new incident; returns its id. Raises StorageUnavailable."""
        now = time.time()
        result = self.db.execute(
            "INSERT INTO watchdog_incidents (service, opened_at, updated_at, closed_at, status, origin, requested_by, "
            "findings, forensics, actions) VALUES (?, ?, ?, NULL, 'open', ?, ?, ?, ?, '[]')",
            (
                service,
                now,
                now,
                origin,
                requested_by,
                _dumps(redact_tree(findings)),
                _dumps(redact_tree(forensics)),
            ),
        )
        assert result.lastrowid is not None
        return int(result.lastrowid)

    def add_action(
        self, incident_id: int, tier: str, action: str, ok: bool, detail: str, **extra: Any
    ) -> None:
        entry = {"ts": time.time(), "tier": tier, "action": action, "ok": ok, "detail": detail, **extra}
        with self.db.transaction():
            row = self.db.query_one("SELECT actions FROM watchdog_incidents WHERE id = ?", (incident_id,))
            if row is None:
                return
            actions = json.loads(row["actions"])
            actions.append(redact_tree(entry))
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

    def recent(
        self, service: str | None = None, origin: str | None = None, limit: int = 20
    ) -> list[IncidentSummary]:
        sql = "SELECT id, service, status, origin, opened_at, closed_at FROM watchdog_incidents"
        where: list[str] = []
        params: list[Any] = []
        if service is not None:
            where.append("service = ?")
            params.append(service)
        if origin is not None:
            where.append("origin = ?")
            params.append(origin)
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.db.query(sql + f" ORDER BY id DESC LIMIT {int(limit)}", tuple(params))
        return [
            IncidentSummary(
                id=int(r["id"]),
                service=r["service"],
                status=r["status"],
                origin=r["origin"],
                opened_at=float(r["opened_at"]),
                closed_at=None if r["closed_at"] is None else float(r["closed_at"]),
            )
            for r in rows
        ]


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
            last_check_at=row["last_check_at"],
            last_healthy_at=row["last_healthy_at"],
            last_claude_at=row["last_claude_at"],
            last_incident_id=None if row["last_incident_id"] is None else int(row["last_incident_id"]),
            findings=json.loads(row["findings"]),
            log_cursors=json.loads(row["log_cursors"]),
            restarts=[RestartEntry.from_dict(r) for r in json.loads(row.get("restarts") or "[]")],
            stable_since=row.get("stable_since"),
        )

    def save(self, st: ServiceState) -> None:
        values = (
            st.state,
            st.report,
            st.restart_attempts,
            st.last_check_at,
            st.last_healthy_at,
            st.last_claude_at,
            st.last_incident_id,
            _dumps(redact_tree(st.findings)),
            _dumps(st.log_cursors),
            _dumps([r.to_dict() for r in st.restarts]),
            st.stable_since,
            time.time(),
        )
        with self.db.transaction():
            updated = self.db.execute(
                "UPDATE watchdog_service_state SET state = ?, report = ?, restart_attempts = ?, last_check_at = ?, "
                "last_healthy_at = ?, last_claude_at = ?, last_incident_id = ?, findings = ?, log_cursors = ?, "
                "restarts = ?, stable_since = ?, updated_at = ? WHERE service = ?",
                (*values, st.service),
            )
            exists = updated.rowcount > 0 or self.db.query_one(
                "SELECT service FROM watchdog_service_state WHERE service = ?", (st.service,)
            )
            if not exists:
                self.db.execute(
                    "INSERT INTO watchdog_service_state (state, report, restart_attempts, last_check_at, "
                    "last_healthy_at, last_claude_at, last_incident_id, findings, log_cursors, restarts, "
                    "stable_since, updated_at, service) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*values, st.service),
                )


class LockStore:
    """A lease in the database: one holder at a time acts on the watched services.

    Taking the lock is one conditional UPDATE (free, expired, or already ours) or, the first
    time, an INSERT whose primary key makes a concurrent second INSERT fail: no SELECT ... FOR
    UPDATE, so it behaves the same on SQLite and MySQL. A holder that dies stops renewing and
    its lease expires; releasing keeps the row (and the time of the last completed check).
    """

    def __init__(self, db: Database, name: str = "watchdog") -> None:
        self.db = db
        self.name = name

    def acquire(self, owner: str, holder: str, lease_s: float) -> LockHolder | None:
        """Take or renew the lease; returns None when it is ours, else the live holder."""
        now = time.time()
        # acquired_at first: MySQL evaluates SET left to right, with the columns already set.
        updated = self.db.execute(
            "UPDATE watchdog_lock SET acquired_at = CASE WHEN owner = ? AND expires_at > ? THEN acquired_at "
            "ELSE ? END, owner = ?, holder = ?, renewed_at = ?, expires_at = ? "
            "WHERE name = ? AND (owner = ? OR expires_at <= ?)",
            (owner, now, now, owner, holder, now, now + lease_s, self.name, owner, now),
        )
        if updated.rowcount == 0:
            current = self.holder()
            if current is None:
                try:
                    self.db.execute(
                        "INSERT INTO watchdog_lock (name, owner, holder, acquired_at, renewed_at, expires_at, "
                        "last_check_at) VALUES (?, ?, ?, ?, ?, ?, NULL)",
                        (self.name, owner, holder, now, now, now + lease_s),
                    )
                except Conflict:  # another process inserted it first
                    return self.holder()
                return None
            # MySQL counts only changed rows: a renewal within the same clock tick changes nothing.
            if current.owner != owner:
                return current
        return None

    def release(self, owner: str) -> None:
        self.db.execute(
            "UPDATE watchdog_lock SET expires_at = 0 WHERE name = ? AND owner = ?", (self.name, owner)
        )

    def checked(self, owner: str, at: float) -> None:
        """Record a completed check by the lock's owner."""
        self.db.execute(
            "UPDATE watchdog_lock SET last_check_at = ? WHERE name = ? AND owner = ?", (at, self.name, owner)
        )

    def holder(self) -> LockHolder | None:
        row = self.db.query_one("SELECT * FROM watchdog_lock WHERE name = ?", (self.name,))
        if row is None:
            return None
        return LockHolder(
            name=row["name"],
            owner=row["owner"],
            holder=row["holder"],
            acquired_at=float(row["acquired_at"]),
            renewed_at=float(row["renewed_at"]),
            expires_at=float(row["expires_at"]),
            last_check_at=None if row["last_check_at"] is None else float(row["last_check_at"]),
        )
