"""The OpenCV motion prefilter: decides, without any model, whether a sample changed.

The seed's steps: resize to the detect width, grey, absdiff against the previous analysed
frame, threshold, dilate, contours, area filter, merge nearby boxes. Zones are applied as a
mask to the thresholded difference (before and after dilation, so excluded motion can
neither form a contour nor grow one into the allowed area). A change over most of the frame
(lights on, IR switch, lightning) replaces the reference instead of reporting motion.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from homelab_hub.cameras.settings import MotionConfig, ZoneConfig
from homelab_hub.cameras.zones.mask import ZoneMask, detection_size

Box = tuple[int, int, int, int]  # x, y, w, h
MotionKind = Literal["first", "none", "motion", "recalibrated"]


@dataclass
class MotionResult:
    kind: MotionKind
    boxes: list[Box] = field(default_factory=list)  # merged regions, source-frame pixels, largest first
    crop: Box | None = None  # largest region plus margin, source-frame pixels
    changed_ratio: float = 0.0  # share of pixels above threshold, before masking


class MotionDetector:
    """Frame-to-frame motion on one camera. Not thread-safe except `update_zones`, which
    takes effect from the next frame on."""

    def __init__(self, config: MotionConfig, zones: list[ZoneConfig] | None = None) -> None:
        self.config = config
        self._mask = ZoneMask(zones or [])
        self._pending: ZoneMask | None = None
        self._lock = threading.Lock()
        self._previous: np.ndarray | None = None
        self._kernel = np.ones((3, 3), np.uint8)

    @property
    def zones(self) -> list[ZoneConfig]:
        with self._lock:
            return list((self._pending or self._mask).zones)

    def update_zones(self, zones: list[ZoneConfig]) -> None:
        with self._lock:
            self._pending = ZoneMask(zones)

    def reset(self) -> None:
        """Forget the reference frame (after a reconnect the next frame is a new start)."""
        self._previous = None

    def detect(self, frame_bgr: np.ndarray) -> MotionResult:
        """Compare a BGR frame with the previous one. Raises ValueError on a non-image."""
        if frame_bgr.ndim not in (2, 3) or frame_bgr.shape[0] < 2 or frame_bgr.shape[1] < 2:
            raise ValueError(f"expected an image array (h, w[, 3]), got shape {frame_bgr.shape}")
        with self._lock:
            if self._pending is not None:
                self._mask, self._pending = self._pending, None
        src_h, src_w = frame_bgr.shape[:2]
        width, height = detection_size(src_w, src_h, self.config.detect_width)
        # Resize before converting: 4K -> 640 px first makes the colour conversion ~40x cheaper.
        small = (
            cv2.resize(frame_bgr, (width, height), interpolation=cv2.INTER_AREA)
            if width != src_w
            else frame_bgr
        )
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
        previous, self._previous = self._previous, gray
        if previous is None or previous.shape != gray.shape:
            return MotionResult(kind="first")
        diff = cv2.absdiff(gray, previous)
        _, changed = cv2.threshold(diff, self.config.threshold, 255, cv2.THRESH_BINARY)
        ratio = cv2.countNonZero(changed) / float(width * height)
        if ratio >= self.config.recalibrate_ratio:
            return MotionResult(kind="recalibrated", changed_ratio=ratio)
        mask = self._mask.for_size(width, height)
        if mask is not None:
            changed = cv2.bitwise_and(changed, mask)
        if self.config.dilation:
            changed = cv2.dilate(changed, self._kernel, iterations=self.config.dilation)
            if mask is not None:
                changed = cv2.bitwise_and(changed, mask)
        contours, _ = cv2.findContours(changed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        max_area = self.config.max_area_ratio * width * height
        boxes = [
            cv2.boundingRect(c) for c in contours if self.config.min_area_px <= cv2.contourArea(c) <= max_area
        ]
        if not boxes:
            return MotionResult(kind="none", changed_ratio=ratio)
        merged = merge_boxes(
            [(int(x), int(y), int(w), int(h)) for x, y, w, h in boxes], self.config.merge_distance_px
        )
        merged.sort(key=lambda b: b[2] * b[3], reverse=True)
        scale = src_w / width
        source = [_scale(b, scale, src_w, src_h) for b in merged]
        crop = _with_margin(source[0], self.config.crop_margin, src_w, src_h)
        return MotionResult(kind="motion", boxes=source, crop=crop, changed_ratio=ratio)


def merge_boxes(boxes: list[Box], distance: int) -> list[Box]:
    """Union boxes whose gap is at most ``distance`` px, until no two are that close."""
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
                if gap_x <= distance and gap_y <= distance:
                    nx, ny = min(x, ox), min(y, oy)
                    w, h = max(x + w, ox + ow) - nx, max(y + h, oy + oh) - ny
                    x, y = nx, ny
                    out.pop(i)
                    merged = True
                else:
                    i += 1
            result.append((x, y, w, h))
        out = result
    return out


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
