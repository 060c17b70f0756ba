"""alert_review: the daily alert review for an agent: groups, the model's verdicts, decisions.

``list`` (and ``classify``, which asks the review model) are open to every token; the
decisions (suppress, unsuppress, acknowledge) need an admin token: a suppression silences a
camera's alerts. Arguments that do not apply to an action are ignored; the sentinels ("" and
0) keep the published schema short: every agent session pays for it in context.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Literal

from pydantic import Field

from homelab_hub.cameras.alerts.store import MAX_PATTERN_CHARS, PATTERN_SCHEMA, Suppression
from homelab_hub.cameras.review.groups import MAX_HOURS, AlertReview, ReviewGroup
from homelab_hub.cameras.review.suppress import MAX_EXPIRY_DAYS, SuppressionPreview, suppress, unsuppress
from homelab_hub.errors import InvalidInput
from homelab_hub.tools.registry import ToolContext, ToolInput, ToolOutput, ToolSpec

Action = Literal["list", "classify", "suppress", "unsuppress", "acknowledge"]


class AlertReviewInput(ToolInput):
    action: Action = "list"
    hours: int = Field(24, ge=1, le=MAX_HOURS)
    camera: str = Field("", max_length=64)
    group_id: int = Field(0, ge=0)
    pattern: str = Field("", max_length=MAX_PATTERN_CHARS, pattern=PATTERN_SCHEMA)
    expires_days: int = Field(0, ge=0, le=MAX_EXPIRY_DAYS)
    confirm: bool = False


class VerdictOut(ToolOutput):
    label: str = Field(..., description="REAL, FALSE_POSITIVE or NOISE.")
    confidence: float = Field(..., description="0..1, the model's own.")
    reason: str = Field(..., description="The model's one-line reason.")
    suggested_pattern: str = Field(..., description="Suppression pattern it suggests ('' for none).")
    model: str = Field(..., description="The review model.")


class SuppressionOut(ToolOutput):
    id: int = Field(..., description="Suppression id.")
    camera: str | None = Field(..., description="Its camera; null = every camera.")
    pattern: str = Field(..., description="Matched on the normalized description; '*' = anything.")
    expires: str | None = Field(..., description="ISO time it stops matching; null = never.")
    hits: int = Field(..., description="Alerts it has silenced.")
    last_hit: str | None = Field(..., description="ISO time of the last one.")
    active: bool = Field(..., description="False once expired or undone.")


class GroupOut(ToolOutput):
    id: int = Field(..., description="Group id, for group_id.")
    camera: str = Field(..., description="Camera name.")
    description: str = Field(..., description="The newest alert's description.")
    count: int = Field(..., description="Alerts in the window.")
    first_seen: str | None = Field(..., description="ISO time of the first alert in the window.")
    last_seen: str | None = Field(..., description="ISO time of the last one.")
    state: str = Field(..., description="needs_review, ai_flagged, suppressed or acknowledged.")
    note: str = Field(..., description="Why it is in this state, when not obvious (e.g. the model was down).")
    verdict: VerdictOut | None = Field(..., description="The review model's verdict, if any.")
    decided_by: str = Field(..., description="Agent name, or model:NAME.")
    alert_ids: list[int] = Field(..., description="A few of its alerts, newest first.")
    suppression: SuppressionOut | None = Field(..., description="The suppression that silences it, if any.")


class PreviewOut(ToolOutput):
    matched_alerts: int = Field(..., description="Window alerts the pattern would have silenced.")
    window_alerts: int = Field(..., description="Alerts in the window (its camera, or all).")
    matched_groups: list[int] = Field(..., description="Groups it matches.")


class ClassifiedOut(ToolOutput):
    model: str = Field(..., description="The review model.")
    groups: int = Field(..., description="Groups sent to it.")
    classified: int = Field(..., description="Groups it labelled.")
    flagged: int = Field(..., description="Now ai_flagged, waiting for a person.")
    failed: int = Field(..., description="Left in needs_review; errors say why.")
    errors: list[str] = Field(..., description="What went wrong (down, timeout, garbage).")


class UnverifiedOut(ToolOutput):
    camera: str = Field(..., description="Camera name.")
    zone: str = Field(..., description="Include zone the motion was in, or 'whole frame'.")
    hour: str = Field(..., description="ISO start of the hour.")
    count: int = Field(..., description="Motion events kept unverified (no vision model).")
    alert_ids: list[int] = Field(..., description="A few, newest first.")


class AlertReviewOutput(ToolOutput):
    hours: int = Field(..., description="The window, in hours.")
    alerts: int = Field(..., description="Alerts in the window.")
    states: dict[str, int] = Field(..., description="Groups per state.")
    groups: list[GroupOut] = Field(..., description="Busiest first (list, classify), or the group acted on.")
    message: str = Field("", description="What the action did.")
    unverified: list[UnverifiedOut] = Field(
        default_factory=list, description="list: motion no model judged, by camera, zone and hour."
    )
    classified: ClassifiedOut | None = Field(None, description="classify: the run's numbers.")
    preview: PreviewOut | None = Field(None, description="suppress: what it would have silenced.")
    suppressions: list[SuppressionOut] = Field(
        default_factory=list, description="Suppressions saved or undone."
    )


def alert_review(ctx: ToolContext, args: AlertReviewInput) -> AlertReviewOutput:
    """Raises Forbidden (a decision with an agent token), NotFound (camera, group),
    InvalidInput (a broad, empty or too long pattern; a missing group_id or pattern),
    Conflict, StorageUnavailable."""
    if args.action in ("suppress", "unsuppress", "acknowledge"):
        ctx.identity.require_admin(f"alert_review {args.action}")
    cameras = ctx.services.require(ctx.services.cameras, "cameras")
    review = cameras.review()
    camera = args.camera or None
    group_id = args.group_id or None
    by = ctx.identity.agent
    hours = args.hours
    if args.action == "list":
        return _window(review, hours, camera)
    if args.action == "classify":
        report = cameras.classify(hours=hours, camera=camera, group_id=group_id)
        out = _window(review, hours, camera)
        out.classified = ClassifiedOut(
            model=report.model, groups=report.groups, classified=report.classified, flagged=report.flagged,
            failed=report.failed, errors=report.errors,
        )  # fmt: skip
        out.message = f"{report.classified} of {report.groups} group(s) classified, {report.flagged} flagged"
        return out
    if args.action == "acknowledge":
        if group_id is None:
            review.window(hours, camera)  # an unknown camera is reported first
            raise InvalidInput("acknowledge needs a group_id; list the groups with action=list")
        acked = review.acknowledge(group_id, by=by)
        return _single(review, hours, acked, f"review group {group_id} acknowledged by {by}")
    if args.action == "suppress":
        done = suppress(
            review, by=by, group_id=group_id, pattern=args.pattern or None, camera=camera,
            expires_days=args.expires_days or None, confirm=args.confirm, hours=hours,
        )  # fmt: skip
        out = _single(review, hours, done.group, done.message)
        out.preview = _preview(done.preview)
        out.suppressions = [_suppression(done.suppression)]
        return out
    undone, released, message = unsuppress(
        review, by=by, group_id=group_id, pattern=args.pattern or None, camera=camera, hours=hours
    )
    out = _single(review, hours, released, message)
    out.suppressions = [_suppression(s) for s in undone]
    return out


def _window(review: AlertReview, hours: int, camera: str | None) -> AlertReviewOutput:
    window = review.window(hours, camera)
    return AlertReviewOutput(
        hours=hours, alerts=window.alerts, states=window.states, groups=[_group(g) for g in window.groups],
        unverified=[
            UnverifiedOut(camera=u.camera, zone=u.zone, hour=_iso(u.hour) or "", count=u.count, alert_ids=u.alert_ids)
            for u in window.unverified
        ],
    )  # fmt: skip


def _single(review: AlertReview, hours: int, group: ReviewGroup | None, message: str) -> AlertReviewOutput:
    window = review.window(hours)
    groups = [_group(group)] if group is not None else []
    return AlertReviewOutput(
        hours=hours, alerts=window.alerts, states=window.states, groups=groups, message=message
    )


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _group(g: ReviewGroup) -> GroupOut:
    v = g.verdict
    return GroupOut(
        id=g.id, camera=g.camera, description=g.description, count=g.count, first_seen=_iso(g.first_seen),
        last_seen=_iso(g.last_seen), state=g.state, note=g.note,
        verdict=VerdictOut(label=v.label, confidence=v.confidence, reason=v.reason,
                           suggested_pattern=v.suggested_pattern, model=v.model) if v else None,
        decided_by=g.decided_by, alert_ids=g.alert_ids,
        suppression=_suppression(g.suppression) if g.suppression else None,
    )  # fmt: skip


def _suppression(s: Suppression) -> SuppressionOut:
    return SuppressionOut(
        id=s.id, camera=s.camera, pattern=s.pattern, expires=_iso(s.expires_at), hits=s.hits,
        last_hit=_iso(s.last_hit_at), active=s.active(time.time()),
    )  # fmt: skip


def _preview(p: SuppressionPreview) -> PreviewOut:
    return PreviewOut(
        matched_alerts=p.matched_alerts, window_alerts=p.window_alerts, matched_groups=p.matched_groups
    )


TOOLS = [
    ToolSpec(
        name="alert_review",
        description="Alerts grouped by description, with review-model verdicts; admin decides.",
        input_model=AlertReviewInput,
        output_model=AlertReviewOutput,
        handler=alert_review,
        read_only=False,
    )
]
