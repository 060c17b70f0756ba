"""The OpenCV motion prefilter on synthetic frames with exact object positions (no encoding:
fast and exact)."""

from __future__ import annotations

import numpy as np
import pytest

from homelab_hub.cameras.detect.motion import MotionDetector, median_of, merge_boxes
from homelab_hub.cameras.settings import MotionConfig, ZoneConfig
from tests.cameras.clips import ClipSpec, background, frame_at, object_box, scene_frames

REGION_ZONE = [(0.5, 0.5), (1.0, 0.5), (1.0, 1.0), (0.5, 1.0)]  # holds ClipSpec's default region

Rect = tuple[float, float, float, float]  # x, y, w, h as shares of the frame


def samples(spec: ClipSpec, every: int) -> list[np.ndarray]:
    return [f for i, f in enumerate(scene_frames(spec)) if i % every == 0]


def run(detector: MotionDetector, frames: list[np.ndarray]) -> list[str]:
    return [detector.detect(f).kind for f in frames]


def overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def yard(width: int, seed: int = 3, objects: tuple[Rect, ...] = (), light: int = 0) -> np.ndarray:
    """A textured yard at any size with dark textured objects at fractional places, plus sensor
    noise: the same picture at 320, 640 or 1280 px."""
    height = width * 9 // 16
    frame = background(width, height, seed).astype(np.int16)
    rng = np.random.default_rng(seed * 7919 + width + len(objects) * 31 + light)
    for x, y, w, h in objects:
        x0, y0 = round(x * width), round(y * height)
        x1, y1 = round((x + w) * width), round((y + h) * height)
        coarse = rng.integers(10, 70, (8, 4, 3))  # the object's own texture, same at any size
        frame[y0:y1, x0:x1] = _stretch(coarse, x1 - x0, y1 - y0)
    frame += light
    frame += rng.normal(0, 3, frame.shape).astype(np.int16)
    return np.clip(frame, 0, 255).astype(np.uint8)


def _stretch(coarse: np.ndarray, w: int, h: int) -> np.ndarray:
    ys = np.arange(h) * coarse.shape[0] // max(1, h)
    xs = np.arange(w) * coarse.shape[1] // max(1, w)
    return coarse[ys][:, xs]


def share(box: tuple[int, int, int, int], width: int) -> Rect:
    height = width * 9 // 16
    return box[0] / width, box[1] / height, box[2] / width, box[3] / height


def iou(a: Rect, b: Rect) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def walk(
    width: int, path: list[tuple[float, float]], size: tuple[float, float] = (0.06, 0.2)
) -> list[np.ndarray]:
    return [yard(width, objects=((x, y, *size),)) for x, y in path]


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


def test_a_box_fits_where_the_object_is_now_not_where_it_was() -> None:
    # Samples seconds apart: once three are in, the background is their median, so the box
    # hugs the walker's current place instead of spanning its path from the previous sample.
    frames = walk(640, [(0.1 + 0.12 * i, 0.5) for i in range(6)])
    detector = MotionDetector(MotionConfig())
    results = [detector.detect(f) for f in frames]
    assert [r.kind for r in results] == ["first"] + ["motion"] * 5
    assert len(results[2].boxes) == 2  # two samples in: the previous one is all there is
    for i, result in enumerate(results[3:], start=3):
        assert len(result.boxes) == 1
        assert iou(share(result.boxes[0], 640), (0.1 + 0.12 * i, 0.5, 0.06, 0.2)) > 0.8


def test_two_separate_objects_stay_two_boxes() -> None:
    def scene(step: int) -> np.ndarray:
        return yard(640, objects=((0.2 + 0.02 * step, 0.5, 0.06, 0.2), (0.45 - 0.02 * step, 0.55, 0.06, 0.2)))

    detector = MotionDetector(MotionConfig())
    detector.detect(yard(640))
    result = detector.detect(scene(0))
    assert result.kind == "motion"
    assert len(result.boxes) == 2
    expected = sorted([(0.2, 0.5, 0.06, 0.2), (0.45, 0.55, 0.06, 0.2)])
    for got, want in zip(sorted(share(b, 640) for b in result.boxes), expected, strict=True):
        assert iou(got, want) > 0.8


def test_a_large_object_close_to_the_camera_is_one_box() -> None:
    near = (0.3, 0.1, 0.4, 0.85)  # a third of the frame: the old detector dropped it
    detector = MotionDetector(MotionConfig())
    detector.detect(yard(640))
    result = detector.detect(yard(640, objects=(near,)))
    assert result.kind == "motion"
    assert iou(share(result.boxes[0], 640), near) > 0.85


def test_brightness_jump_recalibrates_then_settles() -> None:
    kinds = run(MotionDetector(MotionConfig()), samples(ClipSpec("brightness_jump", seconds=4), 5))
    assert kinds.count("recalibrated") == 1
    assert "motion" not in kinds
    assert kinds[-1] == "none"


