"""``homelab-hub camera listen``: a clip's sound through the transcriber's chunker, gates and
model, faster than real time; how an operator tunes the level gate and noise phrases."""

from __future__ import annotations

import json

import pytest

from homelab_hub.server.cli import main
from tests.cameras.audio_clips import espeak_available, hiss, script, silence, speech, write_wav
from tests.cameras.clips import ClipSpec, write_clip
from tests.support import require


@pytest.fixture(autouse=True)
def no_config_file(monkeypatch, tmp_path):
    require(espeak_available(), "espeak-ng (Debian package espeak-ng)")
    monkeypatch.delenv("HOMELAB_HUB_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)


def listen(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["camera", "listen", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def config(tmp_path, audio: str = "", transcriber: str = "") -> str:
    path = tmp_path / "hub.toml"
    path.write_text(
        f'[cameras.gate]\nurl = "rtsp://127.0.0.1/none"\n[cameras.gate.audio]\n{audio}\n[transcriber]\n{transcriber}\n'
    )
    return str(path)


def test_a_minute_of_silence_and_hiss_is_skipped_by_the_level_gate(capsys, tmp_path):
    clip = write_wav(tmp_path / "night.wav", script(silence(30), hiss(30, dbfs=-60)))
    code, out, _ = listen(capsys, str(clip), "--json")
    assert code == 0
    summary = json.loads(out)["summary"]
    assert summary["chunks"] == 4
    assert summary["skipped_quiet"] == 4
    assert summary["transcribed"] == 0
    assert summary["alerts"] == 0


def test_through_the_model_a_minute_of_silence_and_hiss_never_becomes_you(capsys, tmp_path):
    # The level gate off: every chunk reaches whisper, whose VAD finds no speech (without it,
    # tiny.en answers "you" on digital silence).
    clip = write_wav(tmp_path / "night.wav", script(silence(30), hiss(30, dbfs=-50, seed=3)))
    code, out, _ = listen(
        capsys,
        str(clip),
        "--camera",
        "gate",
        "--config",
        config(tmp_path, "level_gate_dbfs = -120"),
        "--json",
    )
    assert code == 0
    doc = json.loads(out)
    assert [c["decision"] for c in doc["chunks"]] == ["no_speech"] * 4
    assert [c["transcript"] for c in doc["chunks"]] == [""] * 4
    assert doc["summary"]["transcribed"] == 4
    assert doc["summary"]["alerts"] == 0


def gate_clip(tmp_path):
    return write_wav(
        tmp_path / "gate.wav",
        script(
            silence(0.8),
            speech("Help! There is a fire at the front gate"),
            silence(1.7),
            speech("The parcel is on the doorstep"),
            silence(2.8),
            speech("Thank you for watching"),
            silence(3.5),
            hiss(2, dbfs=-60),
        ),  # fmt: skip
    )


def test_listen_prints_each_chunks_decision_and_a_summary(capsys, tmp_path):
    hub = config(tmp_path, "chunk_s = 5")
    code, out, _ = listen(capsys, str(gate_clip(tmp_path)), "--camera", "gate", "--config", hub)
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == (
        f"listening to {tmp_path / 'gate.wav'} as camera 'gate': 5s chunks, level gate -45 dBFS, "
        "model faster-whisper tiny.en"
    )
    assert [line.split()[3] for line in lines[1:-1]] == ["urgent", "gated", "noise", "quiet"]
    assert lines[2].endswith("(no visual alert within 120s (nor 30s after))")
    assert lines[-1] == "summary: 4 chunks, 1 skipped as quiet, 3 transcribed, 1 alerts (1 urgent)"


def test_a_visual_alert_given_to_listen_opens_the_gate_for_the_speech_before_it(capsys, tmp_path):
    hub = config(tmp_path, "chunk_s = 5")
    code, out, _ = listen(
        capsys,
        str(gate_clip(tmp_path)),
        "--camera",
        "gate",
        "--config",
        hub,
        "--visual-alert-at",
        "12",
        "--json",
    )
    assert code == 0
    doc = json.loads(out)
    chunks = doc["chunks"]
    assert [c["decision"] for c in chunks] == ["urgent", "alert", "noise", "quiet"]
    assert [c["alert"] for c in chunks] == ["audio_urgent", "audio", None, None]
    assert "fire" in chunks[0]["transcript"].lower()
    assert chunks[1]["why"].startswith("visual alert ")
    assert chunks[2]["dropped"][0]["why"] == "noise phrase"
    assert doc["summary"] == {
        "chunks": 4,
        "skipped_quiet": 1,
        "transcribed": 3,
        "alerts": 2,
        "urgent": 1,
        "decisions": {"urgent": 1, "alert": 1, "noise": 1, "quiet": 1},
    }


def test_listen_with_a_missing_model_directory_says_which_and_how_to_fix_it(capsys, tmp_path):
    hub = config(tmp_path, transcriber=f'model_dir = "{tmp_path / "medium.en"}"')
    code, out, err = listen(capsys, str(gate_clip(tmp_path)), "--camera", "gate", "--config", hub)
    assert code == 1
    assert out == ""
    assert err.startswith(f"homelab-hub: transcriber: model directory '{tmp_path / 'medium.en'}' ")


def test_listen_to_a_clip_without_sound_is_a_clear_error(capsys, tmp_path):
    video = write_clip(tmp_path / "yard.mp4", ClipSpec("moving_object", seconds=1))
    code, _, err = listen(capsys, str(video))
    assert code == 1
    assert err == f"homelab-hub: {str(video)!r} has no audio track\n"


def test_doctor_names_the_speech_model_in_use_and_how_to_use_a_bigger_one(capsys, tmp_path):
    code = main(["doctor", "--config", config(tmp_path, "enabled = true")])
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "speech model" in x)
    assert line.startswith("✓ speech model: faster-whisper tiny.en (cpu/int8, in use) at ")
    assert "medium.en" in line
    assert code in (0, 1)  # the camera URL of the example is unreachable


def test_doctor_flags_a_missing_speech_model_when_a_camera_has_audio(capsys, tmp_path):
    hub = config(tmp_path, "enabled = true", f'model_dir = "{tmp_path / "medium.en"}"')
    assert main(["doctor", "--config", hub]) == 1
    out = capsys.readouterr().out
    assert f"✗ speech model: transcriber: model directory '{tmp_path / 'medium.en'}' " in out
