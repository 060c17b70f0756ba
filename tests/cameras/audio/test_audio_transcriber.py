"""The transcriber with the real tiny.en model: the gates, audio alerts with their clip on
Apprise (local receiver) and MQTT (Mosquitto), the pre-roll, a full queue, garbage chunks."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from homelab_hub.cameras.alerts.store import AlertStore
from homelab_hub.cameras.audio.sink import AudioChunk, AudioSink
from homelab_hub.cameras.audio.speech import SpeechModel
from homelab_hub.cameras.audio.transcriber import Transcriber, TranscriberWorker
from homelab_hub.cameras.settings import AlertsConfig, AudioConfig, TranscriberConfig
from homelab_hub.errors import ConfigError
from homelab_hub.notify.apprise import AppriseNotifier
from homelab_hub.notify.bus import NotificationBus
from homelab_hub.notify.config import MqttConfig
from homelab_hub.notify.mqtt import MqttPublisher
from homelab_hub.store import Database
from homelab_hub.workers import WorkerContext
from tests.cameras.audio_clips import espeak_available, hiss, read_audio, script, silence, speech
from tests.fakes.receiver import NotificationReceiver
from tests.support import port_open, require, wait_until

URGENT = "Help! There is a fire at the front gate"
ORDINARY = "The parcel is on the doorstep"


@pytest.fixture(scope="module")
def model() -> SpeechModel:
    require(espeak_available(), "espeak-ng (Debian package espeak-ng)")
    loaded = SpeechModel(TranscriberConfig())
    loaded.load()
    return loaded


def said(text: str) -> np.ndarray:
    return script(silence(0.5), speech(text), silence(1.0))


def chunk(samples: np.ndarray, *, ended_ago: float = 0.0, camera: str = "gate") -> AudioChunk:
    return AudioChunk(camera, time.time() - ended_ago - samples.size / 16000, samples)


class Rig:
    """A transcriber with one camera 'gate', its alert store and bus."""

    def __init__(
        self, db: Database, model: SpeechModel, tmp: Path, bus: NotificationBus | None = None, **audio
    ):
        self.alerts = AlertStore(db)
        self.alerts_config = AlertsConfig(image_dir=tmp / "alerts", cooldown_s=0)
        self.transcriber = Transcriber(TranscriberConfig(), model, alerts=self.alerts, bus=bus)
        self.sink = AudioSink("gate", AudioConfig(enabled=True, **audio), self.transcriber.submit)
        self.transcriber.attach(self.sink, self.alerts_config)

    def visual_alert(self, ts: float) -> None:
        frame = np.zeros((120, 160, 3), np.uint8)
        self.alerts.record(
            camera="gate", ts=ts, frame_bgr=frame, boxes=[(1, 1, 9, 9)], description="a person at the gate",
            verdict="ALERT", model="qwen2.5vl:7b", latency_s=0.2, full_frame=False, config=self.alerts_config,
        )  # fmt: skip

    def audio_alerts(self) -> list:
        return [a for a in self.alerts.recent(limit=50) if a.kind != "visual"]


@pytest.fixture
def mqtt_events() -> Iterator[list[dict]]:
    require(port_open("127.0.0.1", 1883), "Mosquitto on 127.0.0.1:1883")
    events: list[dict] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-audio-{time.time_ns()}")
    subscribed = threading.Event()
    client.on_message = lambda c, u, m: events.append(json.loads(m.payload))
    client.on_subscribe = lambda *a: subscribed.set()
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    client.subscribe("audiotest/gate/alert/event", qos=1)
    assert subscribed.wait(10)
    yield events
    client.loop_stop()
    client.disconnect()


def test_urgent_words_raise_an_audio_urgent_alert_with_its_clip_on_apprise_and_mqtt(
    sqlite_db, model, tmp_path, mqtt_events
):
    with NotificationReceiver() as rx:
        publisher = MqttPublisher(
            MqttConfig(enabled=True, topic_prefix="audiotest", client_id="audiotest-hub")
        )
        bus = NotificationBus(AppriseNotifier([rx.apprise_url("json")]), publisher)
        bus.start()
        assert publisher.wait_connected(10)
        rig = Rig(sqlite_db, model, tmp_path, bus)
        verdict = rig.transcriber.process(chunk(said(URGENT)))
        assert verdict.decision == "urgent"
        assert verdict.urgent_word == "help"
        [alert] = rig.audio_alerts()
        assert alert.kind == "audio_urgent"
        assert "fire at the front gate" in alert.transcript.lower()
        assert alert.clip_path.endswith("-audio_urgent.ogg")
        assert read_audio(alert.clip_path).size / 16000 > 2.5
        message = rx.wait_for(timeout=15).json()
        assert message["title"] == "Camera gate: URGENT, speech heard"
        assert message["attachments"][0]["mimetype"] == "audio/ogg"
        assert message["attachments"][0]["filename"].endswith(".ogg")
        event = wait_until(lambda: mqtt_events and mqtt_events[0], 10, "the MQTT alert event")
        assert event["event_type"] == "alert"
        assert event["kind"] == "audio_urgent"
        assert event["alert_id"] == alert.id
        assert "fire" in event["transcript"].lower()
        bus.stop()


def test_ordinary_speech_without_a_visual_alert_is_kept_for_debugging_and_never_notified(
    sqlite_db, model, tmp_path
):
    with NotificationReceiver() as rx:
        bus = NotificationBus(AppriseNotifier([rx.apprise_url("json")]))
        rig = Rig(sqlite_db, model, tmp_path, bus)
        verdict = rig.transcriber.process(chunk(said(ORDINARY)))
        assert verdict.decision == "gated"
        assert verdict.why == "no visual alert within 120s (nor 30s after)"
        assert rig.audio_alerts() == []
        [kept] = rig.transcriber.status().rejected
        assert kept.decision == "gated"
        assert "doorstep" in kept.transcript.lower()
        assert rig.sink.status().last_transcript_ts is not None
        bus.stop()  # sends whatever was queued
        assert rx.received == []


def test_speech_within_the_gate_after_a_visual_alert_is_an_audio_alert(db, model, tmp_path):
    rig = Rig(db, model, tmp_path)
    rig.visual_alert(time.time() - 100)
    verdict = rig.transcriber.process(chunk(said(ORDINARY)))
    assert verdict.decision == "alert"
    [alert] = rig.audio_alerts()
    assert alert.kind == "audio"
    assert alert.verdict == "ALERT"
    assert "doorstep" in alert.transcript.lower()
    assert Path(alert.clip_path).is_file()


def test_a_visual_alert_older_than_gate_s_leaves_the_gate_shut(sqlite_db, model, tmp_path):
    rig = Rig(sqlite_db, model, tmp_path, gate_s=60)
    rig.visual_alert(time.time() - 90)
    assert rig.transcriber.process(chunk(said(ORDINARY))).decision == "gated"
    assert rig.audio_alerts() == []


def test_speech_just_before_a_visual_alert_is_raised_when_the_alert_comes(sqlite_db, model, tmp_path):
    rig = Rig(sqlite_db, model, tmp_path, preroll_s=30)
    spoken = chunk(said(ORDINARY), ended_ago=5)
    assert rig.transcriber.process(spoken).decision == "gated"
    assert rig.transcriber.promote_pending(now=time.time() + 2) == 0
    rig.visual_alert(time.time())
    assert rig.transcriber.promote_pending(now=time.time() + 4) == 1
    [alert] = rig.audio_alerts()
    assert alert.kind == "audio"
    assert alert.ts == pytest.approx(spoken.start_ts)


def test_a_noise_phrase_is_dropped_and_silence_and_hiss_never_reach_the_model(sqlite_db, model, tmp_path):
    rig = Rig(sqlite_db, model, tmp_path)
    rig.visual_alert(time.time())  # the gate is open: only the filters stand in the way
    noise = rig.transcriber.process(chunk(said("Thank you for watching")))
    assert noise.decision == "noise"
    assert noise.dropped[0].why == "noise phrase"
    assert rig.transcriber.process(chunk(silence(15))).decision == "quiet"
    assert rig.transcriber.process(chunk(hiss(15, dbfs=-60))).decision == "quiet"
    assert rig.transcriber.status().counts.transcribed == 1
    assert rig.audio_alerts() == []


def test_a_chunk_that_decodes_to_garbage_raises_nothing_and_the_worker_carries_on(sqlite_db, model, tmp_path):
    rig = Rig(sqlite_db, model, tmp_path)
    rig.visual_alert(time.time())
    worker = TranscriberWorker(rig.transcriber)
    ctx = WorkerContext(stop=threading.Event())
    thread = threading.Thread(target=worker.run, args=(ctx,), daemon=True)
    thread.start()
    rng = np.random.default_rng(7)
    full_scale = rng.uniform(-1, 1, 16000 * 5).astype(np.float32)
    buzz = np.sign(np.sin(np.arange(16000 * 5) * 0.3)).astype(np.float32)
    for garbage in (full_scale, buzz):
        rig.transcriber.submit(chunk(garbage))
    rig.transcriber.submit(chunk(said(URGENT)))
    wait_until(lambda: rig.transcriber.status().counts.alerts == 1, 60, "the urgent alert after the garbage")
    ctx.stop.set()
    thread.join(10)
    [alert] = rig.audio_alerts()
    assert alert.kind == "audio_urgent"
    assert rig.transcriber.status().counts.failures == 0


def test_corrupt_audio_packets_are_counted_and_skipped(tmp_path):
    import av

    from tests.cameras.audio_clips import write_track

    chunks: list[AudioChunk] = []
    sink = AudioSink("gate", AudioConfig(enabled=True, chunk_s=2), chunks.append)
    path = write_track(tmp_path / "a.aac", script(speech(ORDINARY), silence(2)), "aac")
    with av.open(str(path)) as container:
        stream = sink.open(container)
        for i, packet in enumerate(container.demux(stream)):
            if packet.size == 0:
                continue
            if i % 5 == 0:
                packet = av.Packet(
                    bytes(np.random.default_rng(i).integers(0, 255, packet.size, dtype=np.uint8))
                )
                packet.stream = stream
            sink.feed(packet)
    status = sink.status()
    assert status.codec == "aac"
    assert status.decode_errors > 0
    assert chunks
    assert all(np.isfinite(c.samples).all() for c in chunks)


def test_the_queue_drops_the_oldest_chunk_rather_than_fall_behind(sqlite_db, model, tmp_path):
    rig = Rig(sqlite_db, model, tmp_path)
    rig.transcriber.config = TranscriberConfig(queue_chunks=2)
    first, second, third = (chunk(silence(1)) for _ in range(3))
    assert rig.transcriber.submit(first)
    assert rig.transcriber.submit(second)
    assert not rig.transcriber.submit(third)
    assert rig.transcriber.counts.dropped == 1
    assert rig.transcriber.take(0.1) is second


def test_a_missing_model_directory_is_a_clear_error(tmp_path):
    missing = tmp_path / "whisper-medium.en"
    with pytest.raises(ConfigError) as info:
        SpeechModel(TranscriberConfig(model_dir=missing))
    assert info.value.message == (
        f"transcriber: model directory '{missing}' ([transcriber].model_dir) does not exist; set "
        "[transcriber].model_dir to a CTranslate2 faster-whisper model directory (model.bin, config.json, "
        "tokenizer.json)"
    )


def test_a_hub_whose_model_directory_is_missing_keeps_its_video_and_says_why(hub_factory, tmp_path):
    from tests.cameras.clips import ClipSpec, write_clip

    clip = write_clip(tmp_path / "yard.mp4", ClipSpec("moving_object", width=160, height=120, seconds=3))
    missing = tmp_path / "whisper-medium.en"
    hub = hub_factory(
        {
            "memory": {"enabled": False},
            "vision": {"enabled": False},
            "transcriber": {"model_dir": str(missing)},
            "cameras": {"yard": {"url": str(clip), "interval_s": 0.5, "audio": {"enabled": True}}},
        }
    )
    camera = wait_until(
        lambda: (c := hub.rest("camera_list").json()["cameras"][0])["samples"] >= 2 and c, 20, "video samples"
    )
    assert camera["state"] == "ok"
    assert camera["audio_codec"] is None
    cameras = hub.get("/api/health").json()["components"]["cameras"]
    assert cameras["state"] == "degraded"
    assert cameras["detail"].startswith(f"audio off: transcriber: model directory '{missing}' ")
    assert cameras["data"]["transcriber"]["enabled"] is False
    assert "worker:audio:transcriber" not in hub.get("/api/health").json()["components"]


def test_a_reload_that_turns_audio_on_starts_the_transcriber_and_the_cameras_sink(tmp_path):
    from homelab_hub.config import load_config
    from homelab_hub.server.lifecycle import build_services, close_services, reload_services

    def config(audio: bool):
        return load_config(
            None,
            storage={"url": f"sqlite:///{tmp_path}/hub.db"},
            memory={"enabled": False},
            vision={"enabled": False},
            cameras={"yard": {"url": "rtsp://127.0.0.1:9/none", "audio": {"enabled": audio}}},
        )

    services = build_services(config(False), start_workers=False)
    try:
        assert services.cameras.transcriber is None
        assert "audio:transcriber" not in services.supervisor.names()
        reload_services(services, config(True))
        assert services.cameras.transcriber is not None
        assert "audio:transcriber" in services.supervisor.names()
        assert services.cameras.runtime("yard").audio is not None
        reload_services(services, config(False))
        assert services.cameras.transcriber is None
        assert "audio:transcriber" not in services.supervisor.names()
        assert services.cameras.runtime("yard").audio is None
    finally:
        close_services(services)