def test_after_a_lighting_step_a_walker_is_boxed_against_the_new_light() -> None:
    detector = MotionDetector(MotionConfig())
    for _ in range(3):
        detector.detect(yard(640))
    assert detector.detect(yard(640, light=70)).kind == "recalibrated"
    result = detector.detect(yard(640, objects=((0.6, 0.4, 0.06, 0.2),), light=70))
    assert result.kind == "motion"
    assert len(result.boxes) == 1
    assert iou(share(result.boxes[0], 640), (0.6, 0.4, 0.06, 0.2)) > 0.8


@pytest.mark.parametrize("width", [320, 1280])
def test_the_same_settings_give_the_same_boxes_at_any_detect_width(width: int) -> None:
    path = [(0.1 + 0.1 * i, 0.45) for i in range(6)]
    far = (0.7, 0.2, 0.02, 0.05)  # small and far: 13 x 18 px at 640

    def boxes(w: int) -> list[list[Rect]]:
        detector = MotionDetector(MotionConfig(detect_width=w))
        frames = [
            yard(w, objects=((x, y, 0.06, 0.2), (far[0] - 0.03 * i, *far[1:])))
            for i, (x, y) in enumerate(path)
        ]
        return [sorted(share(b, w) for b in detector.detect(f).boxes) for f in frames]

    reference, other = boxes(640), boxes(width)
    # Old and new places while the background is one sample, then only the new ones.
    assert [len(b) for b in other] == [len(b) for b in reference] == [0, 4, 4, 2, 2, 2]
    for got, want in zip(other[1:], reference[1:], strict=True):
        assert all(iou(g, r) > 0.7 for g, r in zip(got, want, strict=True))  # the far one: 6 x 9 px at 320


def test_a_reconnect_starts_a_new_background() -> None:
    detector = MotionDetector(MotionConfig())
    before = yard(640, objects=((0.1, 0.5, 0.06, 0.2),))
    for _ in range(3):
        detector.detect(before)
    detector.reset()
    # A different scene after the gap (the camera was moved) is a new start, not motion.
    assert detector.detect(yard(640, seed=9)).kind == "first"
    assert detector.detect(yard(640, seed=9)).kind == "none"


def test_static_scene_with_sensor_noise_finds_no_motion() -> None:
    kinds = run(
        MotionDetector(MotionConfig()), samples(ClipSpec("static_noise", seconds=6, noise_sigma=4), 5)
    )
    assert kinds[0] == "first"
    assert set(kinds[1:]) == {"none"}


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


def test_boxes_in_a_4k_frame_are_reported_in_source_pixels() -> None:
    frame = np.zeros((2160, 3840, 3), np.uint8)
    moved = frame.copy()
    moved[1000:1300, 2000:2300] = 255
    detector = MotionDetector(MotionConfig())
    detector.detect(frame)
    result = detector.detect(moved)
    assert result.kind == "motion"
    x, y, w, h = result.boxes[0]
    # Blur and one dilation grow the box by a pixel or two at the detect width (x6 at 4K).
    assert x <= 2000 <= x + 30
    assert y <= 1000 <= y + 30
    assert 300 <= w <= 340
    assert 300 <= h <= 340


def test_small_changes_below_min_area_are_dropped() -> None:
    frame = np.full((240, 320, 3), 80, np.uint8)
    speck = frame.copy()
    speck[100:103, 100:103] = 255
    detector = MotionDetector(MotionConfig())
    detector.detect(frame)
    assert detector.detect(speck).kind == "none"


def test_only_touching_boxes_merge_and_never_into_a_much_bigger_one() -> None:
    assert merge_boxes([(0, 0, 10, 10), (8, 0, 10, 10)], 0, 1.5) == [(0, 0, 18, 10)]
    apart = merge_boxes([(0, 0, 10, 10), (40, 0, 10, 10)], 0, 1.5)
    assert sorted(apart) == [(0, 0, 10, 10), (40, 0, 10, 10)]
    # Touching at a corner, but the union would be mostly empty: they stay apart.
    corner = merge_boxes([(0, 0, 10, 10), (10, 10, 10, 10)], 0, 1.5)
    assert sorted(corner) == [(0, 0, 10, 10), (10, 10, 10, 10)]
    assert merge_boxes([(0, 0, 10, 10), (40, 0, 10, 10)], 50, 10.0) == [(0, 0, 50, 10)]


@pytest.mark.parametrize("count", [1, 3, 5, 7, 9])
def test_the_background_is_the_per_pixel_median_of_past_samples(count: int) -> None:
    rng = np.random.default_rng(count)
    frames = [rng.integers(0, 256, (6, 8), dtype=np.uint8) for _ in range(count)]
    assert np.array_equal(median_of(frames), np.median(np.stack(frames), axis=0).astype(np.uint8))


def test_old_pixel_settings_are_refused_with_what_replaces_them() -> None:
    with pytest.raises(ValueError, match="min_area_px is no longer used: set min_area_ratio"):
        MotionConfig.model_validate({"min_area_px": 150})


def test_a_non_image_is_rejected_clearly() -> None:
    with pytest.raises(ValueError, match="expected an image array"):
        MotionDetector(MotionConfig()).detect(np.zeros(10, np.uint8))
