"""CameraManager: per-camera reload, lookups with clear errors, snapshots, bad cameras
that never disturb the good ones."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import cv2
import numpy as np
import pytest

from homelab_hub.cameras.detect.pipeline import SampleResult
from homelab_hub.cameras.settings import CameraConfig
from homelab_hub.cameras.stream.manager import CameraManager
from homelab_hub.config import SupervisorConfig
from homelab_hub.errors import NotFound, Unavailable
from homelab_hub.supervisor import Supervisor
from tests.cameras.clips import ClipSpec, write_clip, write_not_video
from tests.support import free_port, wait_until

READER = {"open_timeout_s": 3, "stall_timeout_s": 3, "backoff_initial_s": 0.1, "backoff_max_s": 0.3}
BOX = (20, 30, 60, 40)


class BoxPipeline:
    """Stands in for the detection pipeline: always reports one motion box."""

    def __init__(self, name: str, camera: CameraConfig, deps: object) -> None:
        self.name, self.camera = name, camera
        self.samples = 0

    def stream_restarted(self) -> None:
        self.restarts = getattr(self, "restarts", 0) + 1

    def process(self, frame, ts: float) -> SampleResult:
        self.samples += 1
        return SampleResult("unverified", boxes=[BOX])

    def update_zones(self, zones) -> None:
        pass


@pytest.fixture
def clip(tmp_path):
    return write_clip(
        tmp_path / "yard.mp4", ClipSpec("moving_object", width=160, height=120, seconds=2, gop=5)
    )


def cam(url: str, **extra) -> CameraConfig:
    return CameraConfig(**{"url": url, "interval_s": 0.5, "reader": READER, **extra})


@pytest.fixture
def supervisor() -> Iterator[Supervisor]:
    sup = Supervisor(SupervisorConfig(backoff_initial_s=0.1, backoff_max_s=0.5), tick_s=0.1)
    sup.start()
    yield sup
    sup.stop()


@pytest.fixture
def manager_for(supervisor) -> Iterator[Callable[[dict[str, CameraConfig]], CameraManager]]:
    made: list[CameraManager] = []

    def make(cameras: dict[str, CameraConfig]) -> CameraManager:
        manager = CameraManager(cameras, deps=None, supervisor=supervisor, pipeline_factory=BoxPipeline)
        made.append(manager)
        return manager

    yield make
    for manager in made:
        manager.close()


def test_reload_adds_changes_and_removes_cameras_without_touching_the_others(clip, manager_for):
    manager = manager_for({"yard": cam(str(clip)), "porch": cam(str(clip)), "shed": cam(str(clip))})
    wait_until(lambda: all(manager.runtime(n).samples >= 1 for n in ("yard", "porch", "shed")), 15, "samples")
    yard_ctx = manager.supervisor.context("camera:yard")
    yard_runtime = manager.runtime("yard")
    porch_ctx = manager.supervisor.context("camera:porch")

    result = manager.reload(
        {"yard": cam(str(clip)), "porch": cam(str(clip), interval_s=0.7), "gate": cam(str(clip))}
    )

    assert (result.added, result.changed, result.removed, result.unchanged) == (
        ["gate"],
        ["porch"],
        ["shed"],
        ["yard"],
    )
    assert manager.names() == ["gate", "porch", "yard"]
    assert manager.supervisor.context("camera:yard") is yard_ctx  # same worker, never restarted
    assert manager.runtime("yard") is yard_runtime
    assert manager.supervisor.context("camera:porch") is not porch_ctx
    assert porch_ctx.stop.is_set()
    assert "camera:shed" not in manager.supervisor.names()
    assert manager.runtime("porch").camera.interval_s == 0.7
    wait_until(lambda: manager.runtime("gate").samples >= 1, 15, "the added camera to sample")
    seen = yard_runtime.samples
    wait_until(lambda: yard_runtime.samples > seen, 15, "the untouched camera to keep sampling")


def test_an_unknown_camera_is_not_found_and_the_message_lists_the_known_ones(clip, manager_for):
    manager = manager_for({"yard": cam(str(clip)), "gate": cam(str(clip))})
    for call in (manager.pipeline, manager.status, manager.latest_frame, manager.snapshot_jpeg):
        with pytest.raises(NotFound, match=r"unknown camera 'garage'; known cameras: 'gate', 'yard'"):
            call("garage")


def test_bad_cameras_report_clear_errors_and_the_good_camera_keeps_running(tmp_path, clip, manager_for):
    manager = manager_for(
        {
            "yard": cam(str(clip)),
            "ghost": cam(f"rtsp://127.0.0.1:{free_port()}/live"),
            "notes": cam(str(write_not_video(tmp_path / "notes.mp4"))),
        }
    )
    wait_until(lambda: manager.status("ghost").stats.last_error, 15, "the ghost camera's error")
    wait_until(lambda: manager.status("notes").stats.last_error, 15, "the notes camera's error")
    assert "cannot open rtsp://127.0.0.1:" in manager.status("ghost").stats.last_error
    assert "Invalid data" in manager.status("notes").stats.last_error
    assert manager.status("ghost").state == "offline"
    assert manager.status("ghost").reason.startswith("connection refused (rtsp://127.0.0.1:")
    assert manager.status("notes").summary.startswith("offline: not a video stream (")
    with pytest.raises(
        Unavailable, match="camera 'notes' has no frame: no frame has been decoded yet; last error"
    ):
        manager.latest_frame("notes")
    wait_until(lambda: manager.runtime("yard").samples >= 3, 15, "the good camera to keep sampling")
    assert manager.status("yard").state == "ok"
    health = manager.health()
    assert health.state == "degraded"
    assert "ghost: offline: connection refused (rtsp://127.0.0.1:" in health.detail
    assert "notes: offline: not a video stream (" in health.detail
    assert "yard" not in health.detail
    assert set(health.data) == {"yard", "ghost", "notes"}


def test_a_disabled_camera_is_listed_but_not_read(clip, manager_for):
    manager = manager_for({"yard": cam(str(clip), enabled=False)})
    assert manager.names() == ["yard"]
    assert manager.status("yard").state == "disabled"
    assert "camera:yard" not in manager.supervisor.names()
    with pytest.raises(Unavailable, match="disabled in the config"):
        manager.snapshot_jpeg("yard")
    assert manager.health().state == "disabled"


def test_snapshot_is_a_jpeg_of_the_latest_frame_and_annotated_draws_the_motion_boxes(clip, manager_for):
    manager = manager_for({"yard": cam(str(clip))})
    wait_until(lambda: manager.runtime("yard").samples >= 1, 15, "a sample")
    plain = manager.snapshot_jpeg("yard")
    image = cv2.imdecode(np.frombuffer(plain.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (120, 160, 3)
    assert (plain.width, plain.height) == (160, 120)
    assert plain.boxes == []
    assert time.time() - plain.ts < 30

    marked = manager.snapshot_jpeg("yard", annotated=True)
    assert marked.boxes == [BOX]
    drawn = cv2.imdecode(np.frombuffer(marked.jpeg, np.uint8), cv2.IMREAD_COLOR)
    x, y, w, h = BOX
    b, g, r = (int(v) for v in drawn[y + h // 2, x])  # middle of the box's left edge
    assert r > 150, (b, g, r)
    assert g < 100, (b, g, r)
    assert b < 100, (b, g, r)


def test_a_camera_with_a_detect_stream_samples_the_detect_stream(clip, manager_for):
    main_stream = f"rtsp://admin:pw@127.0.0.1:{free_port()}/main"  # never opened by the worker
    manager = manager_for({"yard": cam(main_stream, detect_url=str(clip))})
    wait_until(lambda: manager.runtime("yard").samples >= 1, 15, "a sample from the detect stream")
    status = manager.status("yard")
    assert status.url.startswith("rtsp://admin:***@127.0.0.1:")
    assert status.detect_url == str(clip)
    assert status.stats.last_error == ""
    assert status.state == "ok"
    assert manager.latest_frame("yard")[0].shape == (120, 160, 3)


def test_new_shared_deps_rebuild_every_camera(clip, manager_for):
    cameras = {"yard": cam(str(clip)), "gate": cam(str(clip))}
    manager = manager_for(cameras)
    old_pipeline = manager.pipeline("yard")
    result = manager.reload(cameras, deps=object())  # e.g. another vision model in [vision]
    assert sorted(result.changed) == ["gate", "yard"]
    assert result.unchanged == []
    assert manager.pipeline("yard") is not old_pipeline
    assert manager.reload(cameras).unchanged == ["yard", "gate"]
