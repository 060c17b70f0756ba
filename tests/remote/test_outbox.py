"""The worker's outbox and the hub's side of it over a real broker, in one process: what an
alert carries (its image, an audio alert's clip), exactly-once storage when the same alert comes
again, and an alert that waits unacknowledged while the hub's database is away."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from homelab_hub.cameras import schema as camera_schema
from homelab_hub.cameras.alerts.store import AlertStore
from homelab_hub.cameras.settings import AlertsConfig, CameraConfig, TranscriberConfig, VisionConfig
from homelab_hub.notify.bus import NotificationBus
from homelab_hub.notify.config import NotifyConfig
from homelab_hub.remote.bridge import RemoteCameras
from homelab_hub.remote.config import BrokerConfig
from homelab_hub.remote.link import BrokerLink
from homelab_hub.remote.outbox import Outbox, OutboxAlertStore
from homelab_hub.remote.wire import Topics
from homelab_hub.store import Database
from homelab_hub.store.migrations import migrate
from tests.fakes.receiver import NotificationReceiver
from tests.support import port_open, require, wait_until


@pytest.fixture
def receiver() -> Iterator[NotificationReceiver]:
    with NotificationReceiver() as rx:
        yield rx  # type: ignore[misc]


@pytest.fixture
def pair(
    tmp_path: Path, receiver: NotificationReceiver
) -> Iterator[tuple[Outbox, RemoteCameras, Database, Database]]:
    require(port_open("127.0.0.1", 1883), "Mosquitto is not listening on 127.0.0.1:1883")
    prefix = f"hh-test-{uuid.uuid4().hex[:8]}"
    config = BrokerConfig(host="127.0.0.1", prefix=prefix, keepalive_s=5)
    worker_db = Database.from_url(f"sqlite:///{tmp_path}/outbox.db")
    hub_db = Database.from_url(f"sqlite:///{tmp_path}/hub.db")
    for db in (worker_db, hub_db):
        migrate(db, camera_schema.MIGRATIONS)
    worker_link = BrokerLink(config, client_id=f"{prefix}-w", label="worker w1")
    hub_link = BrokerLink(config, client_id=f"{prefix}-hub", label="hub", persistent=True, manual_ack=True)
    store = OutboxAlertStore(worker_db)
    outbox = Outbox(worker_db, store, worker_link, Topics(prefix), "w1")
    bus = NotificationBus.from_config(NotifyConfig(apprise_urls=[receiver.apprise_url("json")]))
    bus.start()
    remote = RemoteCameras(hub_link, alerts=AlertStore(hub_db), bus=bus, zones=lambda n, c: list(c.zones))
    alerts = {"image_dir": str(tmp_path / "hub-images"), "cooldown_s": 0}
    remote.set_cameras(
        {"yard": CameraConfig(url="rtsp://yard", host="w1", alerts=AlertsConfig(**alerts))},
        vision=VisionConfig(), transcriber=TranscriberConfig(),
    )  # fmt: skip
    remote.start()
    for link in (hub_link, worker_link):
        link.start()
        assert link.connected.wait(10)
    time.sleep(0.3)  # the hub's subscriptions
    try:
        yield outbox, remote, worker_db, hub_db
    finally:
        remote.close()
        bus.stop()
        for link in (worker_link, hub_link):
            link.close()
        worker_db.close()
        hub_db.close()


def _record(store: OutboxAlertStore, tmp: Path, n: int) -> None:
    frame = np.zeros((120, 160, 3), np.uint8)
    frame[40:80, 50:90] = 200
    config = AlertsConfig(image_dir=tmp / "worker-images", cooldown_s=0)
    for i in range(n):
        store.record(
            camera="yard", ts=time.time() + i * 0.001, frame_bgr=frame, boxes=[(50, 40, 40, 40)],
            description=f"a person at the gate #{i}", verdict="ALERT", model="m", latency_s=0.5,
            full_frame=False, config=config,
        )  # fmt: skip


def test_alerts_arrive_with_their_image_in_order_and_a_repeat_is_stored_once(pair, tmp_path):
    outbox, remote, worker_db, hub_db = pair
    _record(outbox.store, tmp_path, 5)
    assert outbox.pending()[0] == 5
    assert outbox.send_pending() == 5
    wait_until(lambda: remote.stored == 5, timeout=10, what="five alerts at the hub")
    rows = hub_db.query("SELECT description, origin, image_path, image_bytes FROM alerts ORDER BY id")
    assert [r["description"] for r in rows] == [f"a person at the gate #{i}" for i in range(5)]
    sent = worker_db.query("SELECT image_path FROM alerts ORDER BY id")
    for row, local in zip(rows, sent, strict=True):
        assert Path(row["image_path"]).read_bytes() == Path(local["image_path"]).read_bytes()
    # The acknowledgement was lost (the mark never moved): the same alerts come again.
    worker_db.execute("UPDATE worker_outbox SET v = '0' WHERE k = 'delivered'")
    assert outbox.send_pending() == 5
    wait_until(lambda: remote.duplicates == 5, timeout=10, what="the repeats seen")
    assert hub_db.query_one("SELECT COUNT(*) AS n FROM alerts")["n"] == 5


def test_an_alert_from_a_worker_reaches_the_phones_once(pair, tmp_path, receiver):
    outbox, remote, worker_db, _ = pair
    _record(outbox.store, tmp_path, 1)
    assert outbox.send_pending() == 1
    receiver.wait_for(lambda r: "a person at the gate #0" in r.body.decode(), timeout=15)
    worker_db.execute("UPDATE worker_outbox SET v = '0' WHERE k = 'delivered'")
    assert outbox.send_pending() == 1  # the same alert again: stored and sent on once
    wait_until(lambda: remote.duplicates == 1, timeout=10, what="the repeat seen")
    time.sleep(1.0)
    assert sum("a person at the gate #0" in r.body.decode() for r in receiver.received) == 1


def test_an_audio_alert_carries_its_clip(pair, tmp_path):
    outbox, remote, _, hub_db = pair
    tone = (0.3 * np.sin(np.linspace(0, 2 * np.pi * 440, 16000))).astype(np.float32)
    outbox.store.record_audio(
        camera="yard", ts=time.time(), kind="audio_urgent", transcript="help, call the police", samples=tone,
        model="tiny.en", latency_s=0.2, config=AlertsConfig(image_dir=tmp_path / "worker-images"),
    )  # fmt: skip
    assert outbox.send_pending() == 1
    wait_until(lambda: remote.stored == 1, timeout=10, what="the audio alert at the hub")
    row = hub_db.query_one("SELECT kind, transcript, clip_path, image_path FROM alerts")
    assert row["kind"] == "audio_urgent" and row["transcript"] == "help, call the police"
    assert row["image_path"] is None and Path(row["clip_path"]).read_bytes()[:4] == b"OggS"


def test_an_alert_waits_unacknowledged_while_the_hub_database_is_away(pair, tmp_path):
    outbox, remote, _, hub_db = pair
    hub_db.execute("ALTER TABLE alerts RENAME TO alerts_away")  # the hub's database refuses alerts
    _record(outbox.store, tmp_path, 2)
    assert outbox.send_pending() == 2  # the broker has them
    wait_until(lambda: remote.store_error != "", timeout=10, what="the hub to say it waits")
    assert remote.stored == 0
    hub_db.execute("ALTER TABLE alerts_away RENAME TO alerts")
    wait_until(lambda: remote.stored == 2, timeout=10, what="both stored once the database is back")
    assert remote.store_error == ""


def test_garbage_on_the_workers_topics_is_dropped_and_the_next_alert_still_stored(pair, tmp_path):
    outbox, remote, _, hub_db = pair
    topics = Topics(outbox.link.config.prefix)
    link = outbox.link
    for payload in (b"", b"not framed", b"HH1\xff\xff\xff\xff", b"HH1\x00\x00\x00\x02{}", b"\x00" * 5000):
        assert link.publish_acked(topics.alert("w1"), payload)
    assert link.publish_acked(topics.state("w1"), b"{not json")
    # An alert claiming another worker's origin, and one for a camera that is not this worker's.
    from homelab_hub.remote.wire import pack

    assert link.publish_acked(topics.alert("w1"), pack({"origin": "w2:x:1", "camera": "yard", "ts": 1.0,
                                                       "verdict": "ALERT"}, b""))  # fmt: skip
    assert link.publish_acked(topics.alert("w1"), pack({"origin": "w1:x:1", "camera": "porch", "ts": 1.0,
                                                       "verdict": "ALERT"}, b""))  # fmt: skip
    _record(outbox.store, tmp_path, 1)
    assert outbox.send_pending() == 1
    wait_until(lambda: remote.stored == 1, timeout=10, what="the good alert after the garbage")
    assert hub_db.query_one("SELECT COUNT(*) AS n FROM alerts")["n"] == 1
