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
store and the notification dispatch.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from homelab_hub.cameras.alerts import AlertRecord, AlertStore
from homelab_hub.cameras.motion import Box, MotionDetector
from homelab_hub.cameras.vision import VisionClassifier
from homelab_hub.cameras.zones import ZoneStore
from homelab_hub.errors import HubError

if TYPE_CHECKING:
    from homelab_hub.cameras.config import CameraConfig
    from homelab_hub.cameras.settings import ZoneConfig
    from homelab_hub.config import HubConfig
    from homelab_hub.notify.mqtt import MqttPublisher
    from homelab_hub.store import Database

log = logging.getLogger(__name__)

Decision = Literal["clear", "recalibrated", "alert", "unverified", "model_clear", "suppressed", "cooldown"]


@dataclass
class SampleResult:
    decision: Decision
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    model_called: bool = False
    full_frame: bool = False
    description: str = ""
    model_latency_s: float | None = None
    alert_id: int | None = None


@dataclass
class PipelineStats:
    """Counters for health, the watchdog and the replay summary."""

    samples: int = 0
    motion_samples: int = 0
    recalibrations: int = 0
    model_calls: int = 0
    model_failures: int = 0
    alerts: int = 0
    unverified: int = 0
    last_decision: str = ""
    last_model_latency_s: float | None = None

    def public(self) -> dict[str, Any]:
        return dict(self.__dict__)


class AlertNotifier:
    """Sends alerts to Apprise from its own thread (a slow phone gateway must not delay the
    next sample) and to MQTT directly (paho never blocks)."""

    def __init__(self, apprise: Any, mqtt: MqttPublisher | None) -> None:
        self.apprise = apprise
        self.mqtt = mqtt
        self._queue: queue.Queue[tuple[str, str, list[str]] | None] = queue.Queue(maxsize=100)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.sent = 0

    def send(self, record: AlertRecord) -> None:
        if self.mqtt is not None:
            jpeg = _read(record.image_path)
            self.mqtt.alert(
                record.camera, jpeg=jpeg, description=record.description, ts=record.ts, alert_id=record.id
            )
        if self.apprise is None or not getattr(self.apprise, "enabled", False):
            return
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.ts))
        title = f"Camera {record.camera}: alert"
        body = f"{record.description or 'Something is there.'}\n({record.camera}, {when}, alert {record.id})"
        self._ensure_thread()
        try:
            self._queue.put_nowait((title, body, [record.image_path] if record.image_path else []))
        except queue.Full:
            log.error(
                "notify: %d alerts are waiting for Apprise; dropping the alert of %s", 100, record.camera
            )

    def motion(self, camera: str, active: bool) -> None:
        if self.mqtt is not None:
            self.mqtt.motion(camera, active)

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=30)

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="alert-notifier", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            title, body, attachments = item
            if self.apprise.send(title, body, attachments=attachments):
                self.sent += 1


class PipelineDeps:
    """Shared by every camera's pipeline: alert store, classifier, zones, notifications."""

    def __init__(
        self,
        *,
        alerts: AlertStore,
        zones: ZoneStore,
        classifier: VisionClassifier | None,
        notifier: AlertNotifier,
        owned_mqtt: MqttPublisher | None = None,
    ) -> None:
        self.alerts = alerts
        self.zones = zones
        self.classifier = classifier
        self.notifier = notifier
        self._owned_mqtt = owned_mqtt

    @classmethod
    def from_config(cls, config: HubConfig, db: Database, notifier: Any) -> PipelineDeps:
        """Build from the hub config. ``notifier`` is the Apprise notifier (or a bus with an
        ``mqtt`` attribute); when it carries no MQTT publisher and [notify.mqtt] is enabled,
        one is started here."""
        mqtt = getattr(notifier, "mqtt", None)
        owned = None
        if mqtt is None and config.notify.mqtt.enabled:
            from homelab_hub.notify.mqtt import MqttPublisher

            mqtt = owned = MqttPublisher(config.notify.mqtt)
            owned.start()
        classifier = VisionClassifier(config.vision) if config.vision.enabled else None
        return cls(
            alerts=AlertStore(db),
            zones=ZoneStore(db),
            classifier=classifier,
            notifier=AlertNotifier(notifier, mqtt),
            owned_mqtt=owned,
        )

    def vision_health(self) -> dict[str, Any]:
        return self.classifier.health() if self.classifier else {"enabled": False}

    def close(self) -> None:
        self.notifier.close()
        if self.classifier is not None:
            self.classifier.close()
        if self._owned_mqtt is not None:
            self._owned_mqtt.stop()


