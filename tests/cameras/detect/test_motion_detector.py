"""The OpenCV motion prefilter on synthetic frames with exact object positions (no encoding:
fast and exact)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from homelab_hub.cameras.detect.motion import (
    MotionDetector,
    MotionResult,
    median_of,
    merge_boxes,
    spread_of,
)
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
    # Samples seconds apart: the background is the median of the past ones, so the box hugs
    # the walker's current place instead of spanning its path from the previous sample.
    frames = walk(640, [(0.1 + 0.12 * i, 0.5) for i in range(6)])
    detector = MotionDetector(MotionConfig())
    results = [detector.detect(f) for f in frames]
    assert [r.kind for r in results] == ["first"] + ["motion"] * 5
    assert len(results[1].boxes) == 2  # one sample in: the old place differs as much as the new
    assert results[1].crop is not None and results[1].crop[0] < 0.1 * 640  # so the crop spans both
    # Two samples in: where this one looks like the older one is the old place, not motion.
    for i, result in enumerate(results[2:], start=2):
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
    assert [len(b) for b in other] == [len(b) for b in reference] == [0, 4, 2, 2, 2, 2]
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


def test_by_default_cars_queued_on_a_road_stay_apart_and_pieces_of_one_object_join() -> None:
    growth = MotionConfig().merge_growth
    # Two cars one behind the other in perspective: their boxes overlap by a corner.
    queued = merge_boxes([(0, 0, 40, 20), (20, 10, 40, 20)], 0, growth)
    assert sorted(queued) == [(0, 0, 40, 20), (20, 10, 40, 20)]
    # A person's upper and lower halves overlap over most of their width; a piece inside
    # another box adds nothing.
    assert merge_boxes([(0, 0, 40, 40), (0, 30, 40, 40)], 0, growth) == [(0, 0, 40, 70)]
    assert merge_boxes([(0, 0, 40, 20), (5, 5, 10, 10)], 0, growth) == [(0, 0, 40, 20)]


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


def swaying(width: int, step: int, objects: tuple[Rect, ...] = (), shade: int = 40) -> np.ndarray:
    """The yard with leaves in its top right ninth that sway a few pixels every sample, the
    way a tree does in the wind (the same texture, shifted), and people of one shade in front."""
    frame = yard(width)
    height = frame.shape[0]
    leaves = np.random.default_rng(11).integers(0, 256, (45, 80, 3), dtype=np.uint8)
    big = cv2.resize(leaves, (width, height), interpolation=cv2.INTER_LINEAR)  # blobs of leaves
    dx = round(6 * np.sin(step * 2.1) * width / 640)
    dy = round(3 * np.sin(step * 1.7) * width / 640)
    pad = 8 * width // 640
    region = big[pad + dy : pad + dy + height // 3, pad + dx : pad + dx + width // 3]
    frame[: region.shape[0], width // 2 : width // 2 + region.shape[1]] = region
    for x, y, w, h in objects:
        frame[round(y * height) : round((y + h) * height), round(x * width) : round((x + w) * width)] = shade
    return frame


LEAVES = (0.5, 0.0, 1 / 3, 1 / 3)


def on_leaves(result: MotionResult) -> float:
    """The share of the leaves' area that the result's boxes cover."""
    x0, y0, w, h = LEAVES
    covered = 0.0
    for box in result.boxes:
        bx, by, bw, bh = share(box, 640)
        covered += max(0.0, min(bx + bw, x0 + w) - max(bx, x0)) * max(0.0, min(by + bh, y0 + h) - max(by, y0))
    return covered / (w * h)


def test_leaves_that_keep_swaying_stop_giving_boxes_and_a_walker_still_does() -> None:
    detector = MotionDetector(MotionConfig())
    # One sample every 5 s: once five samples have shown that the leaves' pixels keep straying
    # from their median, the thresholds are raised there (until then the leaves are motion).
    results = [detector.detect(swaying(640, i), ts=5.0 * i) for i in range(10)]
    assert [on_leaves(r) > 0.8 for r in results[1:5]] == [True] * 4
    assert max(on_leaves(r) for r in results[5:]) < 0.05
    walker = (0.1, 0.5, 0.06, 0.2)
    result = detector.detect(swaying(640, 10, objects=(walker,)), ts=50.0)
    assert result.kind == "motion"
    assert iou(share(result.boxes[0], 640), walker) > 0.8
    assert on_leaves(result) < 0.05
    # Someone in a white shirt under the leaves still gets through: the thresholds there are
    # raised at most 5x. (A dark one among leaves this restless can be lost.)
    under = (0.55, 0.05, 0.08, 0.22)
    result = detector.detect(swaying(640, 11, objects=(under,), shade=230), ts=55.0)
    assert iou(share(result.boxes[0], 640), under) > 0.6


def test_the_leaves_keep_giving_boxes_with_one_threshold_everywhere() -> None:
    detector = MotionDetector(MotionConfig(spread_factor=0))
    results = [detector.detect(swaying(640, i), ts=5.0 * i) for i in range(10)]
    assert [on_leaves(r) > 0.8 for r in results[5:]] == [True] * 5


def test_the_spread_is_learned_from_samples_at_least_4_5_s_apart() -> None:
    # Samples every second: a place sways when samples over 20 s say so, not 5 s of them, so
    # a queue of cars that creeps past for a few seconds is not taken for leaves.
    detector = MotionDetector(MotionConfig())
    results = [detector.detect(swaying(640, i), ts=float(i)) for i in range(26)]
    assert min(on_leaves(r) for r in results[1:19]) > 0.6
    assert max(on_leaves(r) for r in results[22:]) < 0.05
    # Every sample counts when there are no times.
    untimed = MotionDetector(MotionConfig())
    results = [untimed.detect(swaying(640, i)) for i in range(8)]
    assert max(on_leaves(r) for r in results[5:]) < 0.05


def test_a_reconnect_forgets_which_pixels_sway() -> None:
    detector = MotionDetector(MotionConfig())
    for i in range(8):
        detector.detect(swaying(640, i), ts=5.0 * i)
    detector.reset()
    results = [detector.detect(swaying(640, i), ts=100.0 + 5.0 * i) for i in range(3)]
    assert results[0].kind == "first"
    assert min(on_leaves(r) for r in results[1:]) > 0.8


def test_a_clock_set_back_does_not_stop_the_spread_from_being_learned() -> None:
    detector = MotionDetector(MotionConfig())
    times = [1000.0, 1005.0, 1010.0, 20.0, 25.0, 30.0, 35.0, 40.0, 45.0]
    results = [detector.detect(swaying(640, i), ts=t) for i, t in enumerate(times)]
    assert max(on_leaves(r) for r in results[-3:]) < 0.05


@pytest.mark.parametrize("count", [3, 5, 7])
def test_the_spread_is_the_median_absolute_deviation_from_the_median(count: int) -> None:
    rng = np.random.default_rng(count)
    frames = [rng.integers(0, 256, (6, 8), dtype=np.uint8) for _ in range(count)]
    stack = np.stack(frames).astype(np.int16)
    middle = np.median(stack, axis=0)
    want = np.median(np.abs(stack - middle), axis=0).astype(np.uint8)
    assert np.array_equal(spread_of(frames), want)
