"""The whole decision pipeline on synthetic H.264 clips: motion -> stand-in vision model -> alert."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from homelab_hub.cameras.detect.pipeline import CameraPipeline, PipelineDeps, SampleResult
from homelab_hub.cameras.settings import AlertsConfig, CameraConfig, MotionConfig, ZoneConfig
from homelab_hub.cameras.stream.replay import video_samples
from homelab_hub.config import HubConfig
from homelab_hub.store import Database
from tests.cameras.clips import ClipSpec, write_clip
from tests.support import free_port

REGION_ZONE = [(0.5, 0.5), (1.0, 0.5), (1.0, 1.0), (0.5, 1.0)]


def decoded_samples(path: Path, interval_s: float) -> Iterator[tuple[np.ndarray, float]]:
    """The replay's samples with wall-clock times, as the camera worker would hand them over."""
    start = time.time()
    for offset, frame in video_samples(path, interval_s):
        yield frame, start + offset


def camera(tmp_path: Path, **motion) -> CameraConfig:
    return CameraConfig(
        url=str(tmp_path / "clip.mp4"),
        motion=MotionConfig(**motion),
        alerts=AlertsConfig(image_dir=tmp_path / "alerts", cooldown_s=3),
    )


def deps_for(url: str, db: Database, notifier=None) -> PipelineDeps:
    return PipelineDeps.from_config(HubConfig(vision={"url": url, "timeout_s": 5}), db, notifier)


def run_clip(pipeline, path: Path, interval_s: float = 0.5) -> list[SampleResult]:
    return [pipeline.process(frame, ts) for frame, ts in decoded_samples(path, interval_s)]


def test_a_moving_object_reaches_the_model_and_raises_one_alert_per_cooldown(
    tmp_path, ollama, sqlite_db
) -> None:
    clip = write_clip(tmp_path / "clip.mp4", ClipSpec("moving_object", seconds=5))
    deps = deps_for(ollama.url, sqlite_db)
    results = run_clip(CameraPipeline("gate", camera(tmp_path), deps), clip)
    decisions = [r.decision for r in results]
    assert decisions[0] == "clear"  # the first sample has nothing to compare with
    assert decisions.count("alert") == 2  # t=0.5 and, after the 3 s cooldown, t=3.5
    assert set(decisions[1:]) == {"alert", "cooldown"}
    first = next(r for r in results if r.decision == "alert")
    assert first.model_called
    assert first.boxes
    assert "person" in first.description
    assert first.alert_id
    stored = deps.alerts.recent(camera="gate")
    assert [a.verdict for a in stored] == ["ALERT", "ALERT"]
    assert all(Path(a.image_path).is_file() for a in stored if a.image_path)
    # The model saw a crop, not the whole frame.
    assert all("format" in c for c in ollama.chats)
    deps.close()


def test_a_static_scene_with_sensor_noise_never_calls_the_model(tmp_path, ollama, sqlite_db) -> None:
    clip = write_clip(tmp_path / "clip.mp4", ClipSpec("static_noise", seconds=5, noise_sigma=4))
    deps = deps_for(ollama.url, sqlite_db)
    pipeline = CameraPipeline("gate", camera(tmp_path), deps)
    results = run_clip(pipeline, clip)
    assert {r.decision for r in results} == {"clear"}
    assert ollama.chats == []
    assert pipeline.stats.model_calls == 0
    deps.close()


def test_a_brightness_jump_recalibrates_without_calling_the_model(tmp_path, ollama, sqlite_db) -> None:
    clip = write_clip(tmp_path / "clip.mp4", ClipSpec("brightness_jump", seconds=4, event_at_s=2.0))
    deps = deps_for(ollama.url, sqlite_db)
    results = run_clip(CameraPipeline("gate", camera(tmp_path), deps), clip)
    assert [r.decision for r in results].count("recalibrated") == 1
    assert {r.decision for r in results} == {"clear", "recalibrated"}
    assert ollama.chats == []
    deps.close()


