"""Suppression that stays honest: a preview before saving, a refusal for patterns that would
silence everything, an optional expiry, and undo.

A pattern is matched on the normalized description, the same `compile_pattern` the pipeline
checks every alert with (cameras/alerts/store.py). Before saving, the preview counts the window's
alerts it would have silenced. "Broad" means it consists of filler words only ("a", "the
yard") or it would have silenced every alert of a window holding more than one group; such a
pattern is saved only when the caller confirms it explicitly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from homelab_hub.cameras.alerts.store import MAX_PATTERN_CHARS, Suppression, compile_pattern
from homelab_hub.cameras.detect.verdict import normalize_description
from homelab_hub.cameras.review.groups import AlertReview, ReviewGroup, check_hours, matching_suppression
from homelab_hub.errors import Conflict, InvalidInput, NotFound

MAX_EXPIRY_DAYS = 365
# Words that say nothing about what was seen: a pattern made only of these matches nearly
# every description a vision model writes.
_FILLER = frozenset(
    "a an the of in on at is are was and or to with by for from near there it its this that some "
    "one two three moving motion visible image frame scene something object area yard camera view".split()
)


@dataclass(frozen=True)
class SuppressionPreview:
    pattern: str
    camera: str | None  # None: every camera
    hours: int
    matched_alerts: int
    window_alerts: int
    matched_groups: list[int]
    window_groups: int
    broad: str  # why the pattern is too broad to save unconfirmed; "" when it is not


@dataclass(frozen=True)
class SuppressOutcome:
    suppression: Suppression
    preview: SuppressionPreview
    group: ReviewGroup | None
    message: str


def preview(
    review: AlertReview, pattern: str, *, camera: str | None = None, hours: int = 24
) -> SuppressionPreview:
    """How many of the window's alerts (of ``camera``, or all) the pattern would have silenced.
    Raises InvalidInput (empty or too long pattern, hours), NotFound (camera)."""
    check_hours(hours)
    rx = compile_pattern(pattern)
    if camera:
        review.check_camera(camera)
    window = review.window(hours, camera)
    matched = [g for g in window.groups if rx.search(g.normalized)]
    matched_alerts = sum(g.count for g in matched)
    words = set(normalize_description(pattern.replace("*", " ")).split())
    broad = ""
    if words <= _FILLER:
        broad = "is made of filler words only and would match nearly every description"
    elif len(window.groups) > 1 and matched_alerts == window.alerts:
        scope = f"camera {camera!r}" if camera else "every camera"
        broad = f"would have silenced all {window.alerts} alerts of {scope} in {len(window.groups)} groups"
    return SuppressionPreview(
        pattern=pattern, camera=camera or None, hours=hours, matched_alerts=matched_alerts,
        window_alerts=window.alerts, matched_groups=[g.id for g in matched], window_groups=len(window.groups),
        broad=broad,
    )  # fmt: skip


def suppress(
    review: AlertReview,
    *,
    by: str,
    group_id: int | None = None,
    pattern: str | None = None,
    camera: str | None = None,
    expires_days: float | None = None,
    confirm: bool = False,
    hours: int = 24,
) -> SuppressOutcome:
    """Save a suppression for a group (its suggested pattern, else its description) or for a
    pattern (on one camera or all). Raises InvalidInput (no group or pattern, a pattern that
    misses the group, a broad pattern unconfirmed, an expiry not in the future), NotFound,
    Conflict (the same suppression is already active)."""
    group = review.group(group_id, hours) if group_id is not None else None
    if group is not None:
        if camera and camera != group.camera:
            raise InvalidInput(f"review group {group.id} is on camera {group.camera!r}, not {camera!r}")
        camera = group.camera
        if not pattern:
            suggested = group.verdict.suggested_pattern if group.verdict else ""
            pattern = (
                suggested if suggested and _matches(suggested, group.normalized) else _words(group.normalized)
            )
        elif not _matches(pattern, group.normalized):
            raise InvalidInput(
                f"pattern {pattern!r} does not match review group {group.id} ({group.normalized!r}); "
                "use words of its description"
            )
    if not pattern:
        raise InvalidInput("suppress needs a group_id or a pattern, e.g. pattern='car on the road'")
    expires_at = _expiry(expires_days)
    seen = preview(review, pattern, camera=camera, hours=hours)
    if seen.broad and not confirm:
        raise InvalidInput(
            f"suppression pattern {pattern!r} {seen.broad}; pass confirm=true to save it anyway"
        )
    now = time.time()
    for existing in review.alerts.suppressions(camera=camera):
        if existing.pattern == pattern and existing.camera == (camera or None) and existing.active(now):
            raise Conflict(
                f"suppression {existing.id} already silences {pattern!r} on "
                f"{_scope(existing.camera)}; unsuppress it first to change it"
            )
    note = f"review group {group.id}: {group.description}" if group else ""
    saved = review.alerts.add_suppression(
        pattern, camera=camera or None, note=note, expires_at=expires_at, created_by=by,
        group_id=group.id if group else None,
    )  # fmt: skip
    if group is not None:
        review.store.set_state(group.id, "suppressed", decided_by=by, suppression_id=saved.id)
        review.store.set_alert_status(group.camera, group.normalized, "suppressed")
    review.window(hours, camera)  # other groups it matches follow
    after = review.group(group.id, hours) if group is not None else None
    until = f" until {_when(expires_at)}" if expires_at else ""
    message = (
        f"suppression {saved.id} silences {pattern!r} on {_scope(saved.camera)}{until}; it would have "
        f"silenced {seen.matched_alerts} of {seen.window_alerts} alerts in the last {hours} h"
    )
    return SuppressOutcome(saved, seen, after, message)


def unsuppress(
    review: AlertReview,
    *,
    by: str,
    group_id: int | None = None,
    pattern: str | None = None,
    camera: str | None = None,
    hours: int = 24,
) -> tuple[list[Suppression], ReviewGroup | None, str]:
    """Undo: a group's suppression, or every active suppression with this exact pattern.
    Returns the suppressions undone, the group after and what happened. Raises NotFound,
    InvalidInput."""
    now = time.time()
    if group_id is not None:
        row = review.row(group_id)
        if row.state != "suppressed" or row.suppression_id is None:
            raise InvalidInput(f"review group {group_id} is not suppressed (it is {row.state})")
        undone = [review.alerts.remove_suppression(row.suppression_id, removed_by=by)]
        review.release(row, note=f"suppression {row.suppression_id} was undone by {by}", by=by)
        still = matching_suppression(review.alerts.suppressions(), row.camera, row.normalized, now)
        group = review.group(group_id, hours)
        message = f"suppression {row.suppression_id} undone; review group {group_id} is {group.state}"
        if still is not None:
            message += f"; suppression {still.id} {still.pattern!r} still silences it"
        return undone, group, message
    if not pattern:
        raise InvalidInput("unsuppress needs a group_id or the pattern of a suppression")
    if camera:
        review.check_camera(camera)
    targets = [
        s for s in review.alerts.suppressions() if s.pattern == pattern and (not camera or s.camera == camera)
    ]
    if not targets:
        raise NotFound(
            f"no active suppression has the pattern {pattern!r}{' on camera ' + repr(camera) if camera else ''}"
        )
    undone = [review.alerts.remove_suppression(s.id, removed_by=by) for s in targets]
    review.window(hours)  # the groups they held are released
    ids = ", ".join(str(s.id) for s in undone)
    return undone, None, f"suppression(s) {ids} with pattern {pattern!r} undone"


def _words(normalized: str) -> str:
    """The description as a pattern: whole, or its first words when it is longer than a pattern
    may be (a prefix still matches it)."""
    if len(normalized) <= MAX_PATTERN_CHARS:
        return normalized
    return normalized[: MAX_PATTERN_CHARS + 1].rsplit(" ", 1)[0]


def _matches(pattern: str, normalized: str) -> bool:
    try:
        return bool(compile_pattern(pattern).search(normalized))
    except InvalidInput:
        return False


def _expiry(days: float | None) -> float | None:
    if days is None:
        return None
    if days <= 0:
        raise InvalidInput(
            f"expires_days {days} puts the expiry in the past; give 1 to {MAX_EXPIRY_DAYS} days, or none to keep it"
        )
    if days > MAX_EXPIRY_DAYS:
        raise InvalidInput(
            f"expires_days {days} is beyond {MAX_EXPIRY_DAYS}; leave it out to suppress for good"
        )
    return time.time() + days * 86400


def _scope(camera: str | None) -> str:
    return f"camera {camera!r}" if camera else "every camera"


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts or 0))
