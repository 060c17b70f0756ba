"""Per-sample decision pipeline: motion prefilter -> vision model -> alert.

One `CameraPipeline` per camera, called from that camera's worker thread with each sampled
frame. The decisions, cheapest first:

- ``recalibrated``: most of the frame changed (lights, IR switch): new reference, no model.
- ``clear``: no contour survived the filters and no full-frame check is due: no model.
- a model call, on the largest moving region's crop, or on the whole frame when the
  full-frame period is due (the parked car, the person standing still); its answer gives
  ``model_clear``, ``suppressed``, ``cooldown`` or ``alert``;
- ``unverified``: motion, but the model is down or disabled; recorded, never notified.

`PipelineDeps` holds what every camera shares: the alert store, the classifier, the zone
store and the notification bus. ``deps=None`` gives a motion-only pipeline (a replay without
a database or model).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

import numpy as np

from homelab_hub.cameras.alerts.store import AlertStore
from homelab_hub.cameras.detect.activity import MotionActivity
from homelab_hub.cameras.detect.motion import Box, MotionDetector
from homelab_hub.cameras.detect.vision import VisionClassifier, VisionHealth
from homelab_hub.cameras.zones.store import ZoneStore
from homelab_hub.errors import HubError
from homelab_hub.notify.bus import CameraAlert, NotificationBus

if TYPE_CHECKING:
    from homelab_hub.cameras.settings import CameraConfig, ZoneConfig
    from homelab_hub.config import HubConfig
    from homelab_hub.store import Database

log = logging.getLogger(__name__)

Decision = Literal["clear", "recalibrated", "alert", "unverified", "model_clear", "suppressed", "cooldown"]


@dataclass
class SampleResult:
    decision: Decision
    boxes: list[Box] = field(default_factory=list)
    model_called: bool = False
    full_frame: bool = False
    description: str = ""
    model_latency_s: float | None = None
    alert_id: int | None = None

    @property
    def motion(self) -> bool:
        """A motion sample: the motion detector found motion in this frame, and only then does
        a result carry boxes. A full-frame check of a still scene is not one, whatever the
        model said; neither is a recalibration. `PipelineStats` and the camera's runtime
        (health, watchdog) both count ``motion_samples`` by this."""
        return bool(self.boxes)


@dataclass
class PipelineStats:
    """Counters for health, the watchdog and the replay summary (``motion_samples``: see
    `SampleResult.motion`)."""

    samples: int = 0
    motion_samples: int = 0
    recalibrations: int = 0
    model_calls: int = 0
    model_failures: int = 0
    alerts: int = 0
    unverified: int = 0
    last_decision: str = ""
    last_model_latency_s: float | None = None


class PipelineDeps:
    """Shared by every camera's pipeline: alert store, classifier, zones, notifications."""

    def __init__(
        self,
        *,
        alerts: AlertStore,
        zones: ZoneStore,
        classifier: VisionClassifier | None,
        bus: NotificationBus,
    ) -> None:
        self.alerts = alerts
        self.zones = zones
        self.classifier = classifier
        self.bus = bus  # the hub's one bus: started, reconfigured and stopped by its owner

    @classmethod
    def from_config(
        cls, config: HubConfig, db: Database, bus: NotificationBus | None, *, alerts: AlertStore | None = None
    ) -> PipelineDeps:
        """Build from the hub config and the hub's notification bus (and the hub's alert store,
        whose suppression cache the review's decisions update; a new one without it).

        The bus is used, never built, started or stopped here: the notify component owns it
        (a reloaded [notify] replaces its sinks in place). Without one (tests, a replay),
        notifications go nowhere."""
        classifier = VisionClassifier(config.vision) if config.vision.enabled else None
        store = alerts if alerts is not None else AlertStore(db)
        return cls(alerts=store, zones=ZoneStore(db), classifier=classifier, bus=bus or NotificationBus())

    def vision_health(self) -> VisionHealth | None:
        """The shared model's numbers; None when [vision] is disabled."""
        return self.classifier.health() if self.classifier else None

    def close(self) -> None:
        if self.classifier is not None:
            self.classifier.close()


_UNVERIFIED_LOG_EVERY_S = 3600.0


class UnverifiedLog:
    """One WARNING per camera per hour for motion kept unverified (no model, or the model
    away), counting the events since the previous line, instead of one line per sample."""

    def __init__(self, camera: str, every_s: float = _UNVERIFIED_LOG_EVERY_S) -> None:
        self.camera = camera
        self.every_s = every_s
        self.count = 0  # events since the last line
        self.last_line: float | None = None

    def note(self, ts: float, why: str) -> None:
        """One more unverified event at ``ts`` (the frame's time); logs when an hour has
        passed since the last line (or at the first event)."""
        self.count += 1
        if self.last_line is not None and 0 <= ts - self.last_line < self.every_s:
            return
        log.warning(
            "camera %s: no vision model: %d motion events kept unverified (%s); next count in an hour",
            self.camera, self.count, why,
        )  # fmt: skip
        self.last_line, self.count = ts, 0


