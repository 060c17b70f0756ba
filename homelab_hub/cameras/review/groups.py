"""The daily alert review: a window's alerts grouped by camera and normalized description.

The seed's review page grouped the last 24 hours of confirmed alerts ("a car on the road
beyond the gate" x 18) so that a recurring false positive is one decision, not eighteen. A
group's row is kept (review_groups) with its state:

- ``needs_review``: nobody decided yet (or the model could not; ``note`` says why);
- ``ai_flagged``: the review model labelled it FALSE_POSITIVE or NOISE: a person confirms
  (suppress) or not. The model never suppresses; a REAL verdict stays in needs_review;
- ``suppressed``: an active suppression matches it (future alerts are silenced, counted);
- ``acknowledged``: a person saw it and keeps it alerting. New alerts after that put the
  group back in needs_review: an acknowledgement covers what was seen.

Every alert of a group carries the group's state in ``alerts.review_status``. States are
reconciled whenever a window is read: an expired or undone suppression releases its groups.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from homelab_hub.cameras.alerts.store import AlertStore, Suppression, compile_pattern
from homelab_hub.cameras.review.store import (
    GROUP_STATES,
    GroupRow,
    GroupState,
    Label,
    ReviewRun,
    ReviewStore,
    WindowAlert,
)
from homelab_hub.cameras.settings import CameraConfig, ReviewConfig
from homelab_hub.errors import Conflict, InvalidInput, NotFound
from homelab_hub.store import Database

if TYPE_CHECKING:
    from homelab_hub.cameras.stream.manager import CameraManager

MAX_HOURS = 720
_ALERT_IDS = 5
_SAMPLES = 3


@dataclass(frozen=True)
class ModelVerdict:
    label: Label
    confidence: float
    reason: str
    suggested_pattern: str
    model: str
    classified_at: float


@dataclass(frozen=True)
class ReviewGroup:
    id: int
    camera: str
    description: str  # the newest alert's own words
    normalized: str
    count: int  # alerts in the window
    first_seen: float | None
    last_seen: float | None
    hours: list[int]  # alerts per local hour of the day, 0..23
    alert_ids: list[int]  # newest first
    sample_alert_ids: list[int]  # newest first, with a stored image
    state: GroupState
    note: str
    verdict: ModelVerdict | None
    decided_by: str  # an agent's name, or "model:NAME"
    decided_at: float | None
    suppression: Suppression | None


@dataclass(frozen=True)
class UnverifiedGroup:
    """Motion no model judged (none configured, or it was away), by camera, zone and hour."""

    camera: str
    zone: str  # the include zone the motion was in; "whole frame" without one
    hour: float  # start of the hour (epoch seconds)
    count: int
    alert_ids: list[int]  # newest first, a few
    sample_alert_ids: list[int]  # newest first, with a stored image


@dataclass(frozen=True)
class ReviewWindow:
    hours: int
    since: float
    until: float
    camera: str | None
    alerts: int
    truncated: bool  # more alerts than one window reads (20,000)
    groups: list[ReviewGroup]
    states: dict[str, int]  # groups per state, before any state filter
    last_run: ReviewRun | None
    unverified: list[UnverifiedGroup] = field(default_factory=list)  # newest hour first
    unverified_alerts: int = 0


def model_actor(model: str) -> str:
    return f"model:{model}"


class AlertReview:
    """Groups, states and decisions. Cheap to build: the CameraService makes one per call."""

    def __init__(
        self,
        db: Database,
        *,
        config: ReviewConfig,
        cameras: Mapping[str, CameraConfig],
        manager: CameraManager | None = None,
        alerts: AlertStore | None = None,
    ) -> None:
        self.db = db
        self.store = ReviewStore(db)
        # The hub's one store (its CameraService's), so a suppression decided here reaches the
        # running pipelines' cache at once; a fresh one for a review of its own.
        self.alerts = alerts if alerts is not None else AlertStore(db)
        self.config = config
        self.cameras = cameras
        self.manager = manager

    # -- reading ------------------------------------------------------------------------------
    def window(self, hours: int = 24, camera: str | None = None, state: str | None = None) -> ReviewWindow:
        """The groups of the last ``hours``, busiest first, states reconciled.

        Raises InvalidInput (hours, state), NotFound (camera), StorageUnavailable.
        """
        check_hours(hours)
        if state is not None and state not in GROUP_STATES:
            raise InvalidInput(
                f"state {state!r} is not a review state; expected one of {', '.join(GROUP_STATES)}"
            )
        if camera:
            self.check_camera(camera)
        now = time.time()
        since = now - hours * 3600
        alerts, truncated = self.store.window_alerts(since, camera=camera or None)
        buckets: dict[tuple[str, str], list[WindowAlert]] = {}
        for alert in alerts:
            buckets.setdefault((alert.camera, alert.normalized), []).append(alert)
        rows = self.store.ensure_groups(buckets)
        suppressions = self.alerts.suppressions(include_inactive=True)
        groups = [
            self._build(self._reconcile(rows[key], items, suppressions, now), items, suppressions)
            for key, items in buckets.items()
        ]
        groups.sort(key=lambda g: (-g.count, -(g.last_seen or 0), g.id))
        counts: dict[str, int] = {s: sum(1 for g in groups if g.state == s) for s in GROUP_STATES}
        if state is not None:
            groups = [g for g in groups if g.state == state]
        motion, _ = self.store.window_alerts(since, camera=camera or None, unverified=True)
        return ReviewWindow(
            hours=hours, since=since, until=now, camera=camera or None, alerts=len(alerts), truncated=truncated,
            groups=groups, states=counts, last_run=self.store.last_run(),
            unverified=self.unverified_groups(motion), unverified_alerts=len(motion),
        )  # fmt: skip

    def unverified_groups(self, alerts: list[WindowAlert]) -> list[UnverifiedGroup]:
        """Unverified motion (newest first) grouped by camera, the include zone it was in, and
        hour; newest hour first, then busiest."""
        buckets: dict[tuple[str, str, float], list[WindowAlert]] = {}
        for alert in alerts:
            hour = alert.ts - alert.ts % 3600
            buckets.setdefault((alert.camera, self._zone_of(alert), hour), []).append(alert)
        groups = [
            UnverifiedGroup(
                camera=camera,
                zone=zone,
                hour=hour,
                count=len(items),
                alert_ids=[a.id for a in items[:_ALERT_IDS]],
                sample_alert_ids=[a.id for a in items if a.image_path][:_SAMPLES],
            )  # fmt: skip
            for (camera, zone, hour), items in buckets.items()
        ]
        groups.sort(key=lambda g: (-g.hour, -g.count, g.camera, g.zone))
        return groups

    def _zone_of(self, alert: WindowAlert) -> str:
        """The include zone holding the centre of the alert's largest box (frame size from the
        camera's last sample); "whole frame" when the camera has none or it is not known."""
        camera = self.cameras.get(alert.camera)
        zones = [z for z in camera.zones if z.kind == "include"] if camera is not None else []
        size = camera_frame_size(self.manager, alert.camera) if zones and alert.boxes else None
        if size is None:
            return "whole frame"
        x, y, w, h = max(alert.boxes, key=lambda b: b[2] * b[3])
        cx, cy = (x + w / 2) / size[0], (y + h / 2) / size[1]
        for zone in zones:
            if _inside(cx, cy, [(float(p[0]), float(p[1])) for p in zone.points]):
                return zone.name
        return "whole frame"

    def group(self, group_id: int, hours: int = 24) -> ReviewGroup:
        """One group with its alerts of the last ``hours``. Raises NotFound, InvalidInput."""
        check_hours(hours)
        row = self.row(group_id)
        since = time.time() - hours * 3600
        alerts, _ = self.store.window_alerts(since, camera=row.camera)
        items = [a for a in alerts if a.normalized == row.normalized]
        suppressions = self.alerts.suppressions(include_inactive=True)
        return self._build(self._reconcile(row, items, suppressions, time.time()), items, suppressions)

    def row(self, group_id: int) -> GroupRow:
        """Raises NotFound."""
        row = self.store.group(group_id)
        if row is None:
            raise NotFound(f"review group {group_id} does not exist; list the groups with action=list")
        return row

    def check_camera(self, camera: str) -> None:
        """Configured, running, or with stored alerts (a camera removed since). Raises NotFound."""
        if camera in self.cameras or (self.manager is not None and camera in self.manager.names()):
            return
        if self.alerts.has_alerts(camera):
            return
        known = ", ".join(repr(n) for n in sorted(self.cameras)) or "none are configured"
        raise NotFound(f"unknown camera {camera!r}; known cameras: {known}")

    # -- decisions ----------------------------------------------------------------------------
    def acknowledge(self, group_id: int, *, by: str) -> ReviewGroup:
        """A person saw the group and keeps it alerting. Raises NotFound, Conflict (suppressed)."""
        row = self.row(group_id)
        if row.state == "suppressed":
            raise Conflict(
                f"review group {group_id} is suppressed (suppression {row.suppression_id}); unsuppress it first"
            )
        self.store.set_state(group_id, "acknowledged", decided_by=by)
        self.store.set_alert_status(row.camera, row.normalized, "acknowledged")
        return self.group(group_id)

    def apply_verdict(
        self, row: GroupRow, *, label: Label, confidence: float, reason: str, pattern: str, model: str
    ) -> GroupState:
        """Record the model's verdict. A person's decision (suppressed, acknowledged) stands;
        otherwise FALSE_POSITIVE and NOISE flag the group, REAL leaves it for review. High
        confidence NOISE is acknowledged only when the config says so."""
        state: GroupState = row.state
        decided_by, decided_at = row.decided_by, row.decided_at  # a person's decision keeps its time
        if row.state not in ("suppressed", "acknowledged"):
            decided_at = None
            state = "ai_flagged" if label in ("FALSE_POSITIVE", "NOISE") else "needs_review"
            decided_by = model_actor(model) if state == "ai_flagged" else ""
            auto = (
                self.config.auto_acknowledge_noise and confidence >= self.config.auto_acknowledge_confidence
            )
            if label == "NOISE" and auto:
                state, decided_by = "acknowledged", model_actor(model)
        self.store.set_verdict(
            row.id, verdict=label, confidence=confidence, reason=reason, suggested_pattern=pattern,
            model=model, state=state, decided_by=decided_by, decided_at=decided_at,
        )  # fmt: skip
        self.store.set_alert_status(row.camera, row.normalized, state)
        return state

    def release(self, row: GroupRow, *, note: str, by: str | None = None) -> GroupState:
        """Back to where the group was before it was suppressed: flagged when the model said
        so, else needs review."""
        state: GroupState = "ai_flagged" if row.verdict in ("FALSE_POSITIVE", "NOISE") else "needs_review"
        self.store.set_state(row.id, state, note=note, decided_by=by)
        self.store.set_alert_status(row.camera, row.normalized, state)
        return state

    # -- internals ----------------------------------------------------------------------------
    def _reconcile(
        self, row: GroupRow, items: list[WindowAlert], suppressions: list[Suppression], now: float
    ) -> GroupRow:
        """Bring a stored state up to date with suppressions and new alerts."""
        changed = True
        active = matching_suppression(suppressions, row.camera, row.normalized, now)
        if row.state == "suppressed":
            own = next((s for s in suppressions if s.id == row.suppression_id), None)
            if own is not None and own.active(now):
                changed = False
            elif active is not None:
                note = f"silenced by suppression {active.id} {active.pattern!r}"
                self.store.set_state(row.id, "suppressed", note=note, suppression_id=active.id)
            else:
                self.release(row, note=_release_note(own, now))
        elif active is not None:
            self.store.set_state(
                row.id, "suppressed", note=f"silenced by suppression {active.id} {active.pattern!r}",
                decided_by=active.created_by or "someone", decided_at=active.created_at, suppression_id=active.id,
            )  # fmt: skip
        elif (
            row.state == "acknowledged"
            and row.decided_at is not None
            and items
            and items[0].ts > row.decided_at
        ):
            fresh = sum(1 for a in items if a.ts > row.decided_at)
            note = f"{fresh} new alert(s) since {row.decided_by or 'someone'} acknowledged it"
            self.store.set_state(row.id, "needs_review", note=note)
        else:
            changed = False
        updated = self.store.group(row.id) if changed else row
        assert updated is not None
        if any(a.review_status != updated.state for a in items):
            self.store.set_alert_status(updated.camera, updated.normalized, updated.state)
        return updated

    def _build(self, row: GroupRow, items: list[WindowAlert], suppressions: list[Suppression]) -> ReviewGroup:
        hours = [0] * 24
        for alert in items:
            hours[time.localtime(alert.ts).tm_hour] += 1
        verdict = None
        if row.verdict is not None:
            verdict = ModelVerdict(
                label=row.verdict, confidence=row.confidence or 0.0, reason=row.reason,
                suggested_pattern=row.suggested_pattern, model=row.model, classified_at=row.classified_at or 0.0,
            )  # fmt: skip
        return ReviewGroup(
            id=row.id,
            camera=row.camera,
            description=items[0].description if items else row.normalized,
            normalized=row.normalized,
            count=len(items),
            first_seen=items[-1].ts if items else None,
            last_seen=items[0].ts if items else None,
            hours=hours,
            alert_ids=[a.id for a in items[:_ALERT_IDS]],
            sample_alert_ids=[a.id for a in items if a.image_path][:_SAMPLES],
            state=row.state,
            note=row.note,
            verdict=verdict,
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            suppression=next((s for s in suppressions if s.id == row.suppression_id), None),
        )


