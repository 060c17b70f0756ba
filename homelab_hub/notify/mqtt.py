"""MQTT publisher with Home Assistant discovery (paho-mqtt 2.x).

Per camera, Home Assistant gets three entities on one device: a motion binary_sensor, an
image entity showing the last alert's annotated frame, and an event entity carrying the
alert's description. Discovery configs are retained and published again whenever Home
Assistant announces itself (``homeassistant/status`` = ``online``), because a restarted HA
may have lost them. The availability topic is retained ``online``, with an ``offline`` last
will, so HA greys the entities out when the hub dies.

paho runs its network loop in its own thread; `publish` is thread-safe, so every camera's
worker publishes directly. Nothing here blocks on the broker: while it is unreachable,
paho reconnects in the background and messages with QoS 0 are dropped.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from homelab_hub import __version__
from homelab_hub.notify.config import MqttConfig
from homelab_hub.redact import redact_text

log = logging.getLogger(__name__)


def topic_safe(name: str) -> str:
    """A camera name as one MQTT topic level / HA object id."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "camera"


class MqttPublisher:
    def __init__(self, config: MqttConfig) -> None:
        self.config = config
        self.node = topic_safe(config.client_id)
        self.availability_topic = f"{config.topic_prefix}/status"
        self._cameras: set[str] = set()
        self._motion: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._client: mqtt.Client | None = None
        self.republished = 0  # discovery re-publications after HA came online

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background (never raises for an unreachable broker)."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.config.client_id)
        if self.config.username:
            client.username_pw_set(self.config.username, self.config.password)
        client.will_set(self.availability_topic, "offline", qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.reconnect_delay_set(1, 30)
        # QoS 1 messages queue while the broker is away; a long outage must not grow memory.
        client.max_queued_messages_set(1000)
        self._client = client
        try:
            client.connect_async(self.config.host, self.config.port, keepalive=self.config.keepalive_s)
        except (OSError, ValueError) as exc:
            log.error("mqtt: cannot connect to %s:%d: %s", self.config.host, self.config.port, exc)
        client.loop_start()

    def stop(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if self._connected.is_set():
            client.publish(self.availability_topic, "offline", qos=1, retain=True).wait_for_publish(2.0)
        client.disconnect()
        client.loop_stop()
        self._connected.clear()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    # -- cameras --------------------------------------------------------------------------
    def add_camera(self, camera: str) -> None:
        with self._lock:
            self._cameras.add(camera)
        if self.connected:
            self._publish_discovery(camera)

    def motion(self, camera: str, active: bool) -> None:
        """The camera's motion sensor; published only when it changes (and on re-announce)."""
        with self._lock:
            changed = self._motion.get(camera) != active
            self._motion[camera] = active
        if changed:
            self._publish(self._topic(camera, "motion"), "ON" if active else "OFF", retain=True)

    def alert(
        self,
        camera: str,
        *,
        jpeg: bytes | None,
        description: str,
        ts: float,
        alert_id: int | None,
        kind: str = "visual",
        transcript: str | None = None,
    ) -> None:
        """The last-alert image (retained) and an alert event with its description. Audio
        alerts are the same ``alert`` event type (Home Assistant's event entity knows one),
        told apart by ``kind`` (visual, audio, audio_urgent) and carrying the transcript."""
        if jpeg:
            self._publish(self._topic(camera, "alert/image"), jpeg, retain=True)
        event: dict[str, Any] = {
            "event_type": "alert",
            "description": redact_text(description),
            "ts": ts,
            "alert_id": alert_id,
            "camera": camera,
            "kind": kind,
        }
        if transcript is not None:
            event["transcript"] = redact_text(transcript)
        self._publish(self._topic(camera, "alert/event"), json.dumps(event), qos=1)

    # -- paho callbacks (paho's thread) ---------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if getattr(reason, "is_failure", False):
            log.error("mqtt: broker %s:%d refused us: %s", self.config.host, self.config.port, reason)
            return
        log.info("mqtt: connected to %s:%d", self.config.host, self.config.port)
        client.publish(self.availability_topic, "online", qos=1, retain=True)
        client.subscribe(f"{self.config.discovery_prefix}/status", qos=1)
        self._publish_all()

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: Any, reasons: Any, props: Any) -> None:
        # Ready only once the broker has our subscription to Home Assistant's birth
        # message; an 'online' sent before that would be missed.
        self._connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._connected.clear()
        log.warning("mqtt: disconnected from %s:%d (%s)", self.config.host, self.config.port, reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic == f"{self.config.discovery_prefix}/status" and message.payload.strip() == b"online":
            log.info("mqtt: Home Assistant came online; publishing discovery again")
            self._publish_all()
            self.republished += 1

    # -- discovery ------------------------------------------------------------------------
    def _publish_all(self) -> None:
        self._publish(self.availability_topic, "online", qos=1, retain=True)
        with self._lock:
            cameras, motion = sorted(self._cameras), dict(self._motion)
        for camera in cameras:
            self._publish_discovery(camera)
            if camera in motion:
                self._publish(self._topic(camera, "motion"), "ON" if motion[camera] else "OFF", retain=True)

    def _entities(self, camera: str) -> list[tuple[str, str, dict[str, Any]]]:
        cam = topic_safe(camera)
        return [
            (
                "binary_sensor",
                f"{cam}_motion",
                {"name": "Motion", "device_class": "motion", "state_topic": self._topic(camera, "motion"),
                 "payload_on": "ON", "payload_off": "OFF"},
            ),
            (
                "image",
                f"{cam}_last_alert",
                {"name": "Last alert", "image_topic": self._topic(camera, "alert/image"), "content_type": "image/jpeg"},
            ),
            (
                "event",
                f"{cam}_alert",
                {"name": "Alert", "state_topic": self._topic(camera, "alert/event"), "event_types": ["alert"]},
            ),
        ]  # fmt: skip

    def _publish_discovery(self, camera: str) -> None:
        cam = topic_safe(camera)
        device = {
            "identifiers": [f"{self.node}_{cam}"],
            "name": f"Camera {camera}",
            "manufacturer": "homelab-hub",
            "model": "camera pipeline",
            "sw_version": __version__,
        }
        for component, object_id, body in self._entities(camera):
            config = {
                **body,
                "unique_id": f"{self.node}_{object_id}",
                "object_id": f"{self.node}_{object_id}",
                "availability_topic": self.availability_topic,
                "device": device,
            }
            topic = f"{self.config.discovery_prefix}/{component}/{self.node}/{object_id}/config"
            self._publish(topic, json.dumps(config), qos=1, retain=True)

    def _topic(self, camera: str, leaf: str) -> str:
        return f"{self.config.topic_prefix}/{topic_safe(camera)}/{leaf}"

    def _publish(self, topic: str, payload: str | bytes, *, qos: int = 0, retain: bool = False) -> None:
        client = self._client
        if client is None:
            return
        info = client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            log.warning("mqtt: publishing %s failed (rc %s)", topic, info.rc)
