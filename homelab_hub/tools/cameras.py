"""camera_list and camera_snapshot: what the cameras see, for an agent."""

from __future__ import annotations

import datetime as dt
import time

from pydantic import Field

from homelab_hub.cameras.service import CameraService
from homelab_hub.cameras.stream.manager import CameraStatus
from homelab_hub.tools.registry import ToolContext, ToolImage, ToolInput, ToolOutput, ToolSpec


class CameraListInput(ToolInput):
    pass


class CameraInfo(ToolOutput):
    name: str = Field(..., description="Camera name from the config.")
    enabled: bool = Field(..., description="False: configured but not read.")
    state: str = Field(
        ...,
        description="ok | connecting | offline | stale | starting | backoff | crash-looping | stopped | disabled.",
    )
    reason: str = Field("", description="Why, e.g. 'connection refused (rtsp://host:554)'; empty when ok.")
    url: str = Field(..., description="Main stream URL, password hidden.")
    detect_url: str | None = Field(None, description="Low-resolution stream decoded for detection, if any.")
    interval_s: float = Field(..., description="Seconds between analysed samples.")
    last_frame_age_s: float | None = Field(
        None, description="Age of the newest decoded frame; null before the first."
    )
    sampled_fps: float = Field(..., description="Samples analysed per second over the last minute or so.")
    reconnects: int = Field(..., description="Times the stream was reopened since the hub started.")
    model_latency_ms: float | None = Field(None, description="Latency of the last vision-model call.")
    samples: int = Field(..., description="Samples analysed since the hub started.")
    model_calls: int = Field(..., description="Samples that went to the vision model.")
    alerts: int = Field(..., description="Alerts raised since the hub started.")
    last_decision: str | None = Field(None, description="Decision on the last sample (clear, alert, …).")
    last_error: str = Field("", description="Last stream error, if any.")
    audio_codec: str | None = Field(
        None, description="Microphone codec (aac, pcm_alaw…); null: audio off or none."
    )
    audio_level_dbfs: float | None = Field(None, description="Microphone level over the last second (dBFS).")
    last_transcript_at: float | None = Field(None, description="When speech was last transcribed (epoch s).")
    host: str = Field("hub", description="Who runs it: 'hub', or the name of the `homelab-hub worker`.")
    link: str = Field(
        "local", description="'local', or the worker's link: 'connected', 'unreachable since 14:02:11'."
    )


class CameraList(ToolOutput):
    cameras: list[CameraInfo] = Field(..., description="Every configured camera, by name.")


class CameraSnapshotInput(ToolInput):
    camera: str = Field(..., min_length=1, max_length=100, description="Camera name.")
    annotated: bool = Field(False, description="Draw the last motion boxes.")


class CameraSnapshot(ToolOutput):
    camera: str = Field(..., description="Camera name.")
    image: ToolImage = Field(..., description="The latest frame as JPEG.")
    ts: float = Field(..., description="When the frame was decoded (epoch seconds).")
    taken_at: str = Field(..., description="Same time, ISO 8601 UTC.")
    age_s: float = Field(..., description="Seconds between the frame and this answer.")
    width: int = Field(..., description="Image width (px).")
    height: int = Field(..., description="Image height (px).")
    state: str = Field(..., description="The camera's state (see camera_list).")
    boxes: list[tuple[int, int, int, int]] = Field(
        default_factory=list, description="Motion boxes drawn (x, y, w, h in image pixels), when annotated."
    )


def _manager(ctx: ToolContext) -> CameraService:
    return ctx.services.require(ctx.services.cameras, "cameras")


def camera_list(ctx: ToolContext, args: CameraListInput) -> CameraList:
    manager = _manager(ctx)
    return CameraList(cameras=[_info(manager.status(name)) for name in manager.names()])


def _info(status: CameraStatus) -> CameraInfo:
    stats = status.stats
    return CameraInfo(
        name=status.name,
        enabled=status.enabled,
        state=status.state,
        reason=status.reason,
        url=status.url,
        detect_url=status.detect_url,
        interval_s=status.interval_s,
        last_frame_age_s=stats.last_frame_age_s,
        sampled_fps=stats.sampled_fps,
        reconnects=stats.reconnects,
        model_latency_ms=stats.model_latency_ms,
        samples=stats.samples,
        model_calls=stats.model_calls,
        alerts=stats.alerts,
        last_decision=stats.last_decision,
        last_error=stats.last_error,
        audio_codec=stats.audio_codec,
        audio_level_dbfs=stats.audio_level_dbfs,
        last_transcript_at=stats.last_transcript_ts,
        host=status.host or "hub",
        link=status.link,
    )


def camera_snapshot(ctx: ToolContext, args: CameraSnapshotInput) -> CameraSnapshot:
    """Raises NotFound (unknown camera, with the known names), Unavailable (no frame yet)."""
    manager = _manager(ctx)
    shot = manager.snapshot_jpeg(args.camera, annotated=args.annotated)
    return CameraSnapshot(
        camera=args.camera,
        image=ToolImage.from_bytes(shot.jpeg),
        ts=shot.ts,
        taken_at=dt.datetime.fromtimestamp(shot.ts, dt.UTC).isoformat(timespec="seconds"),
        age_s=round(max(0.0, time.time() - shot.ts), 2),
        width=shot.width,
        height=shot.height,
        state=manager.status(args.camera).state,
        boxes=shot.boxes,
    )


TOOLS = [
    ToolSpec(
        name="camera_list",
        description="Cameras: stream state, frame age, sampled fps, reconnects, model latency, audio.",
        input_model=CameraListInput,
        output_model=CameraList,
        handler=camera_list,
        read_only=True,
    ),
    ToolSpec(
        name="camera_snapshot",
        description="A camera's latest frame as JPEG, with its time and state.",
        input_model=CameraSnapshotInput,
        output_model=CameraSnapshot,
        handler=camera_snapshot,
        read_only=True,
    ),
]