def check_hours(hours: int) -> None:
    if not 1 <= hours <= MAX_HOURS:
        raise InvalidInput(f"hours {hours} is outside 1..{MAX_HOURS} (the review window, default 24)")


def matching_suppression(
    suppressions: list[Suppression], camera: str, normalized: str, now: float
) -> Suppression | None:
    """The oldest active suppression that silences this group's description on its camera."""
    for sup in sorted(suppressions, key=lambda s: (s.created_at, s.id)):
        if not sup.active(now) or sup.camera not in (None, camera):
            continue
        try:
            if compile_pattern(sup.pattern).search(normalized):
                return sup
        except InvalidInput:
            continue
    return None


def _release_note(own: Suppression | None, now: float) -> str:
    if own is None:
        return "its suppression no longer exists"
    if own.removed_at is not None:
        return f"suppression {own.id} was undone by {own.removed_by or 'someone'}"
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(own.expires_at or now))
    return f"suppression {own.id} expired at {when}"


def _inside(x: float, y: float, polygon: list[tuple[float, float]]) -> bool:
    """Ray casting: (x, y) inside the polygon (0..1 image coordinates)."""
    inside = False
    j = len(polygon) - 1
    for i, (xi, yi) in enumerate(polygon):
        xj, yj = polygon[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def camera_frame_size(manager: CameraManager | None, camera: str) -> tuple[int, int] | None:
    """The running camera's frame size (its last sample, else its motion history), or None."""
    if manager is None:
        return None
    try:
        runtime = manager.runtime(camera)
    except NotFound:
        return None
    last = runtime.last_sample
    if last is not None and len(last.frame_shape) >= 2:
        return int(last.frame_shape[1]), int(last.frame_shape[0])
    return runtime.pipeline.activity.frame_size