class CameraPipeline:
    def __init__(self, name: str, camera: CameraConfig, deps: PipelineDeps | None) -> None:
        self.name = name
        self.camera = camera
        self.deps = deps
        zones = deps.zones.load(name, list(camera.zones)).zones if deps else list(camera.zones)
        self.detector = MotionDetector(camera.motion, zones)
        self.stats = PipelineStats()
        self.activity = MotionActivity()  # the zone editor's underlay
        self._last_full: float | None = None
        self.unverified_log = UnverifiedLog(name)
        if deps is not None:
            deps.bus.add_camera(name)

    def stream_restarted(self) -> None:
        """The stream reconnected: the next frame starts a new motion baseline instead of
        being compared with one from before the gap."""
        self.detector.reset()

    def update_zones(self, zones: list[ZoneConfig]) -> None:
        """Apply new zones from the next sample on (thread-safe)."""
        self.detector.update_zones(zones)

    def process(self, frame: np.ndarray, ts: float) -> SampleResult:
        """Analyse one sampled BGR frame (blocking; called from the camera's worker thread).

        Raises ValueError for an array that is not an image; model and storage failures are
        logged and reported in the result, never raised.
        """
        result = self._decide(frame, ts)
        self.stats.samples += 1
        self.stats.motion_samples += result.motion
        self.stats.last_decision = result.decision
        return result

    def _decide(self, frame: np.ndarray, ts: float) -> SampleResult:
        motion = self.detector.detect(frame, ts)
        if motion.kind == "recalibrated":
            self.stats.recalibrations += 1
            log.info(
                "camera %s: %.0f%% of the frame changed; recalibrated", self.name, motion.changed_ratio * 100
            )
            return SampleResult("recalibrated")
        moving = motion.kind == "motion"
        if moving:
            self.activity.add(motion.boxes, frame.shape[1], frame.shape[0], ts)
        if self.deps is not None:
            self.deps.bus.camera_motion(self.name, moving)
        if self._last_full is None or ts < self._last_full:
            # A clock set back restarts the period instead of suspending full-frame checks
            # for the size of the step (frame times are the reader's wall clock).
            self._last_full = ts
        period = self.camera.motion.full_frame_period_s
        full_due = period > 0 and ts - self._last_full >= period
        if not moving and not full_due:
            return SampleResult("clear")
        if full_due:
            self._last_full = ts
        classifier = self.deps.classifier if self.deps else None
        if classifier is None:
            return self._unverified(frame, ts, motion.boxes, full_due, "no vision model configured")
        image = frame if full_due or motion.crop is None else _crop(frame, motion.crop)
        self.stats.model_calls += 1
        try:
            answer = classifier.classify(
                image,
                camera=self.name,
                model=self.camera.vision_model,
                prompt=self.camera.vision_prompt,
            )
        except HubError as exc:
            self.stats.model_failures += 1
            log.debug(
                "camera %s: vision model failed (%s); motion recorded unverified", self.name, exc.message
            )
            result = self._unverified(frame, ts, motion.boxes, full_due, exc.message)
            result.model_called = True
            return result
        self.stats.last_model_latency_s = answer.latency_s
        verdict = answer.verdict
        base = SampleResult(
            "model_clear", boxes=motion.boxes, model_called=True, full_frame=full_due,
            description=verdict.description, model_latency_s=answer.latency_s,
        )  # fmt: skip
        if verdict.verdict == "CLEAR":
            log.debug("camera %s: model says CLEAR (%s): %s", self.name, verdict.reason, verdict.description)
            return base
        return self._alert(
            frame, ts, motion.boxes, full_due, answer.model, answer.latency_s, verdict.description, base
        )

    def _alert(
        self, frame: np.ndarray, ts: float, boxes: list[Box], full: bool, model: str, latency: float,
        description: str, base: SampleResult,
    ) -> SampleResult:  # fmt: skip
        """The model saw something: suppressed, in cooldown, or a stored (and notified) alert.
        ``base`` is the model's answer as a result; each outcome is it with its decision."""
        assert self.deps is not None
        cfg = self.camera.alerts
        pattern = self.deps.alerts.suppressed_by(self.name, description, cfg.suppress)
        if pattern is not None:
            log.info("camera %s: alert suppressed by %r: %s", self.name, pattern, description)
            return replace(base, decision="suppressed")
        if self.deps.alerts.in_cooldown(self.name, ts, cfg.cooldown_s):
            return replace(base, decision="cooldown")
        self.stats.alerts += 1
        try:
            record = self.deps.alerts.record(
                camera=self.name, ts=ts, frame_bgr=frame, boxes=boxes, description=description, verdict="ALERT",
                model=model, latency_s=latency, full_frame=full, config=cfg,
            )  # fmt: skip
        except (HubError, OSError) as exc:
            log.error("CONFIRMED ALERT camera=%s not stored (%s): %s", self.name, exc, description)
            return replace(base, decision="alert")
        if cfg.notify:
            self.deps.bus.camera_alert(
                CameraAlert(record.camera, record.description, record.ts, record.id, record.image_path)
            )
        return replace(base, decision="alert", alert_id=record.id)

    def _unverified(
        self, frame: np.ndarray, ts: float, boxes: list[Box], full: bool, why: str
    ) -> SampleResult:
        if not boxes:  # a full-frame check that could not run: nothing moved, nothing to record
            return SampleResult("unverified", full_frame=full, description=why)
        self.stats.unverified += 1
        self.unverified_log.note(ts, why)
        result = SampleResult("unverified", boxes=boxes, full_frame=full, description=why)
        if self.deps is None or self.deps.alerts.in_cooldown(
            self.name, ts, self.camera.alerts.cooldown_s, "UNVERIFIED"
        ):
            return result
        model = self.deps.classifier.config.model if self.deps.classifier else ""
        try:
            record = self.deps.alerts.record(
                camera=self.name, ts=ts, frame_bgr=frame, boxes=boxes, description=f"unverified motion: {why}",
                verdict="UNVERIFIED", model=model, latency_s=None, full_frame=full, config=self.camera.alerts,
            )  # fmt: skip
            result.alert_id = record.id
        except (HubError, OSError) as exc:
            log.error("camera %s: unverified motion not stored: %s", self.name, exc)
        return result


def _crop(frame: np.ndarray, box: Box) -> np.ndarray:
    x, y, w, h = box
    return frame[y : y + h, x : x + w]
