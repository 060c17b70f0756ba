"""All cameras of the hub: one supervised worker each, reloadable one camera at a time.

The manager keeps a ``CameraRuntime`` per configured camera (disabled ones included, so their
zones can still be edited) and registers a ``CameraWorker`` factory for each enabled one with
the supervisor as ``camera:NAME``. ``reload`` compares the new camera sections with the old:
only cameras that were added, changed or removed are touched. A camera with
``audio.enabled`` gets an `AudioSink` feeding the hub's one `Transcriber` (when the model is
there; without it the camera reads video only).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

import numpy as np

from homelab_hub.cameras.audio.sink import AudioSink
from homelab_hub.cameras.detect.motion import Box
from homelab_hub.cameras.detect.pipeline import CameraPipeline, PipelineDeps, SampleResult
from homelab_hub.cameras.settings import CameraConfig
from homelab_hub.cameras.stream.live import LiveFeed, LiveHub
from homelab_hub.cameras.stream.reasons import error_reason
from homelab_hub.cameras.stream.worker import CameraRuntime, CameraWorker, LastSample, StreamStats
from homelab_hub.errors import NotFound, Unavailable
from homelab_hub.health import ComponentHealth
from homelab_hub.lazy import lazy_module
from homelab_hub.redact import redact_url

cv2 = lazy_module("cv2")

if TYPE_CHECKING:
    from homelab_hub.cameras.audio.transcriber import Transcriber
    from homelab_hub.cameras.stream.reader import FrameReader
    from homelab_hub.supervisor import Supervisor, WorkerStateName

log = logging.getLogger(__name__)

CameraState = Literal[
    "ok", "connecting", "offline", "stale", "starting", "backoff", "crash-looping", "stopped", "disabled"
]
# Keyframe mode decodes only when asked: a snapshot asks for a fresh frame when the latest is
# older than this (the next keyframe, typically within a second or two).
_SNAPSHOT_MAX_AGE_S = 2.0
PipelineFactory = Callable[[str, CameraConfig, PipelineDeps | None], CameraPipeline]


class RemoteLinkState(Protocol):
    @property
    def reachable(self) -> bool: ...

    @property
    def summary(self) -> str: ...

    def reason(self, worker: str) -> str: ...


class RemoteFrame(Protocol):
    @property
    def jpeg(self) -> bytes: ...

    @property
    def ts(self) -> float: ...

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    @property
    def boxes(self) -> list[Box]: ...


class RemoteRunner(Protocol):
    """Cameras run by `homelab-hub worker`s (the hub's `RemoteCameras`, over its broker): what
    the manager asks of it for a camera whose section says ``host = WORKER``."""

    def link_state(self, worker: str) -> RemoteLinkState: ...

    def camera_state(self, camera: str, worker: str) -> dict[str, Any] | None: ...

    def snapshot(
        self, camera: str, worker: str, *, annotated: bool = False, quality: int = 85
    ) -> RemoteFrame: ...

    def feed(self, camera: str, worker: str, width: int) -> LiveFeed: ...

    def zones_changed(self, camera: str) -> None: ...


@dataclass
class ReloadResult:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CameraStatus:
    """One camera as camera_list and /api/health show it. URLs and errors are redacted."""

    name: str
    state: CameraState
    reason: str  # why, for a person ("connection refused (rtsp://driveway:554)"); "" when ok
    enabled: bool
    url: str  # the main stream
    detect_url: str | None
    interval_s: float
    stats: StreamStats
    host: str | None = None  # the worker running it; None: this hub
    link: str = "local"  # "local", or the worker's link: "connected", "unreachable since 14:02:11"

    @property
    def summary(self) -> str:
        """The state with its reason, as every page and tool shows it: ``offline: auth failed (…)``."""
        return f"{self.state}: {self.reason}" if self.reason else self.state

    def public(self) -> dict[str, Any]:
        """Flat, as /api/health has always shown a camera."""
        return {
            **self.stats.beat(),
            "state": self.state,
            "reason": self.reason,
            "summary": self.summary,
            "enabled": self.enabled,
            "url": self.url,
            "detect_url": self.detect_url,
            "interval_s": self.interval_s,
            "host": self.host or "hub",
            "link": self.link,
        }


@dataclass(frozen=True)
class Snapshot:
    jpeg: bytes
    ts: float
    width: int
    height: int
    boxes: list[Box]


class CameraManager:
    def __init__(
        self,
        cameras: dict[str, CameraConfig],
        *,
        deps: PipelineDeps | None,
        supervisor: Supervisor | None,
        pipeline_factory: PipelineFactory = CameraPipeline,
        transcriber: Transcriber | None = None,
        remote: RemoteRunner | None = None,
    ) -> None:
        self.deps = deps
        self.remote = remote
        self.supervisor = supervisor
        self.transcriber = transcriber
        self.audio_error = ""  # why cameras with audio.enabled read video only (no model)
        self._pipeline_factory = pipeline_factory
        self._lock = threading.RLock()
        self._runtimes: dict[str, CameraRuntime] = {}
        self.live = LiveHub(self.reader, feed=self._feed, describe=self._live_reason)
        self.reload(cameras)

    # -- lifecycle --------------------------------------------------------------------------
    def reload(self, cameras: dict[str, CameraConfig], deps: PipelineDeps | None = None) -> ReloadResult:
        """Apply a new set of camera sections; cameras whose section is unchanged keep running.
        New ``deps`` (another vision model, MQTT broker…) rebuild every camera's pipeline."""
        result = ReloadResult()
        with self._lock:
            if deps is not None and deps is not self.deps:
                self.deps = deps
                for runtime in self._runtimes.values():
                    runtime.stale = True
            for name in sorted(set(self._runtimes) - set(cameras)):
                self._drop(name)
                result.removed.append(name)
            for name, camera in cameras.items():
                old = self._runtimes.get(name)
                if old is not None and old.camera == camera and not old.stale:
                    result.unchanged.append(name)
                    continue
                if old is not None:
                    self._drop(name)
                (result.changed if old is not None else result.added).append(name)
                self._add(name, camera)
        if result.added or result.changed or result.removed:
            log.info(
                "cameras reloaded: added %s, changed %s, removed %s",
                result.added,
                result.changed,
                result.removed,
            )
        return result

    def set_transcriber(self, transcriber: Transcriber | None) -> None:
        """Use another transcriber (or none) from the next `reload` on: cameras with audio are
        restarted by it, the others keep running."""
        with self._lock:
            self.transcriber = transcriber
            for runtime in self._runtimes.values():
                if runtime.camera.audio.enabled:
                    runtime.stale = True

    def close(self) -> None:
        """Stop the live encoders and every camera worker (each closes its own stream)."""
        self.live.close()
        with self._lock:
            for name in list(self._runtimes):
                self._drop(name)

    def _add(self, name: str, camera: CameraConfig) -> None:
        if camera.host:
            # Run by its worker; here only what pages and tools read of it (zones, size).
            self._runtimes[name] = CameraRuntime(name, camera, self._pipeline_factory(name, camera, None))
            return
        sink = None
        if camera.audio.enabled and camera.enabled and self.transcriber is not None:
            sink = AudioSink(name, camera.audio, self.transcriber.submit)
            self.transcriber.attach(sink, camera.alerts)
        runtime = CameraRuntime(name, camera, self._pipeline_factory(name, camera, self.deps), audio=sink)
        self._runtimes[name] = runtime
        if camera.enabled and self.supervisor is not None:
            self.supervisor.add(f"camera:{name}", lambda: CameraWorker(runtime), heartbeat_timeout=None)

    def _drop(self, name: str) -> None:
        runtime = self._runtimes.pop(name, None)
        if runtime is not None and runtime.camera.host:
            return
        if runtime is not None and runtime.audio is not None and self.transcriber is not None:
            self.transcriber.detach(runtime.audio)
        if self.supervisor is not None and not self.supervisor.remove(f"camera:{name}"):
            log.warning(
                "camera %s: worker did not stop in time; its reader finishes on its own timeout", name
            )

    # -- queries ------------------------------------------------------------------------------
    def _live_reason(self, name: str) -> str:
        """What the live grid shows over a camera without frames: its summary unless it is ok."""
        status = self.status(name)
        return "" if status.state == "ok" else status.summary

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._runtimes)

    def host(self, name: str) -> str | None:
        """The worker running the camera; None when this hub runs it. Raises NotFound."""
        return self.runtime(name).camera.host

    def _feed(self, name: str, width: int) -> LiveFeed | None:
        host = self.host(name)
        if host is None or self.remote is None:
            return None
        return self.remote.feed(name, host, width)

    def zones_saved(self, name: str) -> None:
        """Zones of the camera were saved: a worker running it gets them now."""
        if self.remote is not None and self.host(name):
            self.remote.zones_changed(name)

    def runtime(self, name: str) -> CameraRuntime:
        """Raises NotFound naming the known cameras."""
        with self._lock:
            runtime = self._runtimes.get(name)
            known = sorted(self._runtimes)
        if runtime is None:
            listed = ", ".join(repr(n) for n in known) if known else "none are configured"
            raise NotFound(f"unknown camera {name!r}; known cameras: {listed}")
        return runtime

    def reader(self, name: str) -> FrameReader | None:
        """The camera's current reader (None between workers). Raises NotFound."""
        return self.runtime(name).reader()

    def pipeline(self, name: str) -> CameraPipeline:
        """The camera's live pipeline (zones are applied to it). Raises NotFound."""
        return self.runtime(name).pipeline

    def status(self, name: str) -> CameraStatus:
        """Stream and sampling state of one camera. Raises NotFound."""
        runtime = self.runtime(name)
        camera = runtime.camera
        if camera.host:
            return self._remote_status(runtime)
        stats = runtime.stats()
        state: CameraState
        reason = ""
        if not camera.enabled:
            state, reason = "disabled", "enabled = false in the config"
        elif (
            self.supervisor is not None and (ws := self.supervisor.states().get(f"camera:{name}")) is not None
        ):
            state, reason = camera_state(ws.state, stats, camera, ws.last_error)
        else:
            state = "stopped"
        return CameraStatus(
            name=name,
            state=state,
            reason=reason,
            enabled=camera.enabled,
            url=redact_url(camera.url),
            detect_url=redact_url(camera.detect_url) if camera.detect_url else None,
            interval_s=camera.interval_s,
            stats=stats,
        )

    def _remote_status(self, runtime: CameraRuntime) -> CameraStatus:
        camera, host = runtime.camera, runtime.camera.host
        assert host is not None
        stats = StreamStats(
            runtime.name,
            "stopped",
            redact_url(camera.sample_url),
            None,
            0.0,
            0,
            None,
            None,
            0,
            0,
            0,
            0,
            None,
            "",
        )
        state: CameraState
        if not camera.enabled:
            state, reason, link = "disabled", "enabled = false in the config", "-"
        elif self.remote is None:
            state, reason, link = (
                "offline",
                f"runs on worker {host}, but this hub has no [broker] host",
                "none",
            )
        else:
            link_state = self.remote.link_state(host)
            link = link_state.summary
            reported = self.remote.camera_state(runtime.name, host)
            if reported is not None:
                stats = _remote_stats(runtime.name, reported, stats)
                frame, boxes = reported.get("frame"), reported.get("boxes")
                if isinstance(frame, list) and len(frame) == 2:
                    shape = (int(frame[1]), int(frame[0]), 3)
                    box_list: list[Box] = [
                        (int(b[0]), int(b[1]), int(b[2]), int(b[3])) for b in boxes or [] if len(b) == 4
                    ]
                    sample_ts = float(reported.get("sample_ts") or time.time())
                    before = runtime.last_sample
                    runtime.last_sample = LastSample(sample_ts, SampleResult("clear", boxes=box_list), shape)
                    if box_list and (before is None or sample_ts > before.ts):
                        # The zone editor's heat map, from the samples the worker reports (one
                        # per state message: a sparser picture than a local camera's).
                        runtime.pipeline.activity.add(box_list, shape[1], shape[0], sample_ts)
            if not link_state.reachable:
                state, reason = "offline", link_state.reason(host)
            elif reported is None:
                state, reason = "starting", f"waiting for worker {host} to start it"
            else:
                state = reported.get("state", "offline")
                if state not in CAMERA_STATES:
                    state = "offline"
                reason = str(reported.get("reason") or "")
        return CameraStatus(
            name=runtime.name, state=state, reason=reason, enabled=camera.enabled, url=redact_url(camera.url),
            detect_url=redact_url(camera.detect_url) if camera.detect_url else None, interval_s=camera.interval_s,
            stats=stats, host=host, link=link,
        )  # fmt: skip

    def _remote_frame(self, name: str, host: str, annotated: bool, quality: int) -> RemoteFrame:
        if self.remote is None:
            raise Unavailable(f"camera {name!r} runs on worker {host}, but this hub has no [broker] host")
        return self.remote.snapshot(name, host, annotated=annotated, quality=quality)

    def latest_frame(self, name: str, max_age_s: float | None = None) -> tuple[np.ndarray, float]:
        """The newest decoded frame and its time; with ``max_age_s`` an older one is refreshed
        first (a few seconds at most). Raises NotFound, Unavailable (no frame yet)."""
        runtime = self.runtime(name)
        if runtime.camera.host:
            sent = self._remote_frame(name, runtime.camera.host, False, 95)
            frame = cv2.imdecode(np.frombuffer(sent.jpeg, np.uint8), cv2.IMREAD_COLOR)
            if frame is None:
                raise Unavailable(f"camera {name!r}: its worker sent a frame that does not decode")
            return frame, sent.ts
        got = runtime.latest(max_age_s)
        if got is None:
            status = runtime.reader_status()
            why = (
                "it is disabled in the config"
                if not runtime.camera.enabled
                else "no frame has been decoded yet"
            )
            if status is not None and status.last_error:
                why += f"; last error: {status.last_error}"
            raise Unavailable(f"camera {name!r} has no frame: {why}")
        return got

    def snapshot_jpeg(self, name: str, annotated: bool = False, *, quality: int = 85) -> Snapshot:
        """The latest frame as JPEG, optionally with the last sample's motion boxes drawn.
        Raises NotFound, Unavailable."""
        host = self.host(name)
        if host:
            got = self._remote_frame(name, host, annotated, quality)
            return Snapshot(got.jpeg, got.ts, got.width, got.height, list(got.boxes))
        frame, ts = self.latest_frame(name, max_age_s=_SNAPSHOT_MAX_AGE_S)
        boxes: list[Box] = []
        if annotated:
            last = self.runtime(name).last_sample
            if last is not None and last.frame_shape == frame.shape:
                boxes = list(last.result.boxes)
            frame = _draw_boxes(frame, boxes, label=f"{name} {time.strftime('%H:%M:%S', time.localtime(ts))}")
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise Unavailable(f"camera {name!r}: the frame could not be encoded as JPEG")
        return Snapshot(buf.tobytes(), ts, frame.shape[1], frame.shape[0], boxes)

    def health(self) -> ComponentHealth:
        """The cameras component of /api/health; data holds each camera's `CameraStatus`."""
        names = self.names()
        if not names:
            return ComponentHealth(state="disabled", detail="no cameras configured")
        statuses = {name: self.status(name) for name in names}
        data = {name: status.public() for name, status in statuses.items()}
        enabled = [n for n in names if statuses[n].enabled]
        bad = [n for n in enabled if statuses[n].state != "ok"]
        if not enabled:
            return ComponentHealth(state="disabled", detail="every camera is disabled", data=data)
        if not bad:
            return ComponentHealth(state="ok", detail=f"{len(enabled)} camera(s) streaming", data=data)
        detail = "; ".join(f"{n}: {statuses[n].summary}" for n in bad)
        return ComponentHealth(
            state="down" if len(bad) == len(enabled) else "degraded", detail=detail, data=data
        )