def test_motion_only_inside_an_exclusion_zone_does_nothing(tmp_path, ollama, sqlite_db) -> None:
    clip = write_clip(tmp_path / "clip.mp4", ClipSpec("motion_in_region", seconds=4))
    cam = camera(tmp_path).model_copy(update={"zones": [ZoneConfig(name="grill", points=REGION_ZONE)]})
    deps = deps_for(ollama.url, sqlite_db)
    results = run_clip(CameraPipeline("yard", cam, deps), clip)
    assert {r.decision for r in results} == {"clear"}
    assert ollama.chats == []
    assert deps.alerts.recent() == []
    deps.close()


def test_a_still_object_is_caught_by_the_full_frame_check(tmp_path, ollama, sqlite_db) -> None:
    clip = write_clip(tmp_path / "clip.mp4", ClipSpec("still_object_appears", seconds=5, event_at_s=0.0))
    deps = deps_for(ollama.url, sqlite_db)
    results = run_clip(CameraPipeline("drive", camera(tmp_path, full_frame_period_s=2.0), deps), clip)
    assert not any(r.boxes for r in results)  # nothing ever moved
    full = [r for r in results if r.full_frame]
    assert len(full) == 2
    assert all(r.model_called for r in full)  # at t=2 and t=4
    assert full[0].decision == "alert"
    image = ollama.chats[0]["messages"][0]["images"][0]
    assert len(ollama.chats) == 2
    assert image
    assert deps.alerts.recent()[0].full_frame
    deps.close()


def test_with_ollama_down_motion_is_recorded_unverified_and_sampling_goes_on(tmp_path, sqlite_db) -> None:
    clip = write_clip(tmp_path / "clip.mp4", ClipSpec("moving_object", seconds=5))
    deps = deps_for(f"http://127.0.0.1:{free_port()}", sqlite_db)
    pipeline = CameraPipeline("gate", camera(tmp_path), deps)
    results = run_clip(pipeline, clip)
    assert len(results) == 10
    assert {r.decision for r in results[1:]} == {"unverified"}
    rows = deps.alerts.recent(camera="gate")
    assert [r.verdict for r in rows] == ["UNVERIFIED", "UNVERIFIED"]  # one per cooldown
    assert "unreachable" in rows[0].description
    vision = deps.vision_health()
    assert vision is not None
    assert vision.consecutive_failures == 9
    assert pipeline.stats.unverified == 9
    assert pipeline.stats.model_failures == 9
    deps.close()


def test_answers_that_describe_the_road_or_a_shadow_raise_nothing(tmp_path, ollama, sqlite_db) -> None:
    clip = write_clip(tmp_path / "clip.mp4", ClipSpec("moving_object", seconds=3))
    deps = deps_for(ollama.url, sqlite_db)
    for mode in ("location", "shadow", "negated", "hedged"):
        ollama.mode = mode
        results = run_clip(CameraPipeline("gate", camera(tmp_path), deps), clip)
        assert {r.decision for r in results[1:]} == {"model_clear"}, mode
    assert deps.alerts.recent() == []
    deps.close()


def test_a_suppressed_description_raises_no_alert(tmp_path, ollama, sqlite_db) -> None:
    clip = write_clip(tmp_path / "clip.mp4", ClipSpec("moving_object", seconds=2))
    deps = deps_for(ollama.url, sqlite_db)
    deps.alerts.add_suppression("person in dark clothes", camera="gate")
    results = run_clip(CameraPipeline("gate", camera(tmp_path), deps), clip)
    assert {r.decision for r in results[1:]} == {"suppressed"}
    assert deps.alerts.recent() == []
    deps.close()


def test_zones_updated_on_a_running_pipeline_apply_to_the_next_sample(tmp_path, ollama, sqlite_db) -> None:
    clip = write_clip(tmp_path / "clip.mp4", ClipSpec("motion_in_region", seconds=3))
    deps = deps_for(ollama.url, sqlite_db)
    pipeline = CameraPipeline("yard", camera(tmp_path), deps)
    samples = list(decoded_samples(clip, 0.5))
    for frame, ts in samples[:2]:
        last = pipeline.process(frame, ts)
    assert last.boxes
    pipeline.update_zones([ZoneConfig(name="grill", points=REGION_ZONE)])
    assert all(pipeline.process(f, ts).decision == "clear" for f, ts in samples[2:])
    deps.close()