class CameraPipeline:
    def __init__(self, name: str, camera: CameraConfig, deps: PipelineDeps | None) -> None:
        self.name = name
        self.camera = camera
        self.deps = deps
        zones = deps.zones.load(name, list(camera.zones)).zones if deps else list(camera.zones)
        self.detector = MotionDetector(camera.motion, zones)
        self.stats = PipelineStats()
        self._last_full: float | None = None
        if deps is not None and deps.notifier.mqtt is not None:
            deps.notifier.mqtt.add_camera(name)

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
        self.stats.last_decision = result.decision
        return result

    def _decide(self, frame: np.ndarray, ts: float) -> SampleResult:
        motion = self.detector.detect(frame)
        if motion.kind == "recalibrated":
            self.stats.recalibrations += 1
            log.info(
                "camera %s: %.0f%% of the frame changed; recalibrated", self.name, motion.changed_ratio * 100
            )
            return SampleResult("recalibrated")
        moving = motion.kind == "motion"
        if moving:
            self.stats.motion_samples += 1
        if self.deps is not None:
            self.deps.notifier.motion(self.name, moving)
        if self._last_full is None:
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
            log.warning(
                "camera %s: vision model failed (%s); motion recorded unverified", self.name, exc.message
            )
            result = self._unverified(frame, ts, motion.boxes, full_due, exc.message)
            result.model_called = True
            return result
        self.stats.last_model_latency_s = answer.latency_s
        verdict = answer.verdict
        base = dict(
            boxes=motion.boxes, model_called=True, full_frame=full_due,
            description=verdict.description, model_latency_s=answer.latency_s,
        )  # fmt: skip
        if verdict.verdict == "CLEAR":
            log.debug("camera %s: model says CLEAR (%s): %s", self.name, verdict.reason, verdict.description)
            return SampleResult("model_clear", **base)  # type: ignore[arg-type]
        return self._alert(
            frame, ts, motion.boxes, full_due, answer.model, answer.latency_s, verdict.description, base
        )

    def _alert(
        self, frame: np.ndarray, ts: float, boxes: list[Box], full: bool, model: str, latency: float,
        description: str, base: dict[str, Any],
    ) -> SampleResult:  # fmt: skip
        assert self.deps is not None
        cfg = self.camera.alerts
        pattern = self.deps.alerts.suppressed_by(self.name, description, cfg.suppress)
        if pattern is not None:
            log.info("camera %s: alert suppressed by %r: %s", self.name, pattern, description)
            return SampleResult("suppressed", **base)
        if self.deps.alerts.in_cooldown(self.name, ts, cfg.cooldown_s):
            return SampleResult("cooldown", **base)
        self.stats.alerts += 1
        try:
            record = self.deps.alerts.record(
                camera=self.name, ts=ts, frame_bgr=frame, boxes=boxes, description=description, verdict="ALERT",
                model=model, latency_s=latency, full_frame=full, config=cfg,
            )  # fmt: skip
        except (HubError, OSError) as exc:
            log.error("CONFIRMED ALERT camera=%s not stored (%s): %s", self.name, exc, description)
            return SampleResult("alert", **base)
        if cfg.notify:
            self.deps.notifier.send(record)
        return SampleResult("alert", alert_id=record.id, **base)

    def _unverified(
        self, frame: np.ndarray, ts: float, boxes: list[Box], full: bool, why: str
    ) -> SampleResult:
        if not boxes:  # a full-frame check that could not run: nothing moved, nothing to record
            return SampleResult("unverified", full_frame=full, description=why)
        self.stats.unverified += 1
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


def make_pipeline(name: str, camera: CameraConfig, deps: PipelineDeps | None) -> CameraPipeline:
    """deps=None gives a motion-only pipeline (replay without a database or model)."""
    return CameraPipeline(name, camera, deps)


def _crop(frame: np.ndarray, box: Box) -> np.ndarray:
    x, y, w, h = box
    return frame[y : y + h, x : x + w]


def _read(path: str | None) -> bytes | None:
    if not path:
        return None
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None
