"""Alerts reach Apprise (a local HTTP receiver, through real Apprise) with the annotated image."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import cv2
import numpy as np

from homelab_hub.cameras.detect.pipeline import CameraPipeline, PipelineDeps
from homelab_hub.cameras.settings import AlertsConfig, CameraConfig
from homelab_hub.config import HubConfig
from homelab_hub.notify.apprise import AppriseNotifier
from homelab_hub.notify.bus import CameraAlert, NotificationBus
from homelab_hub.store import Database
from tests.fakes.ollama_vision import FakeOllamaVision
from tests.fakes.receiver import NotificationReceiver


def yard(with_object: bool) -> np.ndarray:
    img = np.full((360, 640, 3), (90, 140, 70), np.uint8)
    if with_object:
        img[150:250, 300:360] = (30, 30, 40)
    return img


def test_an_alert_reaches_apprise_with_the_annotated_image(tmp_path: Path, sqlite_db: Database) -> None:
    with FakeOllamaVision() as ollama, NotificationReceiver() as rx:
        bus = NotificationBus(AppriseNotifier([rx.apprise_url("json")]))
        deps = PipelineDeps.from_config(HubConfig(vision={"url": ollama.url}), sqlite_db, bus)
        cam = CameraConfig(url="rtsp://127.0.0.1/none", alerts=AlertsConfig(image_dir=tmp_path))
        pipeline = CameraPipeline("gate", cam, deps)
        now = time.time()
        pipeline.process(yard(False), now)
        result = pipeline.process(yard(True), now + 5)
        assert result.decision == "alert"
        msg = rx.wait_for(lambda r: "gate" in r.body.decode(errors="replace"), timeout=15)
        payload = msg.json()
        assert "person" in payload["message"]
        assert payload["title"] == "Camera gate: alert"
        attachment = payload["attachments"][0]
        assert attachment["mimetype"] == "image/jpeg"
        image = cv2.imdecode(
            np.frombuffer(base64.b64decode(attachment["base64"]), np.uint8), cv2.IMREAD_COLOR
        )
        assert image.shape == (360, 640, 3)
        b, g, r = (int(v) for v in image[result.boxes[0][1], result.boxes[0][0] + 5])
        assert r > 150
        assert g < 100  # the box is drawn on the frame
        deps.close()
        bus.stop()


def test_a_camera_with_notify_off_stores_the_alert_but_sends_nothing(
    tmp_path: Path, sqlite_db: Database
) -> None:
    with FakeOllamaVision() as ollama, NotificationReceiver() as rx:
        bus = NotificationBus(AppriseNotifier([rx.apprise_url("json")]))
        deps = PipelineDeps.from_config(HubConfig(vision={"url": ollama.url}), sqlite_db, bus)
        cam = CameraConfig(url="rtsp://127.0.0.1/none", alerts=AlertsConfig(image_dir=tmp_path, notify=False))
        pipeline = CameraPipeline("gate", cam, deps)
        pipeline.process(yard(False), time.time())
        assert pipeline.process(yard(True), time.time()).decision == "alert"
        deps.close()
        bus.stop()  # waits for the outbox thread: anything queued would have been sent
        assert rx.received == []
        assert len(deps.alerts.recent()) == 1


def test_an_unreachable_apprise_target_does_not_stop_sampling(tmp_path: Path, sqlite_db: Database) -> None:
    from tests.support import free_port

    with FakeOllamaVision() as ollama:
        bus = NotificationBus(AppriseNotifier([f"json://127.0.0.1:{free_port()}/notify"]))
        deps = PipelineDeps.from_config(HubConfig(vision={"url": ollama.url}), sqlite_db, bus)
        cam = CameraConfig(url="rtsp://127.0.0.1/none", alerts=AlertsConfig(image_dir=tmp_path, cooldown_s=0))
        pipeline = CameraPipeline("gate", cam, deps)
        frames = [yard(i % 2 == 1) for i in range(5)]
        decisions = [pipeline.process(f, time.time()).decision for f in frames]
        # The object comes and goes. The first time it leaves, the yard looks like the older of
        # the two samples again: its old place, not motion. Later the median still holds it,
        # so its empty place is shown to the model, which sees nothing there.
        assert decisions[1:] == ["alert", "clear", "alert", "model_clear"]
        assert len(deps.alerts.recent()) == 2
        deps.close()
        bus.stop()


def test_the_bus_sends_a_report_at_once_and_without_sinks_sends_nothing(tmp_path: Path) -> None:
    with NotificationReceiver() as rx:
        bus = NotificationBus(AppriseNotifier([rx.apprise_url("json")]))
        assert bus.send("Watchdog: gate restarted", "restarted after 3 failed checks")
        assert rx.received[0].json()["title"] == "Watchdog: gate restarted"
        bus.stop()
    quiet = NotificationBus()
    assert quiet.send("nobody listens", "body") is False
    quiet.camera_alert(CameraAlert("gate", "a fox", 0.0, 1, None))  # no sink: nothing to do, no error
    quiet.stop()
