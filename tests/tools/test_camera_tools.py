"""camera_list and camera_snapshot: through the handlers, the REST mirror and MCP."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from homelab_hub.config import load_config
from homelab_hub.errors import NotFound, Unavailable
from homelab_hub.server.lifecycle import build_services, close_services
from homelab_hub.tools.cameras import CameraListInput, CameraSnapshotInput, camera_list, camera_snapshot
from homelab_hub.tools.registry import Identity, ToolContext
from tests.cameras.clips import ClipSpec, write_clip
from tests.support import free_port, wait_until

READER = {"open_timeout_s": 3, "stall_timeout_s": 3, "backoff_initial_s": 0.1, "backoff_max_s": 0.3}
# The hubs of camera tests run without memory: loading its embedding model in the
# background makes each hub's stop wait for it (about 10 s here), and cameras never use it.
NO_MEMORY = {"enabled": False}


def camera_overrides(tmp_path, **cameras: str) -> dict:
    """Quiet cameras (no model, alert images under tmp_path) for the given URLs."""
    return {
        "memory": NO_MEMORY,
        "vision": {"enabled": False},
        "cameras": {
            name: {
                "url": url,
                "interval_s": 0.5,
                "reader": READER,
                "alerts": {"image_dir": str(tmp_path / "alerts")},
            }
            for name, url in cameras.items()
        },
    }


@pytest.fixture
def clip(tmp_path):
    return write_clip(
        tmp_path / "yard.mp4", ClipSpec("static_noise", width=160, height=120, seconds=2, gop=5)
    )


@pytest.fixture
def services(tmp_path, clip):
    config = load_config(
        None,
        storage={"url": f"sqlite:///{tmp_path}/hub.db"},
        logging={"file": None},
        **camera_overrides(tmp_path, yard=str(clip), ghost=f"rtsp://127.0.0.1:{free_port()}/live"),
    )
    services = build_services(config)
    yield services
    close_services(services)


def test_camera_list_shows_every_camera_with_its_state(services):
    ctx = ToolContext(services, Identity("agent-a"))
    wait_until(lambda: services.cameras.runtime("yard").samples >= 1, 15, "a sample")
    answer = camera_list(ctx, CameraListInput())
    by_name = {c.name: c for c in answer.cameras}
    assert sorted(by_name) == ["ghost", "yard"]
    assert by_name["yard"].state == "ok"
    assert by_name["yard"].samples >= 1
    assert by_name["yard"].last_frame_age_s is not None
    wait_until(lambda: services.cameras.status("ghost").stats.last_error, 10, "the ghost camera's error")
    ghost = {c.name: c for c in camera_list(ctx, CameraListInput()).cameras}["ghost"]
    assert ghost.state == "offline"
    assert ghost.reason.startswith("connection refused (rtsp://127.0.0.1:")
    assert "cannot open" in ghost.last_error
    health = services.health()
    assert health.components["cameras"].state == "degraded"
    assert health.workers["camera:yard"].data["sampled_fps"] >= 0


def test_camera_snapshot_returns_a_jpeg_with_its_time_and_state(services):
    ctx = ToolContext(services, Identity("agent-a"))
    wait_until(lambda: services.cameras.runtime("yard").latest() is not None, 15, "a frame")
    answer = camera_snapshot(ctx, CameraSnapshotInput(camera="yard", annotated=True))
    image = cv2.imdecode(np.frombuffer(base64.b64decode(answer.image.data), np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (120, 160, 3)
    assert answer.image.mime_type == "image/jpeg"
    assert (answer.width, answer.height, answer.state) == (160, 120, "ok")
    assert answer.taken_at.endswith("+00:00")
    assert 0 <= answer.age_s < 30


def test_camera_snapshot_of_an_unknown_camera_names_the_known_ones(services):
    ctx = ToolContext(services, Identity("agent-a"))
    with pytest.raises(NotFound, match="unknown camera 'garage'; known cameras: 'ghost', 'yard'"):
        camera_snapshot(ctx, CameraSnapshotInput(camera="garage"))


def test_camera_snapshot_of_a_camera_without_frames_says_why(services):
    ctx = ToolContext(services, Identity("agent-a"))
    with pytest.raises(Unavailable, match="camera 'ghost' has no frame"):
        camera_snapshot(ctx, CameraSnapshotInput(camera="ghost"))


def test_camera_tools_over_rest(hub_factory, tmp_path, clip):
    hub = hub_factory(camera_overrides(tmp_path, yard=str(clip)))
    wait_until(lambda: hub.services.cameras.runtime("yard").latest() is not None, 15, "a frame")
    listed = hub.rest("camera_list", {})
    assert listed.status_code == 200, listed.text
    assert [c["name"] for c in listed.json()["cameras"]] == ["yard"]
    shot = hub.rest("camera_snapshot", {"camera": "yard"})
    assert shot.status_code == 200, shot.text
    body = shot.json()
    assert body["image"]["mime_type"] == "image/jpeg"
    assert base64.b64decode(body["image"]["data"])[:2] == b"\xff\xd8"
    missing = hub.rest("camera_snapshot", {"camera": "garage"})
    assert missing.status_code == 404
    assert missing.json() == {
        "ok": False,
        "error": {"code": "not_found", "message": "unknown camera 'garage'; known cameras: 'yard'"},
    }
    bad = hub.rest("camera_snapshot", {"camera": "yard", "zoom": 3})
    assert bad.status_code == 400
    assert bad.json()["ok"] is False


def test_camera_tools_over_mcp(hub_factory, tmp_path, clip):
    hub = hub_factory(camera_overrides(tmp_path, yard=str(clip)))
    wait_until(lambda: hub.services.cameras.runtime("yard").latest() is not None, 15, "a frame")
    listed = hub.mcp_call("camera_list", {})
    assert not listed.is_error
    assert listed.structured_content["cameras"][0]["name"] == "yard"
    shot = hub.mcp_call("camera_snapshot", {"camera": "yard", "annotated": True}, transport="sse")
    assert not shot.is_error
    images = [c for c in shot.content if c.type == "image"]
    assert len(images) == 1
    assert images[0].mime_type == "image/jpeg"
    assert base64.b64decode(images[0].data)[:2] == b"\xff\xd8"
    missing = hub.mcp_call("camera_snapshot", {"camera": "garage"})
    assert missing.is_error
    assert "unknown camera 'garage'; known cameras: 'yard'" in missing.content[0].text


def test_a_config_reload_adds_a_camera_without_restarting_the_running_one(services, tmp_path, clip):
    from homelab_hub.server.lifecycle import reload_services

    wait_until(lambda: services.cameras.runtime("yard").samples >= 1, 15, "a sample")
    yard_ctx = services.supervisor.context("camera:yard")
    new = load_config(
        None,
        storage={"url": f"sqlite:///{tmp_path}/hub.db"},
        logging={"file": None},
        **camera_overrides(tmp_path, yard=str(clip), porch=str(clip)),
    )
    assert "cameras" in reload_services(services, new)
    assert services.cameras.names() == ["porch", "yard"]
    assert services.supervisor.context("camera:yard") is yard_ctx
    assert "camera:ghost" not in services.supervisor.names()
    wait_until(lambda: services.cameras.runtime("porch").samples >= 1, 15, "the added camera's first sample")
    ctx = ToolContext(services, Identity("agent-a"))
    assert [c.name for c in camera_list(ctx, CameraListInput()).cameras] == ["porch", "yard"]


def test_watchdog_status_and_health_show_each_cameras_frame_age_fps_reconnects_and_model_latency(
    hub_factory, tmp_path, clip
):
    hub = hub_factory(camera_overrides(tmp_path, yard=str(clip)))
    wait_until(lambda: hub.services.cameras.runtime("yard").samples >= 2, 15, "two samples")
    wait_until(
        lambda: hub.services.supervisor.states()["camera:yard"].details.get("samples", 0) >= 2, 5, "a beat"
    )
    answer = hub.rest("watchdog_status", {})
    assert answer.status_code == 200, answer.text
    rows = {row["name"]: row for row in answer.json()["services"]}
    details = rows["worker:camera:yard"]["details"]
    for key in ("last_frame_age_s", "sampled_fps", "reconnects", "model_latency_ms"):
        assert key in details, (key, details)
    assert details["last_frame_age_s"] is not None
    assert details["sampled_fps"] > 0
    components = hub.get("/api/health").json()["components"]
    assert components["cameras"]["state"] == "ok"
    assert components["cameras"]["data"]["yard"]["sampled_fps"] > 0
    assert components["worker:camera:yard"]["data"]["last_frame_age_s"] is not None
