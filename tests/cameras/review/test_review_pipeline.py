"""The review against a running pipeline: a suppression made from a group silences the next
alert with that description on that camera and counts a hit, undo brings alerts back; the
pipeline's motion feeds the zone editor's activity underlay."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from homelab_hub.cameras.alerts.store import AlertStore
from homelab_hub.cameras.detect.activity import GRID_H, GRID_W, MotionActivity, camera_activity
from homelab_hub.cameras.detect.pipeline import CameraPipeline, PipelineDeps
from homelab_hub.cameras.review.groups import AlertReview
from homelab_hub.cameras.review.suppress import suppress, unsuppress
from homelab_hub.cameras.settings import AlertsConfig, CameraConfig, ReviewConfig
from homelab_hub.config import HubConfig
from tests.cameras.clips import ClipSpec, frame_at
from tests.cameras.review_data import seed_day
from tests.fakes.ollama_vision import LOOK_ALERT, FakeOllamaVision


@pytest.fixture(scope="module")
def vision() -> Iterator[FakeOllamaVision]:
    with FakeOllamaVision() as server:
        yield server


def samples(start: int, count: int) -> Iterator:
    """Frames of a box crossing the yard, far enough apart that each one moved."""
    spec = ClipSpec("moving_object", width=320, height=240)
    for i in range(start, start + count):
        yield frame_at(spec, i * 5)


def test_a_suppressed_group_silences_the_next_alert_counts_a_hit_and_undo_restores_it(
    db, tmp_path: Path, vision: FakeOllamaVision
) -> None:
    vision.reset()
    deps = PipelineDeps.from_config(HubConfig(vision={"url": vision.url, "timeout_s": 5}), db, None)
    camera = CameraConfig(url="none.mp4", alerts=AlertsConfig(image_dir=tmp_path / "alerts", cooldown_s=0))
    pipeline = CameraPipeline("yard", camera, deps)
    # The hub's one alert store (its CameraService's): the review's decisions reach the pipeline's cache.
    review = AlertReview(db, config=ReviewConfig(), cameras={"yard": camera}, alerts=deps.alerts)
    now = time.time()
    frames = list(samples(0, 5))
    decisions = [pipeline.process(frames[i], now + i).decision for i in range(2)]
    assert decisions == ["clear", "alert"]
    group = review.window(1).groups[0]
    assert group.description == LOOK_ALERT.split(": ", 1)[1]
    done = suppress(review, by="root", group_id=group.id)
    assert pipeline.process(frames[2], now + 2).decision == "suppressed"
    assert pipeline.process(frames[3], now + 3).decision == "suppressed"
    counted = AlertStore(db).suppression(done.suppression.id)
    assert counted.hits == 2
    assert counted.last_hit_at == pytest.approx(time.time(), abs=30)
    assert review.group(group.id, 1).suppression.hits == 2
    gate = CameraPipeline("gate", camera, deps)  # the same description on another camera
    assert [gate.process(frames[i], now + 4 + i).decision for i in range(2)] == ["clear", "alert"]
    unsuppress(review, by="root", group_id=group.id)
    restored = pipeline.process(frames[4], now + 6)
    assert restored.decision == "alert"
    assert restored.alert_id is not None
    assert AlertStore(db).suppression(done.suppression.id).hits == 2
    deps.close()


def test_the_activity_underlay_shows_where_motion_and_alerts_happened(sqlite_db, tmp_path: Path) -> None:
    pipeline = CameraPipeline("yard", CameraConfig(url="none.mp4"), None)
    now = time.time()
    for i, frame in enumerate(samples(0, 8)):
        pipeline.process(frame, now - 60 + i)
    alerts = seed_day(sqlite_db, tmp_path / "alerts")
    report = camera_activity(
        "yard",
        24,
        motion=pipeline.activity,
        alerts=AlertStore(sqlite_db).recent(camera="yard", limit=50),
        now=now,
    )
    assert (report.grid_width, report.grid_height) == (GRID_W, GRID_H)
    assert report.motion_samples == 7  # the first frame has nothing to compare with
    heat_rows = [sum(row) for row in report.motion_heat]
    assert heat_rows[: GRID_H // 2] == [0] * (GRID_H // 2)  # the box moves along the lower half only
    assert sum(heat_rows[GRID_H // 2 :]) > 0
    assert (report.frame_width, report.frame_height) == (320, 240)  # the pipeline's own frames
    assert len(report.alert_boxes) == 7  # grill x4, cat x3
    grill = next(
        b
        for b in report.alert_boxes
        if b.alert_id == alerts["A person is standing next to the kamado grill."][0].id
    )
    # The alert's box is normalised by its own image (640 x 360), not by the camera's frames.
    assert (grill.x, grill.y, grill.w, grill.h) == (0.75, 0.5556, 0.125, 0.25)
    assert all(0 <= b.x <= 1 and 0 <= b.y <= 1 for b in report.motion_boxes)


def test_the_motion_accumulator_stays_bounded_and_forgets_old_hours() -> None:
    activity = MotionActivity()
    start = 1_700_000_000.0
    for i in range(10_000):
        activity.add([(10, 10, 50, 50)], 640, 360, start + i)
    grid, samples_, boxes = activity.snapshot(24, start + 10_000)
    assert samples_ == 10_000
    assert len(boxes) == 300
    assert grid.shape == (GRID_H, GRID_W)
    _, later, _ = activity.snapshot(24, start + 3 * 86400)
    assert later == 0


def test_review_settings_reload_reschedules_the_daily_worker_and_restarts_no_camera(tmp_path: Path) -> None:
    from homelab_hub.config import load_config
    from homelab_hub.server.lifecycle import build_services, close_services, reload_services
    from tests.cameras.review_data import cameras_config

    def config(**review):
        return load_config(
            None, storage={"url": f"sqlite:///{tmp_path}/hub.db"}, logging={"file": None},
            cameras=cameras_config(tmp_path), memory={"enabled": False}, vision={"review": review},
        )  # fmt: skip

    services = build_services(config(), start_workers=False)
    try:
        pipeline = services.cameras.pipeline("gate")
        assert "alert-review" in services.supervisor.names()
        reload_services(services, config(daily=False))
        assert "alert-review" not in services.supervisor.names()
        reload_services(services, config(daily=True, daily_at="05:30", context="snowy Calgary"))
        assert "alert-review" in services.supervisor.names()
        assert services.cameras.pipeline("gate") is pipeline  # the cameras kept running
    finally:
        close_services(services)


def test_suppressions_keep_applying_while_the_database_is_away(tmp_path: Path, monkeypatch) -> None:
    from homelab_hub.cameras.alerts import store as alerts_module
    from homelab_hub.errors import StorageUnavailable
    from homelab_hub.server.components import all_migrations
    from homelab_hub.store import Database, migrate

    db = Database.from_url(f"sqlite:///{tmp_path}/hub.db")
    migrate(db, all_migrations())
    store = AlertStore(db)
    store.add_suppression("kamado grill", camera="yard")
    assert store.suppressed_by("yard", "A person by the kamado grill.") == "kamado grill"
    monkeypatch.setattr(alerts_module, "_SUPPRESSION_CACHE_S", 0.0)  # every call reloads

    def gone(*args, **kwargs):
        raise StorageUnavailable("database sqlite:///hub.db is unavailable: disk I/O error")

    monkeypatch.setattr(db, "query", gone)
    monkeypatch.setattr(db, "execute", gone)
    assert store.suppressed_by("yard", "A person by the kamado grill.") == "kamado grill"
    db.close()
