"""CameraWorker under the real supervisor: sampling cadence, heartbeat details, crashes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from homelab_hub.cameras.detect.pipeline import SampleResult
from homelab_hub.cameras.settings import CameraConfig
from homelab_hub.cameras.stream.manager import CameraManager
from homelab_hub.config import SupervisorConfig
from homelab_hub.supervisor import Supervisor
from tests.cameras.clips import ClipSpec, write_clip
from tests.support import wait_until

READER = {"open_timeout_s": 3, "stall_timeout_s": 3, "backoff_initial_s": 0.1, "backoff_max_s": 0.3}


class ScriptedPipeline:
    """Stands in for the detection pipeline: answers from a script, records each sample."""

    crash_on: set[str] = set()

    def __init__(self, name: str, camera: CameraConfig, deps: object) -> None:
        self.name, self.camera = name, camera
        self.samples: list[float] = []

    def stream_restarted(self) -> None:
        self.restarts = getattr(self, "restarts", 0) + 1

    def process(self, frame, ts: float) -> SampleResult:
        if self.name in self.crash_on:
            raise RuntimeError(f"pipeline of {self.name} broke")
        self.samples.append(ts)
        if len(self.samples) % 2:
            return SampleResult(
                "alert", boxes=[(1, 2, 3, 4)], model_called=True, model_latency_s=0.2, alert_id=7
            )
        return SampleResult("clear")

    def update_zones(self, zones) -> None:
        pass


@pytest.fixture
def clip(tmp_path):
    return write_clip(
        tmp_path / "yard.mp4", ClipSpec("moving_object", width=160, height=120, seconds=2, gop=5)
    )


@pytest.fixture
def cameras(clip) -> Iterator[Callable[..., CameraManager]]:
    supervisor = Supervisor(
        SupervisorConfig(backoff_initial_s=0.1, backoff_max_s=0.5, max_restarts=50), tick_s=0.1
    )
    made: list[CameraManager] = []

    def make(
        names: tuple[str, ...] = ("yard",), interval_s: float = 0.5, reader: dict | None = None
    ) -> CameraManager:
        config = {
            n: CameraConfig(url=str(clip), interval_s=interval_s, reader=reader or READER) for n in names
        }
        manager = CameraManager(config, deps=None, supervisor=supervisor, pipeline_factory=ScriptedPipeline)
        made.append(manager)
        supervisor.start()
        return manager

    yield make
    ScriptedPipeline.crash_on = set()
    for manager in made:
        manager.close()
    supervisor.stop()


def test_the_worker_hands_each_new_frame_to_the_pipeline_once_per_interval(cameras):
    manager = cameras(interval_s=0.5)
    pipeline = manager.pipeline("yard")
    wait_until(lambda: len(pipeline.samples) >= 4, 15, "four samples")
    assert pipeline.samples == sorted(set(pipeline.samples))  # every sample a new frame, in order


def test_the_worker_beats_with_frame_age_sampled_fps_reconnects_and_model_latency(cameras):
    manager = cameras()
    wait_until(lambda: manager.runtime("yard").samples >= 3, 15, "three samples")
    ctx = manager.supervisor.context("camera:yard")
    wait_until(lambda: ctx.snapshot()[1].get("samples", 0) >= 3, 5, "a beat after the samples")
    _, details = ctx.snapshot()
    assert details["last_frame_age_s"] is not None
    assert details["last_frame_age_s"] < 10
    assert details["sampled_fps"] > 0
    assert details["reconnects"] >= 0
    assert details["model_latency_ms"] == 200.0
    assert details["alerts"] >= 1
    assert details["model_calls"] >= 1
    assert details["last_decision"] in ("alert", "clear")
    health = manager.supervisor.states()["camera:yard"].public()
    assert health["last_frame_age_s"] is not None
    assert "sampled_fps" in health


def test_a_crashing_pipeline_restarts_its_worker_and_the_other_camera_keeps_sampling(cameras):
    ScriptedPipeline.crash_on = {"porch"}
    manager = cameras(names=("yard", "porch"))
    wait_until(lambda: manager.supervisor.states()["camera:porch"].restarts >= 2, 15, "porch restarts")
    assert "pipeline of porch broke" in manager.supervisor.states()["camera:porch"].reason
    yard = manager.pipeline("yard")
    seen = len(yard.samples)
    wait_until(lambda: len(yard.samples) >= seen + 2, 15, "yard to keep sampling")
    assert manager.supervisor.states()["camera:yard"].restarts == 0
    ScriptedPipeline.crash_on = set()
    porch = manager.pipeline("porch")
    wait_until(lambda: len(porch.samples) >= 1, 15, "porch to sample again once the pipeline is fixed")


def test_a_reader_frozen_inside_a_read_is_abandoned_and_the_worker_restarted(cameras, monkeypatch):
    # The seed's zombie: a read that never returns. Simulated by a _read that blocks on an
    # event; the worker must notice the missing progress, crash, and leave the thread alone.
    from homelab_hub.cameras.stream import reader as reader_module
    from homelab_hub.cameras.stream import worker as worker_module

    release = threading.Event()
    frozen: list[threading.Thread] = []

    def frozen_read(self, container):
        frozen.append(threading.current_thread())
        release.wait(60)
        return False, False

    monkeypatch.setattr(reader_module.FrameReader, "_read", frozen_read)
    monkeypatch.setattr(worker_module, "_STUCK_MARGIN_S", 0.5)
    monkeypatch.setattr(worker_module, "_READER_JOIN_S", 0.2)
    manager = cameras(
        reader={"open_timeout_s": 0.5, "stall_timeout_s": 0.5, "backoff_initial_s": 0.1, "backoff_max_s": 0.2}
    )
    try:
        wait_until(lambda: manager.supervisor.states()["camera:yard"].restarts >= 1, 30, "a restart")
        assert "reader made no progress" in manager.supervisor.states()["camera:yard"].reason
        wait_until(lambda: len(frozen) >= 2, 15, "a fresh reader for the restarted worker")
        assert all(t.is_alive() for t in frozen)  # never closed or killed from outside
    finally:
        release.set()
    manager.close()
    wait_until(
        lambda: not any(t.is_alive() for t in frozen), 15, "the frozen readers to finish by themselves"
    )
