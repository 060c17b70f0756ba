"""The OpenCV motion prefilter: decides, without any model, whether a sample changed.

Steps: resize to the detect width, grey, a light blur, absdiff against a background, threshold,
one dilation, contours, area filter, merge of touching boxes. Zones are applied as a mask to
the thresholded difference (before and after dilation, so excluded motion can neither form a
contour nor grow one into the allowed area). A change over most of the frame (lights on, IR
switch, lightning) rebuilds the background instead of reporting motion.

The background is the per-pixel median of the last few samples (``background_samples``), not
the previous sample: with seconds between samples, a car's old and new positions both differ
from the previous sample, so frame-to-frame boxes span its whole path; against the median only
where it is now differs. Seven samples, not five: with five, a large slow object (someone close
to the camera) sat in most of them at 1 s sampling and became background (dev half: recall
0.96 -> 0.99, precision 0.36 -> 0.45 at 1 s; the same at 5 s). Every size is a share of the
frame (kernels scale with the detect width), so the same settings give the same boxes at 320,
640 or 1280 px.

Leaves, water and flags change all day: each pixel's threshold is raised to 3x how far it
usually strays from its median (``spread_factor``), learned from samples at least 4.5 s apart
over about half a minute, so a place that sways stops giving boxes and a road that cars pass
keeps the plain threshold. While only two samples are in, a pixel that looks like the older
one is an object's old place, not motion. The two together, dev half, pooled precision 0.45 ->
0.56 at 1 s and 0.39 -> 0.54 at 5 s, recall kept. Boxes merge only when the union is no larger
than the two together (``merge_growth`` 1, was 1.5): cars queued on a road overlap by a corner
and had chained into one box over half the frame (dev half: 18 such samples of 922 -> 1 at 1 s,
pooled precision 0.56 -> 0.59, recall kept). What this changed on real footage, and against
Frigate's detector: ``benchmarks/camera_motion_quality.py``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from homelab_hub.cameras.settings import MotionConfig, ZoneConfig
from homelab_hub.cameras.zones.mask import ZoneMask, detection_size
from homelab_hub.lazy import lazy_module

cv2 = lazy_module("cv2")

Box = tuple[int, int, int, int]  # x, y, w, h
MotionKind = Literal["first", "none", "motion", "recalibrated"]

# Blur and dilation as a share of the detect width: a 3x3 kernel at 640 px (Frigate blurs and
# dilates 3x3 on its small frame; 0.8 is OpenCV's sigma for a 3x3 Gaussian). Scaling them keeps
# a box the same share of the frame at any detect width.
_BLUR_SIGMA_SHARE = 0.8 / 640
_DILATE_SHARE = 3 / 640
# How much each pixel sways is learned from up to 7 samples at least 4.5 s apart (at the 5 s
# default every sample; at 1 s every fifth), and trusted from 5 of them on: 20 s of a place
# that keeps changing, not a queue of cars that creeps past it for a few seconds. The spread is
# shared with a 5 px neighbourhood at 640 (a branch lands next to where it was) and raises a
# threshold at most 5x, so a person in front of a bush still gets through.
_SPREAD_SAMPLES = 7
_SPREAD_SPACING_S = 4.5
_SPREAD_MIN_SAMPLES = 5
_SPREAD_SHARE = 5 / 640
_MAX_SPREAD_GAIN = 5
_DAY_RANGE = 128.0  # a grey range (4th..96th percentile) narrower than this lowers the threshold
_MAX_GAIN = 4.0


@dataclass
class MotionResult:
    kind: MotionKind
    boxes: list[Box] = field(default_factory=list)  # merged regions, source-frame pixels, largest first
    crop: Box | None = None  # largest region plus margin, source-frame pixels
    changed_ratio: float = 0.0  # share of pixels above threshold, before masking


class MotionDetector:
    """Motion on one camera against a background of its last few samples. Not thread-safe
    except `update_zones`, which takes effect from the next frame on."""

    def __init__(self, config: MotionConfig, zones: list[ZoneConfig] | None = None) -> None:
        self.config = config
        self._mask = ZoneMask(zones or [])
        self._pending: ZoneMask | None = None
        self._lock = threading.Lock()
        self._history: deque[np.ndarray] = deque(maxlen=config.background_samples)
        self._background: np.ndarray | None = None
        self._threshold = config.threshold  # lowered for a dark or hazy background
        self._thresholds: np.ndarray | None = None  # per pixel, raised where the background sways
        # Samples at least _SPREAD_SPACING_S apart, to learn how much each pixel sways.
        self._spread_samples: deque[np.ndarray] = deque(maxlen=_SPREAD_SAMPLES)
        self._spread_at: float | None = None
        self._spread: np.ndarray | None = None

    @property
    def zones(self) -> list[ZoneConfig]:
        with self._lock:
            return list((self._pending or self._mask).zones)

    def update_zones(self, zones: list[ZoneConfig]) -> None:
        with self._lock:
            self._pending = ZoneMask(zones)

    def reset(self) -> None:
        """Forget the background (after a reconnect the next frame is a new start)."""
        self._history.clear()
        self._background = None
        self._thresholds = None
        self._spread_samples.clear()
        self._spread_at = None
        self._spread = None

    def detect(self, frame_bgr: np.ndarray, ts: float | None = None) -> MotionResult:
        """Compare a BGR frame with the background. ``ts`` is the frame's time in seconds
        (any clock); without it every sample counts as far enough apart to learn the
        background's spread from. Raises ValueError on a non-image."""
        if frame_bgr.ndim not in (2, 3) or frame_bgr.shape[0] < 2 or frame_bgr.shape[1] < 2:
            raise ValueError(f"expected an image array (h, w[, 3]), got shape {frame_bgr.shape}")
        with self._lock:
            if self._pending is not None:
                self._mask, self._pending = self._pending, None
        cfg = self.config
        src_h, src_w = frame_bgr.shape[:2]
        width, height = detection_size(src_w, src_h, cfg.detect_width)
        # Resize before converting: 4K -> 640 px first makes the colour conversion ~40x cheaper.
        small = (
            cv2.resize(frame_bgr, (width, height), interpolation=cv2.INTER_AREA)
            if width != src_w
            else frame_bgr
        )
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
        gray = cv2.GaussianBlur(gray, (0, 0), width * _BLUR_SIGMA_SHARE)
        background = self._background
        if background is None or background.shape != gray.shape:
            self.reset()
            self._remember(gray, ts)
            return MotionResult(kind="first")
        diff = cv2.absdiff(gray, background)
        if self._thresholds is None:
            _, changed = cv2.threshold(diff, self._threshold, 255, cv2.THRESH_BINARY)
        else:
            changed = cv2.compare(diff, self._thresholds, cv2.CMP_GT)
        if len(self._history) == 2:
            # Two samples in: against the newer one alone, an object's old place lights up as
            # much as its new one. Where this sample looks like the older one, that is the
            # object's old place (or its ghost), not motion.
            older = cv2.compare(cv2.absdiff(gray, self._history[0]), self._threshold, cv2.CMP_GT)
            changed = cv2.bitwise_and(changed, older)
        area = float(width * height)
        ratio = cv2.countNonZero(changed) / area
        if ratio >= cfg.recalibrate_ratio:
            self.reset()  # the old samples show the scene in the old light
            self._remember(gray, ts)
            return MotionResult(kind="recalibrated", changed_ratio=ratio)
        # Against one past sample an object's old place differs as much as its new one.
        settled = len(self._history) >= 2
        self._remember(gray, ts)
        mask = self._mask.for_size(width, height)
        if mask is not None:
            changed = cv2.bitwise_and(changed, mask)
        side = _odd(width * _DILATE_SHARE)
        if side > 1:
            changed = cv2.dilate(changed, np.ones((side, side), np.uint8))
            if mask is not None:
                changed = cv2.bitwise_and(changed, mask)
        contours, _ = cv2.findContours(changed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        min_area = cfg.min_area_ratio * area
        # No upper bound: a person close to the camera is one big box, not nothing; a change
        # over most of the frame was handled above as a change of light.
        # The dilation joins the pieces of one object; its growth is taken off the box again.
        grow = (side - 1) // 2
        boxes = [_shrink(cv2.boundingRect(c), grow) for c in contours if cv2.contourArea(c) >= min_area]
        if not boxes:
            return MotionResult(kind="none", changed_ratio=ratio)
        merged = merge_boxes(
            boxes,
            round(cfg.merge_gap_ratio * width) + 2 * grow,  # pieces the dilation joined touch
            cfg.merge_growth,
        )
        merged.sort(key=lambda b: b[2] * b[3], reverse=True)
        scale = src_w / width
        source = [_scale(b, scale, src_w, src_h) for b in merged]
        # Until then the crop spans every box, so the model sees the object whichever it is.
        crop = _with_margin(source[0] if settled else _union(source), cfg.crop_margin, src_w, src_h)
        return MotionResult(kind="motion", boxes=source, crop=crop, changed_ratio=ratio)

    def _remember(self, gray: np.ndarray, ts: float | None) -> None:
        self._history.append(gray)
        # An even count uses the newest odd number: the median of two would be a per-pixel
        # minimum, which keeps a dark object's old place as a ghost.
        self._background = median_of(list(self._history)[(len(self._history) + 1) % 2 :])
        if self.config.improve_contrast:
            self._threshold = _contrast_threshold(self.config.threshold, self._background)
        if self.config.spread_factor <= 0:
            return
        # A clock set back (ts before the last one) takes the sample rather than waiting.
        if ts is None or self._spread_at is None or not 0 <= ts - self._spread_at < _SPREAD_SPACING_S:
            self._spread_at = ts
            self._spread_samples.append(gray)
            samples = list(self._spread_samples)[(len(self._spread_samples) + 1) % 2 :]
            if len(samples) >= _SPREAD_MIN_SAMPLES:
                spread = spread_of(samples)
                # A branch lands next to where it was, not exactly there.
                side = _odd(spread.shape[1] * _SPREAD_SHARE)
                self._spread = cv2.dilate(spread, np.ones((side, side), np.uint8)) if side > 1 else spread
        if self._spread is not None:  # the contrast threshold may have moved with the background
            self._thresholds = spread_thresholds(self._spread, self._threshold, self.config.spread_factor)


def spread_of(samples: list[np.ndarray]) -> np.ndarray:
    """Per pixel, how far an odd number of samples usually stray from their median: the median
    of their absolute deviations. Leaves that sway, water, a flag: their pixels differ from the
    median in most samples. A car or a person passing covers a pixel in a minority of them,
    which leaves it at zero."""
    middle = median_of(samples)
    return median_of([cv2.absdiff(s, middle) for s in samples])


def spread_thresholds(spread: np.ndarray, threshold: int, factor: float) -> np.ndarray:
    """Per-pixel thresholds: ``factor`` times the pixel's spread, never below ``threshold``
    and at most ``_MAX_SPREAD_GAIN`` times it."""
    raised = cv2.multiply(spread, np.full_like(spread, 1), scale=factor)  # saturates at 255
    cap = min(255, _MAX_SPREAD_GAIN * threshold)
    return cv2.min(cv2.max(raised, np.full_like(raised, threshold)), np.full_like(raised, cap))


def _contrast_threshold(threshold: int, background: np.ndarray) -> int:
    """The threshold for a background whose grey range (4th..96th percentile) is narrow:
    divided by how much narrower than a daylight range it is, at most ``_MAX_GAIN`` times.
    At night a person changes the picture by a quarter of what they do by day. Taken from the
    background, not the sample, so a large object entering cannot change it. The same as
    stretching both images' contrast (Frigate's improve_contrast), without the stretch
    amplifying a daylight scene's noise, which cost precision on the dev clips (0.41 -> 0.33)."""
    # Percentiles from a histogram of every 4th pixel: ~10x cheaper than np.percentile.
    counts = np.cumsum(cv2.calcHist([background[::4, ::4]], [0], None, [256], [0, 256]).ravel())
    lo, hi = np.searchsorted(counts, (0.04 * counts[-1], 0.96 * counts[-1]))
    gain = min(_MAX_GAIN, max(1.0, _DAY_RANGE / max(1.0, float(hi - lo))))
    return max(1, round(threshold / gain))


def median_of(frames: list[np.ndarray]) -> np.ndarray:
    """Per-pixel median of an odd number of same-size uint8 frames, by min/max networks
    (OpenCV's, ~2x numpy's): 7 operations for five frames where a sort takes 20, and
    np.median ~50x longer."""
    n = len(frames)
    if n == 1:
        return frames[0]
    if n == 3:
        a, b, c = frames
        return cv2.max(cv2.min(a, b), cv2.min(cv2.max(a, b), c))
    if n == 5:
        a, b, c, d, e = frames
        # Of a..d drop the smallest and the largest; the median of the two left and e is it.
        low = cv2.max(cv2.min(a, b), cv2.min(c, d))
        high = cv2.min(cv2.max(a, b), cv2.max(c, d))
        return cv2.max(cv2.min(low, high), cv2.min(cv2.max(low, high), e))
    items = list(frames)  # 7 or 9: bubble the larger half into place
    for i in range(n // 2 + 1):
        for j in range(n - 1 - i):
            items[j], items[j + 1] = cv2.min(items[j], items[j + 1]), cv2.max(items[j], items[j + 1])
    return items[n // 2]


def merge_boxes(boxes: list[Box], gap: int, max_growth: float) -> list[Box]:
    """Union boxes at most ``gap`` px apart (0: touching or overlapping), unless the union is
    more than ``max_growth`` times the two boxes' areas together: two cars side by side stay
    two boxes instead of one over the road between them. Repeats until nothing merges."""
    out = list(boxes)
    merged = True
    while merged and len(out) > 1:
        merged = False
        result: list[Box] = []
        while out:
            x, y, w, h = out.pop()
            i = 0
            while i < len(out):
                ox, oy, ow, oh = out[i]
                gap_x = max(ox - (x + w), x - (ox + ow), 0)
                gap_y = max(oy - (y + h), y - (oy + oh), 0)
                nx, ny = min(x, ox), min(y, oy)
                nw, nh = max(x + w, ox + ow) - nx, max(y + h, oy + oh) - ny
                if gap_x <= gap and gap_y <= gap and nw * nh <= max_growth * (w * h + ow * oh):
                    x, y, w, h = nx, ny, nw, nh
                    out.pop(i)
                    merged = True
                else:
                    i += 1
            result.append((x, y, w, h))
        out = result
    return out


def _union(boxes: list[Box]) -> Box:
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
    return x0, y0, x1 - x0, y1 - y0


def _shrink(box: Sequence[int], by: int) -> Box:
    x, y, w, h = (int(v) for v in box)
    dx, dy = min(by, (w - 1) // 2), min(by, (h - 1) // 2)
    return x + dx, y + dy, w - 2 * dx, h - 2 * dy


def _odd(size: float) -> int:
    """A kernel side: the odd integer at or just above ``size`` (1 = no kernel)."""
    return max(1, int(size) | 1)


def _scale(box: Box, scale: float, max_w: int, max_h: int) -> Box:
    x, y, w, h = (round(v * scale) for v in box)
    x, y = min(max(0, x), max_w - 1), min(max(0, y), max_h - 1)
    return x, y, max(1, min(w, max_w - x)), max(1, min(h, max_h - y))


def _with_margin(box: Box, margin: float, max_w: int, max_h: int) -> Box:
    x, y, w, h = box
    # A margin gives the model context (the person next to the car door); 16 px at least.
    mx, my = max(16, round(w * margin)), max(16, round(h * margin))
    x0, y0 = max(0, x - mx), max(0, y - my)
    x1, y1 = min(max_w, x + w + mx), min(max_h, y + h + my)
    return x0, y0, x1 - x0, y1 - y0
