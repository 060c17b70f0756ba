"""The one notification bus of a hub, shared by the cameras and the watchdog: Apprise for
people (phones, chat) and, when configured, MQTT for Home Assistant."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from homelab_hub.notify.apprise import AppriseNotifier
from homelab_hub.notify.config import NotifyConfig
from homelab_hub.notify.mqtt import MqttPublisher


class NotificationBus(AppriseNotifier):
    """`send` goes to every Apprise URL; ``mqtt`` is the shared publisher, or None."""

    def __init__(self, config: NotifyConfig) -> None:
        super().__init__(config.apprise_urls)
        self.mqtt: MqttPublisher | None = MqttPublisher(config.mqtt) if config.mqtt.enabled else None

    def start(self) -> None:
        if self.mqtt is not None:
            self.mqtt.start()

    def stop(self) -> None:
        if self.mqtt is not None:
            self.mqtt.stop()

    def send(self, title: str, body: str, attachments: Sequence[Path | str] = ()) -> bool:
        return super().send(title, body, attachments)
