"""The review's rows: groups (camera + normalized description) with their state and the
model's verdict, the alerts a window holds, and the record of classification runs.

SQL lives here only; `cameras/review/groups.py` builds the groups and decides the states.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from homelab_hub.cameras.alerts.store import boxes_from_json
from homelab_hub.cameras.detect.motion import Box
from homelab_hub.errors import Conflict
from homelab_hub.store import Database

GroupState = Literal["needs_review", "ai_flagged", "suppressed", "acknowledged"]
GROUP_STATES: tuple[GroupState, ...] = ("needs_review", "ai_flagged", "suppressed", "acknowledged")
Label = Literal["REAL", "FALSE_POSITIVE", "NOISE"]
LABELS: tuple[Label, ...] = ("REAL", "FALSE_POSITIVE", "NOISE")
_CHUNK = 200  # keys per IN (...) query


def group_key(normalized: str) -> str:
    """The group's key next to its camera: the description's SHA-1 (an index on MySQL cannot
    hold a whole TEXT column)."""
    return hashlib.sha1(normalized.encode("utf-8"), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class GroupRow:
    id: int
    camera: str
    normalized: str
    state: GroupState
    note: str  # why it is in this state, when that is not obvious ("the model is down: ...")
    verdict: Label | None
    confidence: float | None
    reason: str
    suggested_pattern: str
    model: str
    classified_at: float | None
    decided_by: str
    decided_at: float | None
    suppression_id: int | None
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> GroupRow:
        state: GroupState = row["state"] if row["state"] in GROUP_STATES else "needs_review"
        verdict: Label | None = row["verdict"] if row["verdict"] in LABELS else None
        return cls(
            id=int(row["id"]),
            camera=row["camera"],
            normalized=row["normalized"],
            state=state,
            note=row["note"] or "",
            verdict=verdict,
            confidence=None if row["confidence"] is None else float(row["confidence"]),
            reason=row["reason"] or "",
            suggested_pattern=row["suggested_pattern"] or "",
            model=row["model"] or "",
            classified_at=None if row["classified_at"] is None else float(row["classified_at"]),
            decided_by=row["decided_by"] or "",
            decided_at=None if row["decided_at"] is None else float(row["decided_at"]),
            suppression_id=None if row["suppression_id"] is None else int(row["suppression_id"]),
            created_at=float(row["created_at"]),
            updated_at=float(row["updated_at"]),
        )


@dataclass(frozen=True)
class WindowAlert:
    id: int
    camera: str
    ts: float
    description: str
    normalized: str
    boxes: list[Box]
    image_path: str | None
    review_status: str


@dataclass(frozen=True)
class ReviewRun:
    id: int
    trigger: str  # daily | on_demand
    started_at: float
    finished_at: float
    model: str
    groups_seen: int
    classified: int
    flagged: int
    failed: int
    error: str


class ReviewStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- alerts -------------------------------------------------------------------------------
    def window_alerts(
        self, since: float, *, camera: str | None = None, limit: int = 20000, unverified: bool = False
    ) -> tuple[list[WindowAlert], bool]:
        """Reviewable alerts since ``since`` (everything but UNVERIFIED motion; with
        ``unverified``, that motion alone), newest first, and whether ``limit`` cut the list.
        Raises StorageUnavailable."""
        sql = (
            "SELECT id, camera, ts, description, normalized, boxes, image_path, review_status FROM alerts "
            f"WHERE ts >= ? AND verdict {'=' if unverified else '<>'} 'UNVERIFIED'"
        )
        params: list[Any] = [since]
        if camera:
            sql += " AND camera = ?"
            params.append(camera)
        sql += " ORDER BY ts DESC, id DESC LIMIT ?"
        params.append(limit + 1)
        rows = self.db.query(sql, params)
        alerts = [
            WindowAlert(
                id=int(r["id"]),
                camera=r["camera"],
                ts=float(r["ts"]),
                description=r["description"],
                normalized=r["normalized"],
                boxes=boxes_from_json(r["boxes"]),
                image_path=r["image_path"],
                review_status=r["review_status"],
            )
            for r in rows[:limit]
        ]
        return alerts, len(rows) > limit

    def set_alert_status(self, camera: str, normalized: str, status: str) -> int:
        """Every stored alert of the group takes the group's state. Raises StorageUnavailable."""
        return self.db.execute(
            "UPDATE alerts SET review_status = ? WHERE camera = ? AND normalized = ? AND verdict <> 'UNVERIFIED' "
            "AND review_status <> ?",
            (status, camera, normalized, status),
        ).rowcount

    def group_boxes(
        self, camera: str, normalized: str, limit: int = 500
    ) -> list[tuple[list[Box], str | None]]:
        """(boxes, image path) of the group's stored alerts, newest first."""
        rows = self.db.query(
            "SELECT boxes, image_path FROM alerts WHERE camera = ? AND normalized = ? AND verdict <> 'UNVERIFIED' "
            "ORDER BY ts DESC LIMIT ?",
            (camera, normalized, limit),
        )
        return [
            (
                boxes_from_json(r["boxes"]),
                r["image_path"],
            )
            for r in rows
        ]

    # -- groups -------------------------------------------------------------------------------
    def group(self, group_id: int) -> GroupRow | None:
        row = self.db.query_one("SELECT * FROM review_groups WHERE id = ?", (group_id,))
        return GroupRow.from_row(row) if row else None

    def ensure_groups(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], GroupRow]:
        """The group row of each (camera, normalized), created in needs_review when new.
        Raises StorageUnavailable."""
        wanted = {(camera, normalized): group_key(normalized) for camera, normalized in keys}
        found = self._by_keys(wanted)
        now = time.time()
        for key, digest in wanted.items():
            if key in found:
                continue
            try:
                self.db.execute(
                    "INSERT INTO review_groups (camera, group_key, normalized, state, note, reason, "
                    "suggested_pattern, model, decided_by, created_at, updated_at) "
                    "VALUES (?, ?, ?, 'needs_review', '', '', '', '', '', ?, ?)",
                    (key[0], digest, key[1], now, now),
                )
            except Conflict:
                pass  # another request created it a moment ago: read it below
        missing = {k: v for k, v in wanted.items() if k not in found}
        if missing:
            found.update(self._by_keys(missing))
        return found

    def _by_keys(self, wanted: dict[tuple[str, str], str]) -> dict[tuple[str, str], GroupRow]:
        digests = sorted(set(wanted.values()))
        out: dict[tuple[str, str], GroupRow] = {}
        for i in range(0, len(digests), _CHUNK):
            chunk = digests[i : i + _CHUNK]
            marks = ", ".join("?" for _ in chunk)
            for row in self.db.query(f"SELECT * FROM review_groups WHERE group_key IN ({marks})", chunk):
                group = GroupRow.from_row(row)
                if (group.camera, group.normalized) in wanted:
                    out[(group.camera, group.normalized)] = group
        return out

    def set_state(
        self,
        group_id: int,
        state: GroupState,
        *,
        note: str = "",
        decided_by: str | None = None,
        decided_at: float | None = None,
        suppression_id: int | None = None,
    ) -> None:
        """A new state; ``decided_by`` None keeps who decided last. Raises StorageUnavailable."""
        now = time.time()
        if decided_by is None:
            self.db.execute(
                "UPDATE review_groups SET state = ?, note = ?, suppression_id = ?, updated_at = ? WHERE id = ?",
                (state, note[:1000], suppression_id, now, group_id),
            )
            return
        self.db.execute(
            "UPDATE review_groups SET state = ?, note = ?, decided_by = ?, decided_at = ?, suppression_id = ?, "
            "updated_at = ? WHERE id = ?",
            (state, note[:1000], decided_by[:128], decided_at or now, suppression_id, now, group_id),
        )

    def set_verdict(
        self,
        group_id: int,
        *,
        verdict: Label,
        confidence: float,
        reason: str,
        suggested_pattern: str,
        model: str,
        state: GroupState,
        note: str = "",
        decided_by: str = "",
        decided_at: float | None = None,
    ) -> None:
        """The model's verdict; ``decided_at`` None means now."""
        now = time.time()
        self.db.execute(
            "UPDATE review_groups SET verdict = ?, confidence = ?, reason = ?, suggested_pattern = ?, model = ?, "
            "classified_at = ?, state = ?, note = ?, decided_by = ?, decided_at = ?, updated_at = ? WHERE id = ?",
            (verdict, confidence, reason[:500], suggested_pattern[:200], model[:255], now, state, note[:1000],
             decided_by[:128], decided_at or now, now, group_id),
        )  # fmt: skip

    def set_notes(self, notes: Sequence[tuple[int, str]]) -> None:
        """Say why groups stay where they are (a failed classification). Raises StorageUnavailable."""
        now = time.time()
        self.db.executemany(
            "UPDATE review_groups SET note = ?, updated_at = ? WHERE id = ?",
            [(note[:1000], now, group_id) for group_id, note in notes],
        )

    # -- runs ---------------------------------------------------------------------------------
    def record_run(self, run: ReviewRun) -> int:
        result = self.db.execute(
            "INSERT INTO review_runs (trigger_kind, started_at, finished_at, model, groups_seen, classified, "
            "flagged, failed, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run.trigger, run.started_at, run.finished_at, run.model[:255], run.groups_seen, run.classified,
             run.flagged, run.failed, run.error[:2000]),
        )  # fmt: skip
        return int(result.lastrowid or 0)

    def last_run(self, trigger: str | None = None) -> ReviewRun | None:
        sql = "SELECT * FROM review_runs"
        params: tuple[Any, ...] = ()
        if trigger:
            sql += " WHERE trigger_kind = ?"
            params = (trigger,)
        row = self.db.query_one(sql + " ORDER BY started_at DESC, id DESC LIMIT 1", params)
        if row is None:
            return None
        return ReviewRun(
            id=int(row["id"]),
            trigger=row["trigger_kind"],
            started_at=float(row["started_at"]),
            finished_at=float(row["finished_at"]),
            model=row["model"],
            groups_seen=int(row["groups_seen"]),
            classified=int(row["classified"]),
            flagged=int(row["flagged"]),
            failed=int(row["failed"]),
            error=row["error"] or "",
        )
