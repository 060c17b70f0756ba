"""The one notification bus of a hub, shared by the cameras and the watchdog.

The bus holds its sinks and fans events out to them: Apprise for people (phones, chat),
when configured MQTT for Home Assistant, and speakers that say the alert out loud. None of
them blocks the caller: Apprise sends from its outbox thread, MQTT from paho's, speakers from
their own lanes.
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
from homelab_hub.notify.speakers import SpeakerNotifier

_TITLES = {"visual": "alert", "audio": "speech heard", "audio_urgent": "URGENT, speech heard"}


@dataclass(frozen=True)
class CameraAlert:
    """A confirmed camera alert, as the sinks need it."""

    camera: str
    description: str
    ts: float
    alert_id: int | None
    image_path: str | None
    kind: str = "visual"  # visual | audio | audio_urgent
    transcript: str | None = None
    clip_path: str | None = None  # the audio of an audio alert (Ogg Opus)

    def spoken(self) -> str:
        """What a speaker says."""
        if self.kind == "visual":
            return f"Camera {self.camera}: {self.description or 'something is there'}."
        heard = f"Camera {self.camera} heard: {self.transcript or self.description}"
        return f"Urgent. {heard}" if self.kind == "audio_urgent" else heard


class NotificationBus:
    """``apprise``, ``mqtt`` and ``speakers`` are the sinks, each None when not configured."""

    def __init__(
        self,
        apprise: AppriseNotifier | None = None,
        mqtt: MqttPublisher | None = None,
        speakers: SpeakerNotifier | None = None,
    ) -> None:
        self.apprise = apprise
        self.mqtt = mqtt
        self.speakers = speakers
        self._outbox = Outbox(apprise) if apprise is not None and apprise.enabled else None

    @classmethod
    def from_config(cls, config: NotifyConfig) -> NotificationBus:
        """The sinks [notify] configures; call `start` to connect MQTT."""
        apprise = AppriseNotifier(config.apprise_urls) if config.apprise_urls else None
        mqtt = MqttPublisher(config.mqtt) if config.mqtt.enabled else None
        speakers = SpeakerNotifier(config.speakers) if config.speakers.devices else None
        return cls(apprise, mqtt, speakers)

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
        _stop(self._outbox, self.mqtt, self.speakers)

    def reconfigure(self, config: NotifyConfig) -> None:
        """Apply a reloaded [notify] in place: the sinks are replaced (the new ones started,
        the old ones stopped), so whoever holds the hub's one bus (camera pipelines, the
        review, the watchdog) sends to the new ones."""
        fresh = NotificationBus.from_config(config)
        fresh.start()
        old = (self._outbox, self.mqtt, self.speakers)
        self.apprise, self.mqtt, self.speakers = fresh.apprise, fresh.mqtt, fresh.speakers
        self._outbox = fresh._outbox
        _stop(*old)

    # -- events -----------------------------------------------------------------------------
    def send(self, title: str, body: str, attachments: Sequence[Path | str] = ()) -> bool:
        """A message for people, sent now (blocks on the network; the watchdog's reports).
        True when at least one Apprise target accepted it. Speakers say the title only where
        they are routed the kind ``report`` (the default routes none)."""
        if self.speakers is not None:
            self.speakers.announce("report", title)
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
                kind=alert.kind,
                transcript=alert.transcript,
            )
        if self.speakers is not None and alert.kind in ("visual", "audio", "audio_urgent"):
            self.speakers.announce(alert.kind, alert.spoken(), alert.camera)  # type: ignore[arg-type]
        if self._outbox is None:
            return
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(alert.ts))
        text = alert.description or "Something is there."
        if alert.kind != "visual":
            text = f"Heard: \u201c{alert.transcript or alert.description}\u201d"
        body = f"{text}\n({alert.camera}, {when}, alert {alert.alert_id})"
        attachments = [p for p in (alert.image_path, alert.clip_path) if p]
        title = f"Camera {alert.camera}: {_TITLES.get(alert.kind, 'alert')}"
        self._outbox.put(Message(title, body, attachments))


def _stop(outbox: Outbox | None, mqtt: MqttPublisher | None, speakers: SpeakerNotifier | None) -> None:
    if outbox is not None:
        outbox.close()
    if mqtt is not None:
        mqtt.stop()
    if speakers is not None:
        speakers.stop()


def _read(path: str | None) -> bytes | None:
    if not path:
        return None
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None
