"""MQTT with Home Assistant discovery, against the Mosquitto broker on this machine."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from homelab_hub.cameras.detect.pipeline import CameraPipeline, PipelineDeps
from homelab_hub.cameras.settings import AlertsConfig, CameraConfig
from homelab_hub.config import HubConfig, load_config
from homelab_hub.notify.bus import NotificationBus
from homelab_hub.notify.config import MqttConfig
from homelab_hub.notify.mqtt import MqttPublisher
from homelab_hub.server.components import all_migrations
from homelab_hub.server.lifecycle import build_services, close_services, reload_services
from homelab_hub.store import Database, migrate
from tests.cameras.review_data import cameras_config
from tests.fakes.ollama_vision import FakeOllamaVision
from tests.support import free_port, port_open, require, wait_until


class Listener:
    """A subscriber that records every message (topic, payload, retain)."""

    def __init__(self, *topics: str) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"listener-{uuid.uuid4().hex[:8]}")
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *a: (c.subscribe([(t, 1) for t in topics]), self._ready.set())
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()
        assert self._ready.wait(10), "listener could not connect to Mosquitto"

    def _on_message(self, client, userdata, msg) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def wait_for(self, predicate: Callable[[str, bytes, bool], bool], timeout: float = 10, count: int = 1):
        def hits() -> list[tuple[str, bytes, bool]] | None:
            with self._lock:
                found = [m for m in self.messages if predicate(*m)]
            return found if len(found) >= count else None

        return wait_until(hits, timeout, f"{count} matching MQTT message(s)")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def prefixes() -> Iterator[MqttConfig]:
    require(port_open("127.0.0.1", 1883), "Mosquitto is not listening on 127.0.0.1:1883")
    tag = uuid.uuid4().hex[:10]
    cfg = MqttConfig(
        enabled=True, client_id=f"hub-{tag}", topic_prefix=f"hub-{tag}", discovery_prefix=f"ha-{tag}"
    )
    yield cfg
    # Leave no retained messages behind on the shared broker. Retained copies arrive before
    # anything published after subscribing, so a marker says "all of them are in".
    marker = f"{cfg.topic_prefix}/cleanup-marker"
    seen: list[str] = []
    done = threading.Event()

    def on_message(client, userdata, msg) -> None:
        if msg.topic == marker:
            done.set()
        elif msg.retain and msg.payload:
            seen.append(msg.topic)

    cleaner = mqtt.Client(CallbackAPIVersion.VERSION2)
    cleaner.on_message = on_message
    cleaner.connect("127.0.0.1", 1883)
    cleaner.subscribe([(f"{cfg.topic_prefix}/#", 1), (f"{cfg.discovery_prefix}/#", 1)])
    cleaner.loop_start()
    cleaner.publish(marker, b"x", qos=1)
    done.wait(5)
    for topic in set(seen):
        cleaner.publish(topic, b"", qos=1, retain=True).wait_for_publish(2)
    cleaner.loop_stop()
    cleaner.disconnect()


def test_discovery_configs_are_retained_and_describe_three_entities_per_camera(prefixes: MqttConfig) -> None:
    publisher = MqttPublisher(prefixes)
    publisher.add_camera("front gate")
    publisher.start()
    assert publisher.wait_connected(10)
    listener = Listener(f"{prefixes.discovery_prefix}/#", f"{prefixes.topic_prefix}/#")  # subscribes late
    hits = listener.wait_for(lambda t, p, r: t.endswith("/config") and r, count=3)
    configs = {t.split("/")[1]: json.loads(p) for t, p, _ in hits}
    assert set(configs) == {"binary_sensor", "image", "event"}
    motion = configs["binary_sensor"]
    assert motion["device_class"] == "motion"
    assert motion["state_topic"] == f"{prefixes.topic_prefix}/front_gate/motion"
    assert configs["image"]["image_topic"].endswith("/front_gate/alert/image")
    assert configs["event"]["event_types"] == ["alert"]
    assert all(c["availability_topic"] == f"{prefixes.topic_prefix}/status" for c in configs.values())
    assert len({c["unique_id"] for c in configs.values()}) == 3
    assert len({json.dumps(c["device"]) for c in configs.values()}) == 1
    listener.wait_for(lambda t, p, r: t == f"{prefixes.topic_prefix}/status" and p == b"online" and r)
    publisher.stop()
    listener.close()


def test_configs_are_published_again_when_home_assistant_comes_online(prefixes: MqttConfig) -> None:
    publisher = MqttPublisher(prefixes)
    publisher.add_camera("yard")
    publisher.start()
    assert publisher.wait_connected(10)
    listener = Listener(f"{prefixes.discovery_prefix}/binary_sensor/#")
    listener.wait_for(lambda t, p, r: r)  # the retained copy
    listener.client.publish(f"{prefixes.discovery_prefix}/status", b"online")
    listener.wait_for(lambda t, p, r: t.endswith("/config") and not r)  # a fresh, live publication
    assert publisher.republished == 1
    publisher.stop()
    listener.close()


def test_pipeline_publishes_motion_changes_and_the_alert_image_and_event(
    prefixes: MqttConfig, tmp_path: Path, sqlite_url: str
) -> None:
    db = Database.from_url(sqlite_url)
    migrate(db, all_migrations())
    listener = Listener(f"{prefixes.topic_prefix}/#")
    with FakeOllamaVision() as ollama:
        config = HubConfig(vision={"url": ollama.url}, notify={"mqtt": prefixes.model_dump()})
        bus = NotificationBus.from_config(config.notify)  # the hub's notify component owns it
        bus.start()
        deps = PipelineDeps.from_config(config, db, bus)
        pipeline = CameraPipeline(
            "gate", CameraConfig(url="x.mp4", alerts=AlertsConfig(image_dir=tmp_path)), deps
        )
        assert deps.bus.mqtt is not None
        assert deps.bus.mqtt.wait_connected(10)
        empty = np.full((240, 320, 3), (90, 140, 70), np.uint8)
        person = empty.copy()
        person[80:160, 140:180] = (30, 30, 40)
        now = time.time()
        for i, frame in enumerate([empty, empty, person, person, person]):
            pipeline.process(frame, now + i)
        topic = f"{prefixes.topic_prefix}/gate"
        states = listener.wait_for(lambda t, p, r: t == f"{topic}/motion", count=3)
        assert [p for _, p, _ in states][:3] == [b"OFF", b"ON", b"OFF"]
        image = listener.wait_for(lambda t, p, r: t == f"{topic}/alert/image")[0][1]
        assert image[:3] == b"\xff\xd8\xff"
        event = json.loads(listener.wait_for(lambda t, p, r: t == f"{topic}/alert/event")[0][1])
        assert event["event_type"] == "alert"
        assert "person" in event["description"]
        assert event["alert_id"]
        deps.close()
        bus.stop()
    listener.wait_for(lambda t, p, r: t == f"{prefixes.topic_prefix}/status" and p == b"offline")
    listener.close()
    db.close()


def test_a_hub_that_dies_is_marked_offline_by_its_last_will(prefixes: MqttConfig) -> None:
    listener = Listener(f"{prefixes.topic_prefix}/status")
    script = (
        "import os, sys\n"
        "from homelab_hub.notify.config import MqttConfig\n"
        "from homelab_hub.notify.mqtt import MqttPublisher\n"
        f"p = MqttPublisher(MqttConfig.model_validate_json({prefixes.model_dump_json()!r}))\n"
        "p.start()\n"
        "assert p.wait_connected(10)\n"
        "print('up', flush=True)\n"
        "sys.stdin.readline()\n"
        "os._exit(0)  # no DISCONNECT: like a crash\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "up"
        listener.wait_for(lambda t, p, r: p == b"online")
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.flush()
        proc.wait(timeout=10)
        listener.wait_for(lambda t, p, r: p == b"offline")
    finally:
        proc.kill()
        proc.wait()
        listener.close()


def test_an_unreachable_broker_does_not_block_or_raise() -> None:
    publisher = MqttPublisher(MqttConfig(enabled=True, port=free_port()))
    publisher.start()
    publisher.add_camera("gate")
    publisher.motion("gate", True)
    publisher.alert("gate", jpeg=b"\xff\xd8\xff", description="x", ts=0.0, alert_id=1)
    assert not publisher.connected
    publisher.stop()


def test_a_reload_that_turns_mqtt_on_gives_the_hubs_one_bus_a_publisher_every_pipeline_uses(
    prefixes: MqttConfig, tmp_path: Path
) -> None:
    def config(**notify):
        return load_config(
            None, storage={"url": f"sqlite:///{tmp_path}/hub.db"}, logging={"file": None},
            cameras=cameras_config(tmp_path), memory={"enabled": False}, notify=notify,
        )  # fmt: skip

    services = build_services(config(), start_workers=False)
    try:
        bus = services.notifier
        assert bus is not None and bus.mqtt is None
        assert services.cameras is not None
        assert services.cameras.pipeline("gate").deps.bus is bus
        reload_services(services, config(mqtt=prefixes.model_dump()))
        assert services.notifier is bus  # the same bus, its sinks replaced in place
        assert bus.mqtt is not None and bus.mqtt.wait_connected(10)
        assert services.cameras.pipeline("gate").deps.bus is bus
    finally:
        close_services(services)
