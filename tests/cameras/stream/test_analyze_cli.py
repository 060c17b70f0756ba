"""``homelab-hub camera analyze``: replaying clips through the detector, as an operator would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from homelab_hub.server.cli import main
from tests.cameras.clips import ClipSpec, write_clip, write_not_video
from tests.fakes.ollama_vision import FakeOllamaVision


@pytest.fixture
def clips(tmp_path):
    def make(scene: str, **spec) -> str:
        return str(write_clip(tmp_path / f"{scene}.mp4", ClipSpec(scene, **{"seconds": 6, **spec})))

    return make


@pytest.fixture(autouse=True)
def no_config_file(monkeypatch, tmp_path):
    monkeypatch.delenv("HOMELAB_HUB_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./homelab-hub.toml, and nothing written outside tmp_path


def analyze(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["camera", "analyze", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_moving_object_shows_motion_boxes_at_each_sample(capsys, clips):
    code, out, _ = analyze(capsys, clips("moving_object"), "--interval", "1", "--no-model", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["summary"]["samples"] == 6
    assert [s["t"] for s in doc["samples"]] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert doc["samples"][0]["decision"] == "clear"  # nothing to compare the first frame with
    assert all(s["boxes"] for s in doc["samples"][1:])
    assert doc["summary"]["model_calls"] == 0
    assert doc["summary"]["motion_samples"] == 5


def test_a_quiet_scene_resolves_every_sample_without_the_model(capsys, clips):
    code, out, _ = analyze(capsys, clips("static_noise"), "--interval", "0.5", "--no-model")
    assert code == 0
    assert "summary: 12 samples, 0 with motion" in out
    assert "12 resolved without the model" in out


def test_with_a_configured_model_motion_goes_to_the_model_and_alerts_are_counted(capsys, clips, tmp_path):
    with FakeOllamaVision() as ollama:
        config = tmp_path / "hub.toml"
        config.write_text(
            f'[vision]\nurl = "{ollama.url}"\n\n[cameras.yard]\nurl = "rtsp://127.0.0.1:1/unused"\ninterval_s = 2\n'
            "[cameras.yard.alerts]\ncooldown_s = 0\n"
        )
        code, out, _ = analyze(
            capsys, "--config", str(config), clips("moving_object"), "--camera", "yard", "--json"
        )
        assert ollama.chats, "the stand-in model was never asked"
    assert code == 0
    doc = json.loads(out)
    assert doc["camera"] == "yard"
    assert doc["interval_s"] == 2.0
    assert doc["model"] is True
    summary = doc["summary"]
    assert summary["samples"] == 3
    assert summary["model_calls"] == 2
    assert summary["alerts"] == 2
    alert = doc["samples"][1]
    assert alert["decision"] == "alert"
    assert alert["model_latency_ms"] is not None
    assert "person" in alert["description"]
    assert not (tmp_path / "data").exists()  # replay alerts never land in the hub's folders


def test_bad_input_gets_one_clear_line_and_exit_status_1(capsys, clips, tmp_path):
    code, out, err = analyze(capsys, str(write_not_video(tmp_path / "notes.mp4")), "--no-model")
    assert (code, out) == (1, "")
    assert (
        err.strip()
        == f"homelab-hub: cannot read '{tmp_path / 'notes.mp4'}' as video: Invalid data found when processing input"
    )
    code, _, err = analyze(capsys, str(tmp_path / "missing.mp4"))
    assert code == 1
    assert "does not exist" in err
    code, _, err = analyze(capsys, clips("static_noise"), "--camera", "garage")
    assert code == 1
    assert "unknown camera 'garage'; known cameras: none are configured" in err
    code, _, err = analyze(capsys, clips("static_noise"), "--interval", "-1")
    assert code == 1
    assert "--interval must be above 0 seconds, got -1.0" in err


def test_the_installed_command_has_help():
    command = Path(sys.executable).with_name("homelab-hub")
    done = subprocess.run(
        [str(command), "camera", "analyze", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "--interval S" in done.stdout
    assert "VIDEO" in done.stdout
    assert "--no-model" in done.stdout