def test_replay_without_deps_runs_motion_only(tmp_path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", ClipSpec("moving_object", seconds=3))
    pipeline = CameraPipeline("gate", camera(tmp_path), None)
    results = run_clip(pipeline, clip)
    assert {r.decision for r in results[1:]} == {"unverified"}
    assert all(r.boxes for r in results[1:])
    assert not any(r.model_called for r in results[1:])
    assert pipeline.stats.motion_samples == len(results) - 1
    assert pipeline.stats.model_calls == 0


def test_a_camera_starts_with_its_stored_zones(tmp_path, ollama, sqlite_db) -> None:
    from homelab_hub.cameras.zones.store import ZoneStore

    ZoneStore(sqlite_db).save("yard", [ZoneConfig(name="grill", points=REGION_ZONE)])
    deps = deps_for(ollama.url, sqlite_db)
    pipeline = CameraPipeline("yard", camera(tmp_path), deps)
    assert [z.name for z in pipeline.detector.zones] == ["grill"]
    deps.close()


def test_a_camera_can_use_its_own_vision_model_and_prompt(tmp_path, ollama, sqlite_db) -> None:
    ollama.model = "moondream:1.8b"
    clip = write_clip(tmp_path / "clip.mp4", ClipSpec("moving_object", seconds=1))
    cam = camera(tmp_path).model_copy(
        update={"vision_model": "moondream:1.8b", "vision_prompt": "Who is at {camera}?"}
    )
    deps = deps_for(ollama.url, sqlite_db)
    results = run_clip(CameraPipeline("porch", cam, deps), clip)
    assert results[-1].decision == "alert"
    assert ollama.chats[-1]["model"] == "moondream:1.8b"
    assert ollama.chats[-1]["messages"][0]["content"] == "Who is at porch?"
    deps.close()


def test_an_unwritable_image_directory_is_logged_and_sampling_goes_on(
    tmp_path, ollama, sqlite_db, caplog
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the alert directory should be")
    clip = write_clip(tmp_path / "clip.mp4", ClipSpec("moving_object", seconds=2))
    cam = camera(tmp_path).model_copy(update={"alerts": AlertsConfig(image_dir=blocker, cooldown_s=0)})
    deps = deps_for(ollama.url, sqlite_db)
    results = run_clip(CameraPipeline("gate", cam, deps), clip)
    assert {r.decision for r in results[1:]} == {"alert"}
    assert all(r.alert_id is None for r in results)
    assert any("not stored" in r.getMessage() for r in caplog.records)
    deps.close()


def test_without_a_model_motion_is_logged_once_per_camera_per_hour_with_a_count(tmp_path, caplog) -> None:
    clip = write_clip(tmp_path / "clip.mp4", ClipSpec("moving_object", seconds=5))
    pipeline = CameraPipeline("gate", camera(tmp_path), None)
    with caplog.at_level(logging.WARNING, logger="homelab_hub.cameras.detect.pipeline"):
        results = run_clip(pipeline, clip)
        assert {r.decision for r in results[1:]} == {"unverified"}
        lines = [r.getMessage() for r in caplog.records]
        assert lines == [
            "camera gate: no vision model: 1 motion events kept unverified (no vision model configured); "
            "next count in an hour"
        ]
        first = pipeline.unverified_log.last_line
        assert first is not None
        pipeline.unverified_log.note(first + 3599, "no vision model configured")
        assert len(caplog.records) == 1  # still within the hour
        pipeline.unverified_log.note(first + 3600, "no vision model configured")
        lines = [r.getMessage() for r in caplog.records]
        # The clip's 8 later samples and the 2 of the hour: one line, counting them all.
        assert lines[1].startswith("camera gate: no vision model: 10 motion events kept unverified")
