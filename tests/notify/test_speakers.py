"""Spoken alerts: espeak-ng speech served by the hub at a one-time URL, played on a stand-in
LinkPlay/WiiM speaker and a stand-in Home Assistant media player (real HTTP both ways);
routing, quiet hours, the rate limit, and speakers that are down or slow."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from homelab_hub.config import HubConfig
from homelab_hub.errors import ConfigError
from homelab_hub.notify.apprise import AppriseNotifier
from homelab_hub.notify.audio_store import OneTimeAudio
from homelab_hub.notify.bus import CameraAlert, NotificationBus
from homelab_hub.notify.config import SpeakersConfig
from homelab_hub.notify.speakers import SpeakerNotifier
from homelab_hub.notify.tts import SpeechFailed, TextToSpeech
from tests.cameras.audio_clips import espeak_available
from tests.fakes.homeassistant import FakeHomeAssistant
from tests.fakes.linkplay import FakeLinkPlay
from tests.fakes.receiver import NotificationReceiver
from tests.support import free_port, require, wait_until

URGENT = CameraAlert(
    "gate",
    "Help! There is a fire",
    time.time(),
    7,
    None,
    kind="audio_urgent",
    transcript="Help! There is a fire",
)
VISUAL = CameraAlert("gate", "a person at the door", time.time(), 8, None)


@pytest.fixture(autouse=True)
def _espeak() -> None:
    require(espeak_available(), "espeak-ng (Debian package espeak-ng)")


def speakers_hub(hub_factory, devices: dict, **speakers):
    port = free_port()
    return hub_factory(
        {
            "server": {"port": port},
            "memory": {"enabled": False},
            "notify": {"speakers": {"hub_url": f"http://127.0.0.1:{port}", "devices": devices, **speakers}},
        }
    )


def test_a_linkplay_speaker_plays_the_alert_from_a_url_that_then_answers_404(hub_factory):
    with FakeLinkPlay() as wiim:
        hub = speakers_hub(
            hub_factory,
            {"porch": {"kind": "linkplay", "url": wiim.url, "volume": 35, "kinds": ["audio_urgent"]}},
        )
        hub.services.notifier.camera_alert(URGENT)
        fetch = wiim.wait_fetched()
        assert wiim.commands[0] == "setPlayerCmd:vol:35"
        assert wiim.commands[1] == f"setPlayerCmd:play:{fetch.url}"
        assert fetch.url.startswith(f"{hub.url}/speakers/audio/")
        assert fetch.status == 200
        assert fetch.content_type == "audio/mpeg"
        assert fetch.decoded_seconds() > 1.0
        assert httpx.get(fetch.url).status_code == 404

        def porch() -> dict:
            return hub.get("/api/health").json()["components"]["notify"]["data"]["speakers"]["speakers"][
                "porch"
            ]

        wait_until(lambda: porch()["plays"] == 1, 10, "the play counted in health")
        assert porch()["failures"] == 0


def test_the_one_time_audio_link_never_reaches_the_log(hub_factory, caplog):
    with FakeLinkPlay() as wiim, caplog.at_level(logging.DEBUG):
        hub = speakers_hub(
            hub_factory, {"porch": {"kind": "linkplay", "url": wiim.url, "kinds": ["audio_urgent"]}}
        )
        hub.services.notifier.camera_alert(URGENT)
        fetch = wiim.wait_fetched()
        wait_until(
            lambda: any("setPlayerCmd:play" in r.getMessage() for r in caplog.records), 10, "the play logged"
        )
    secret = fetch.url.rsplit("/", 1)[-1]
    assert len(secret) >= 16
    assert secret not in caplog.text
    assert "speakers%2Faudio%2F***" in caplog.text  # httpx's request line, redacted


def test_a_home_assistant_media_player_gets_play_media_with_the_token_and_fetches_the_audio(hub_factory):
    with FakeHomeAssistant(token="llat-secret", entities=["media_player.kitchen"]) as ha:
        hub = speakers_hub(
            hub_factory,
            {
                "kitchen": {
                    "kind": "homeassistant",
                    "url": ha.url,
                    "token": "llat-secret",
                    "entity_id": "media_player.kitchen",
                }
            },
        )
        hub.services.notifier.camera_alert(VISUAL)
        fetch = ha.wait_fetched()
        service, body = ha.calls[0]
        assert service == "play_media"
        assert body["entity_id"] == "media_player.kitchen"
        assert body["media_content_type"] == "music"
        assert body["announce"] is True
        assert body["media_content_id"] == fetch.url
        assert fetch.status == 200
        assert fetch.decoded_seconds() > 1.0
        assert httpx.get(fetch.url).status_code == 404


def test_a_head_request_does_not_use_up_the_one_time_url(hub_factory):
    with FakeLinkPlay() as wiim:
        hub = speakers_hub(hub_factory, {"porch": {"kind": "linkplay", "url": wiim.url}})
        audio = hub.services.notifier.speakers.audio
        name = audio.put(b"ID3 not really audio")
        url = f"{hub.url}/speakers/audio/{name}"
        assert httpx.head(url).status_code == 200
        assert httpx.get(url).content == b"ID3 not really audio"
        assert httpx.get(url).status_code == 404
        assert httpx.get(f"{hub.url}/speakers/audio/never-issued.mp3").status_code == 404


def test_a_one_time_audio_url_expires_unfetched() -> None:
    now = [1000.0]
    store = OneTimeAudio(ttl_s=60, clock=lambda: now[0])
    name = store.put(b"speech")
    now[0] += 61
    assert store.fetch(name) is None
    assert len(store) == 0


def notifier(wiim: FakeLinkPlay, clock, **speakers) -> SpeakerNotifier:
    config = SpeakersConfig(
        hub_url="http://127.0.0.1:9", devices={"porch": {"kind": "linkplay", "url": wiim.url}}, **speakers
    )
    return SpeakerNotifier(config, clock=clock)


def local(hour: int, minute: int = 0) -> float:
    t = time.localtime()
    return time.mktime((t.tm_year, t.tm_mon, t.tm_mday, hour, minute, 0, 0, 0, -1))


def test_quiet_hours_silence_visual_alerts_but_not_urgent_audio() -> None:
    with FakeLinkPlay() as wiim:
        night = notifier(wiim, lambda: local(23, 30), quiet_hours="22:00-07:00")
        assert night.announce("visual", "Camera gate: a person", "gate") == "quiet_hours"
        assert night.announce("audio_urgent", "Urgent. Camera gate heard help", "gate") == "queued"
        wait_until(lambda: wiim.plays, 15, "the urgent announcement")
        night.stop()
        assert len(wiim.plays) == 1
        day = notifier(wiim, lambda: local(12, 0), quiet_hours="22:00-07:00")
        assert day.announce("visual", "Camera gate: a person", "gate") == "queued"
        day.stop()


def test_the_rate_limit_stops_a_flapping_camera_from_looping_the_speaker() -> None:
    now = [local(12)]
    with FakeLinkPlay() as wiim:
        speakers = notifier(wiim, lambda: now[0], rate_limit=2, rate_window_s=300)
        outcomes = [speakers.announce("visual", f"alert {i}", "gate") for i in range(5)]
        assert outcomes == ["queued", "queued", "rate_limited", "rate_limited", "rate_limited"]
        assert speakers.announce("visual", "another camera", "yard") == "queued"
        now[0] += 301
        assert speakers.announce("visual", "later", "gate") == "queued"
        wait_until(lambda: len(wiim.plays) == 4, 20, "four announcements played")
        speakers.stop()
        assert speakers.status().outcomes == {"queued": 4, "rate_limited": 3}


def test_speakers_are_routed_by_camera_and_kind_and_reports_speak_nowhere_by_default() -> None:
    config = SpeakersConfig(
        hub_url="http://127.0.0.1:9",
        devices={
            "gate_only": {
                "kind": "linkplay",
                "url": "http://127.0.0.1:9",
                "cameras": ["gate"],
                "kinds": ["audio"],
            },
            "everything": {"kind": "linkplay", "url": "http://127.0.0.1:9"},
        },
    )
    speakers = SpeakerNotifier(config)
    assert speakers.route("audio", "gate") == ["gate_only"]
    assert speakers.route("audio", "yard") == []
    assert speakers.route("visual", "yard") == ["everything"]
    assert speakers.route("audio_urgent", "gate") == ["everything"]
    assert speakers.announce("report", "Watchdog: ollama restarted") == "not_routed"


def test_a_speaker_that_is_down_or_slow_does_not_hold_up_apprise_or_the_other_speaker() -> None:
    with FakeLinkPlay() as good, FakeLinkPlay(delay_s=4) as slow, NotificationReceiver() as rx:
        config = SpeakersConfig(
            hub_url="http://127.0.0.1:9",
            devices={
                "down": {"kind": "linkplay", "url": f"http://127.0.0.1:{free_port()}", "timeout_s": 2},
                "slow": {"kind": "linkplay", "url": slow.url, "timeout_s": 1},
                "good": {"kind": "linkplay", "url": good.url},
            },
        )
        speakers = SpeakerNotifier(config)
        bus = NotificationBus(AppriseNotifier([rx.apprise_url("json")]), None, speakers)
        bus.camera_alert(VISUAL)
        bus.camera_alert(CameraAlert("gate", "a fox on the lawn", time.time(), 9, None))
        message = rx.wait_for(lambda r: "fox" in r.body.decode(), timeout=15)
        assert message.json()["title"] == "Camera gate: alert"
        wait_until(lambda: len(good.plays) == 2, 20, "both announcements on the good speaker")
        wait_until(
            lambda: speakers.status().speakers["down"].failures == 2, 20, "the dead speaker's failures"
        )
        wait_until(
            lambda: speakers.status().speakers["slow"].failures == 2, 20, "the slow speaker's timeouts"
        )
        status = speakers.status().speakers
        assert status["down"].last_error.startswith("speaker down (http://127.0.0.1:")
        assert status["down"].last_error.endswith("is unreachable: ConnectError")
        assert status["slow"].last_error.endswith("did not answer within 1s")
        assert status["good"].plays == 2
        bus.stop()


def test_text_to_speech_reads_the_text_from_stdin_so_a_leading_dash_is_spoken() -> None:
    mp3 = TextToSpeech(SpeakersConfig()).synthesize("--help is on the way")
    assert mp3[:3] == b"ID3" or mp3[0] == 0xFF


def test_a_piper_voice_without_the_piper_program_fails_with_a_clear_error(tmp_path) -> None:
    voice = tmp_path / "en_US-amy-medium.onnx"
    voice.write_bytes(b"onnx")
    tts = TextToSpeech(SpeakersConfig(piper_voice=voice, piper_bin=str(tmp_path / "no-piper")))
    with pytest.raises(SpeechFailed) as info:
        tts.synthesize("hello")
    assert (
        info.value.message
        == f"speakers: {tmp_path / 'no-piper'} is not installed (install piper or fix piper_bin)"
    )


def test_speakers_without_a_hub_url_are_refused_at_config_load() -> None:
    with pytest.raises(ConfigError) as info:
        from homelab_hub.config import load_config

        load_config(
            None, notify={"speakers": {"devices": {"porch": {"kind": "linkplay", "url": "http://w"}}}}
        )
    assert "speakers need hub_url" in info.value.message
    assert isinstance(HubConfig().notify.speakers.devices, dict)
