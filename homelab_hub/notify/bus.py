"""The one notification bus of a hub, shared by the cameras and the watchdog.

The bus holds its sinks and fans events out to them: Apprise for people (phones, chat) and,
when configured, MQTT for Home Assistant. Speakers join the same way.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from homelab_hub.notify.apprise import AppriseNotifier
from homelab_hub.notify.config import NotifyConfig
from homelab_hub.notify.mqtt import MqttPublisher
from homelab_hub.notify.outbox import Message, Outbox


@dataclass(frozen=True)
class CameraAlert:
    """A confirmed camera alert, as the sinks need it."""

    camera: str
    description: str
    ts: float
    alert_id: int | None
    image_path: str | None


class NotificationBus:
    """``apprise`` and ``mqtt`` are the sinks, each None when not configured."""

    def __init__(self, apprise: AppriseNotifier | None = None, mqtt: MqttPublisher | None = None) -> None:
        self.apprise = apprise
        self.mqtt = mqtt
        self._outbox = Outbox(apprise) if apprise is not None and apprise.enabled else None

    @classmethod
    def from_config(cls, config: NotifyConfig) -> NotificationBus:
        """The sinks [notify] configures; call `start` to connect MQTT."""
        apprise = AppriseNotifier(config.apprise_urls) if config.apprise_urls else None
        mqtt = MqttPublisher(config.mqtt) if config.mqtt.enabled else None
        return cls(apprise, mqtt)

    @property
    def apprise_targets(self) -> int:
        return len(self.apprise.urls) if self.apprise is not None else 0

    @property
    def enabled(self) -> bool:
        """True when a message for people (`send`) has somewhere to go."""
        return self.apprise is not None and self.apprise.enabled

    def start(self) -> None:
        if self.mqtt is not None:
            self.mqtt.start()

    def stop(self) -> None:
        """Send what is queued for Apprise (30 s at most), then leave the broker."""
        if self._outbox is not None:
            self._outbox.close()
        if self.mqtt is not None:
            self.mqtt.stop()

    # -- events -----------------------------------------------------------------------------
    def send(self, title: str, body: str, attachments: Sequence[Path | str] = ()) -> bool:
        """A message for people, sent now (blocks on the network; the watchdog's reports).
        True when at least one Apprise target accepted it."""
        return self.apprise.send(title, body, attachments) if self.apprise is not None else False

    def add_camera(self, camera: str) -> None:
        """Announce a camera's entities to Home Assistant."""
        if self.mqtt is not None:
            self.mqtt.add_camera(camera)

    def camera_motion(self, camera: str, active: bool) -> None:
        if self.mqtt is not None:
            self.mqtt.motion(camera, active)

    def camera_alert(self, alert: CameraAlert) -> None:
        """Never blocks: MQTT publishes from paho's thread, Apprise from the outbox's."""
        if self.mqtt is not None:
            self.mqtt.alert(
                alert.camera,
                jpeg=_read(alert.image_path),
                description=alert.description,
                ts=alert.ts,
                alert_id=alert.alert_id,
            )
        if self._outbox is None:
            return
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(alert.ts))
        body = (
            f"{alert.description or 'Something is there.'}\n({alert.camera}, {when}, alert {alert.alert_id})"
        )
        attachments = [alert.image_path] if alert.image_path else []
        self._outbox.put(Message(f"Camera {alert.camera}: alert", body, attachments))


def _read(path: str | None) -> bytes | None:
    if not path:
        return None
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None
