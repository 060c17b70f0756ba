"""alerts_recent: the latest camera alerts, newest first."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import Field

from homelab_hub.errors import InvalidInput
from homelab_hub.tools.registry import ToolContext, ToolInput, ToolOutput, ToolSpec


class AlertsRecentInput(ToolInput):
    camera: str | None = Field(default=None, max_length=100, description="Only this camera.")
    since: float | str | None = Field(default=None, description="Epoch seconds or ISO time.")
    limit: int = Field(default=20, ge=1, le=200, description="Most alerts returned.")


class AlertOut(ToolOutput):
    id: int = Field(..., description="Alert id.")
    camera: str = Field(..., description="Camera name.")
    ts: float = Field(..., description="When the sample was taken (epoch seconds).")
    time: str = Field(..., description="The same time, ISO 8601 UTC.")
    verdict: str = Field(
        ..., description="ALERT (confirmed by the vision model) or UNVERIFIED (model unavailable)."
    )
    description: str = Field(..., description="What the vision model saw.")
    boxes: list[list[int]] = Field(..., description="Motion boxes [x, y, w, h] in full-frame pixels.")
    full_frame: bool = Field(..., description="True when the periodic full-frame check raised it.")
    model: str = Field(..., description="Vision model that judged it.")
    latency_s: float | None = Field(..., description="Model latency in seconds.")
    image_path: str | None = Field(
        ..., description="Annotated JPEG on the hub (None once retention removed it)."
    )
    review_status: str = Field(..., description="new, or what the review page set.")
    kind: str = Field("visual", description="visual, audio (speech near a visual alert) or audio_urgent.")
    transcript: str | None = Field(None, description="What was said (audio alerts).")
    clip_path: str | None = Field(None, description="The audio clip (Ogg Opus) on the hub (audio alerts).")


class AlertsRecentOutput(ToolOutput):
    alerts: list[AlertOut] = Field(..., description="Newest first.")
    count: int = Field(..., description="Number of alerts returned.")


def alerts_recent(ctx: ToolContext, args: AlertsRecentInput) -> AlertsRecentOutput:
    """Raises InvalidInput (bad since), NotFound (unknown camera), StorageUnavailable."""
    since = _parse_since(args.since)
    cameras = ctx.services.require(ctx.services.cameras, "cameras")
    alerts = cameras.recent_alerts(camera=args.camera, since=since, limit=args.limit)
    if args.camera and not alerts and not cameras.known(args.camera):
        raise cameras.unknown_camera(args.camera)
    out = [
        AlertOut(
            id=a.id,
            camera=a.camera,
            ts=a.ts,
            time=datetime.fromtimestamp(a.ts, UTC).isoformat(timespec="seconds"),
            verdict=a.verdict,
            description=a.description,
            boxes=[list(b) for b in a.boxes],
            full_frame=a.full_frame,
            model=a.model,
            latency_s=a.latency_s,
            image_path=a.image_path,
            review_status=a.review_status,
            kind=a.kind,
            transcript=a.transcript,
            clip_path=a.clip_path,
        )
        for a in alerts
    ]
    return AlertsRecentOutput(alerts=out, count=len(out))


def _parse_since(value: float | str | None) -> float | None:
    if value is None or isinstance(value, float | int):
        return None if value is None else float(value)
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(
            f"since {value!r} is neither epoch seconds nor an ISO time; e.g. 1764331200 or 2026-11-28T14:00:00Z"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


TOOLS = [
    ToolSpec(
        name="alerts_recent",
        description="Recent alerts, newest first: time, kind, what was seen or heard, boxes, image or clip.",
        input_model=AlertsRecentInput,
        output_model=AlertsRecentOutput,
        handler=alerts_recent,
        read_only=True,
    )
]
