"""The OpenCV motion prefilter on the synthetic scenes' frames (no encoding: fast and exact)."""

from __future__ import annotations

import numpy as np
import pytest

from homelab_hub.cameras.detect.motion import MotionDetector, merge_boxes
from homelab_hub.cameras.settings import MotionConfig, ZoneConfig
from tests.cameras.clips import ClipSpec, frame_at, object_box, scene_frames

REGION_ZONE = [(0.5, 0.5), (1.0, 0.5), (1.0, 1.0), (0.5, 1.0)]  # holds ClipSpec's default region


def samples(spec: ClipSpec, every: int) -> list[np.ndarray]:
    return [f for i, f in enumerate(scene_frames(spec)) if i % every == 0]


def run(detector: MotionDetector, frames: list[np.ndarray]) -> list[str]:
    return [detector.detect(f).kind for f in frames]


def overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def test_moving_object_gives_a_box_around_it() -> None:
    spec = ClipSpec("moving_object", seconds=3)
    detector = MotionDetector(MotionConfig())
    assert detector.detect(frame_at(spec, 0)).kind == "first"
    result = detector.detect(frame_at(spec, 10))
    assert result.kind == "motion"
    now = object_box(spec, 10)
    assert now is not None
    assert any(overlaps(box, now) for box in result.boxes)
    assert result.crop is not None
    cx, cy, cw, ch = result.crop
    bx, by, bw, bh = result.boxes[0]
    assert cx <= bx
    assert cy <= by
    assert cx + cw >= bx + bw
    assert cy + ch >= by + bh


def test_static_scene_with_sensor_noise_finds_no_motion() -> None:
    kinds = run(
        MotionDetector(MotionConfig()), samples(ClipSpec("static_noise", seconds=6, noise_sigma=4), 5)
    )
    assert kinds[0] == "first"
    assert set(kinds[1:]) == {"none"}


def test_brightness_jump_recalibrates_then_settles() -> None:
    kinds = run(MotionDetector(MotionConfig()), samples(ClipSpec("brightness_jump", seconds=4), 5))
    assert kinds.count("recalibrated") == 1
    assert "motion" not in kinds
    assert kinds[-1] == "none"


def test_motion_inside_an_exclusion_zone_is_ignored() -> None:
    zones = [ZoneConfig(name="kamado", kind="exclude", points=REGION_ZONE)]
    detector = MotionDetector(MotionConfig(), zones)
    kinds = run(detector, samples(ClipSpec("motion_in_region", seconds=4), 5))
    assert set(kinds[1:]) == {"none"}
    # The same scene without the zone does move.
    assert "motion" in run(
        MotionDetector(MotionConfig()), samples(ClipSpec("motion_in_region", seconds=4), 5)
    )


def test_include_zone_ignores_motion_outside_it() -> None:
    include_top = [ZoneConfig(name="porch", kind="include", points=[(0, 0), (1, 0), (1, 0.4), (0, 0.4)])]
    kinds = run(MotionDetector(MotionConfig(), include_top), samples(ClipSpec("moving_object", seconds=3), 5))
    assert set(kinds[1:]) == {"none"}


def test_new_zones_apply_from_the_next_frame() -> None:
    spec = ClipSpec("motion_in_region", seconds=3)
    frames = samples(spec, 5)
    detector = MotionDetector(MotionConfig())
    detector.detect(frames[0])
    assert detector.detect(frames[1]).kind == "motion"
    detector.update_zones([ZoneConfig(name="grill", points=REGION_ZONE)])
    assert detector.detect(frames[2]).kind == "none"
    assert [z.name for z in detector.zones] == ["grill"]


def test_change_bigger_than_max_area_is_not_motion() -> None:
    base = np.full((240, 320, 3), 100, np.uint8)
    half = base.copy()
    half[:, :140] = 200  # ~44 % of the frame: above max_area_ratio 0.4, below recalibration
    detector = MotionDetector(MotionConfig())
    detector.detect(base)
    result = detector.detect(half)
    assert result.kind == "none"
    assert 0.4 < result.changed_ratio < 0.5


def test_boxes_in_a_4k_frame_are_reported_in_source_pixels() -> None:
    frame = np.zeros((2160, 3840, 3), np.uint8)
    moved = frame.copy()
    moved[1000:1300, 2000:2300] = 255
    detector = MotionDetector(MotionConfig())
    detector.detect(frame)
    result = detector.detect(moved)
    assert result.kind == "motion"
    x, y, w, h = result.boxes[0]
    # Dilation grows the box by a few detect-width pixels (x6 at 4K); the object is inside.
    assert x <= 2000 <= x + 60
    assert y <= 1000 <= y + 60
    assert 300 <= w <= 400
    assert 300 <= h <= 400


def test_small_changes_below_min_area_are_dropped() -> None:
    frame = np.full((240, 320, 3), 80, np.uint8)
    speck = frame.copy()
    speck[100:102, 100:102] = 255
    detector = MotionDetector(MotionConfig(dilation=0))
    detector.detect(frame)
    assert detector.detect(speck).kind == "none"


def test_nearby_boxes_merge_and_distant_ones_do_not() -> None:
    assert merge_boxes([(0, 0, 10, 10), (40, 0, 10, 10)], 50) == [(0, 0, 50, 10)]
    assert sorted(merge_boxes([(0, 0, 10, 10), (200, 200, 10, 10)], 50)) == [
        (0, 0, 10, 10),
        (200, 200, 10, 10),
    ]
    chain = merge_boxes([(0, 0, 10, 10), (55, 0, 10, 10), (110, 0, 10, 10)], 50)
    assert chain == [(0, 0, 120, 10)]


def test_a_non_image_is_rejected_clearly() -> None:
    with pytest.raises(ValueError, match="expected an image array"):
        MotionDetector(MotionConfig()).detect(np.zeros(10, np.uint8))