CAMERA_STATES = frozenset(get_args(CameraState))


def _remote_stats(name: str, reported: dict[str, Any], fallback: StreamStats) -> StreamStats:
    """A worker's report of its camera as this hub's `StreamStats` (unknown keys ignored)."""
    known = {f: reported[f] for f in StreamStats.__dataclass_fields__ if f in reported}
    try:
        return StreamStats(**{**fallback.beat(), **known, "camera": name})
    except TypeError:
        return fallback


def camera_state(
    worker_state: WorkerStateName, stats: StreamStats, camera: CameraConfig, worker_error: str = ""
) -> tuple[CameraState, str]:
    """The one place a camera's state and its reason for a person are decided, from its
    worker's state and its stream's counters (URLs in them already redacted)."""
    if worker_state != "running":  # starting, backoff, crash-looping, stopped
        reason = "" if worker_state == "starting" else error_reason(worker_error, stats.url)
        return worker_state, reason
    age = stats.last_frame_age_s
    if age is None:
        if stats.last_error:
            return "offline", error_reason(stats.last_error, stats.url)
        return "connecting", stats.url
    if age > camera.reader.stall_timeout_s + camera.interval_s:
        why = f"no frames for {age:.0f} s"
        if stats.last_error:
            why += f"; {error_reason(stats.last_error, stats.url)}"
        return "stale", why
    return "ok", ""


def _draw_boxes(frame: np.ndarray, boxes: list[Box], *, label: str) -> np.ndarray:
    out = frame.copy()
    thickness = max(2, frame.shape[1] // 400)
    for x, y, w, h in boxes:
        cv2.rectangle(out, (x, y), (x + w, y + h), (0, 0, 255), thickness)
    scale = max(0.4, frame.shape[1] / 1600)
    cv2.putText(
        out, label, (8, int(24 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 255, 255), thickness
    )
    return out
