"""Where a camera's motion and alerts actually happened recently, for the zone editor's underlay.

Each pipeline keeps a `MotionActivity`: a coarse heat map (a 32 x 18 grid, per hour of the
last day) of how often each cell lay inside a motion box, plus the last few hundred boxes.
It is bounded whatever the traffic (24 x 32 x 18 counters, 300 boxes) and lives in memory
only: it is a cache of what the prefilter saw, rebuilt from nothing after a restart. Alert
boxes come from the database; they are in full-frame pixels, normalised with the size of
the alert's own image.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from homelab_hub.cameras.alerts.store import AlertRecord
from homelab_hub.cameras.detect.motion import Box

GRID_W, GRID_H = 32, 18  # 16:9 cells on most cameras; enough to tell the road from the porch
HOURS = 24
_RECENT_BOXES = 300


@dataclass(frozen=True)
class ActivityBox:
    """A box in 0..1 image coordinates (x, y of the top-left corner, width, height)."""

    x: float
    y: float
    w: float
    h: float
    ts: float
    alert_id: int | None = None


@dataclass(frozen=True)
class ActivityReport:
    camera: str
    hours: int
    grid_width: int
    grid_height: int
    motion_heat: list[list[int]]  # grid_height rows of grid_width counts
    motion_max: int
    motion_samples: int  # samples with motion in the window
    motion_boxes: list[ActivityBox]  # the most recent ones, newest first
    alert_boxes: list[ActivityBox]
    alerts_without_size: int  # alerts whose image is gone and whose frame size is unknown
    frame_width: int | None
    frame_height: int | None


class MotionActivity:
    """One camera's recent motion boxes. Thread-safe: the worker adds, pages read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._grid = np.zeros((HOURS, GRID_H, GRID_W), np.uint32)
        self._hour_of = np.full(HOURS, -1, np.int64)  # which epoch hour each slot holds
        self._samples = np.zeros(HOURS, np.int64)
        self._boxes: deque[ActivityBox] = deque(maxlen=_RECENT_BOXES)
        self.frame_size: tuple[int, int] | None = None

    def add(self, boxes: Sequence[Box], frame_width: int, frame_height: int, ts: float) -> None:
        """Count one sample's motion boxes (full-frame pixels) at time ``ts``."""
        if not boxes or frame_width < 1 or frame_height < 1:
            return
        hour = int(ts // 3600)
        slot = hour % HOURS
        with self._lock:
            self.frame_size = (frame_width, frame_height)
            if self._hour_of[slot] != hour:
                self._grid[slot] = 0
                self._samples[slot] = 0
                self._hour_of[slot] = hour
            self._samples[slot] += 1
            for x, y, w, h in boxes:
                box = _normalised((x, y, w, h), frame_width, frame_height, ts, None)
                x0, x1 = _cells(box.x, box.w, GRID_W)
                y0, y1 = _cells(box.y, box.h, GRID_H)
                self._grid[slot, y0:y1, x0:x1] += 1
                self._boxes.append(box)

    def snapshot(self, hours: int, now: float) -> tuple[np.ndarray, int, list[ActivityBox]]:
        """(heat grid, samples with motion, boxes newest first) of the last ``hours`` (1..24)."""
        hours = max(1, min(HOURS, hours))
        current = int(now // 3600)
        with self._lock:
            keep = (self._hour_of > current - hours) & (self._hour_of <= current)
            grid = self._grid[keep].sum(axis=0) if keep.any() else np.zeros((GRID_H, GRID_W), np.uint64)
            samples = int(self._samples[keep].sum())
            since = now - hours * 3600
            boxes = [b for b in reversed(self._boxes) if b.ts >= since]
        return grid, samples, boxes


def camera_activity(
    camera: str,
    hours: int,
    *,
    motion: MotionActivity | None,
    alerts: Sequence[AlertRecord],
    now: float,
    max_boxes: int = 200,
) -> ActivityReport:
    """The underlay of one camera: the motion heat map and boxes, and the alerts' boxes."""
    if motion is not None:
        grid, samples, boxes = motion.snapshot(hours, now)
        fallback = motion.frame_size
    else:
        grid, samples, boxes, fallback = np.zeros((GRID_H, GRID_W), np.uint64), 0, [], None
    alert_boxes: list[ActivityBox] = []
    unsized = 0
    size = fallback
    for alert in alerts:
        alert_size = (jpeg_size(alert.image_path) if alert.image_path else None) or fallback
        if alert_size is None:
            unsized += 1
            continue
        size = size or alert_size
        alert_boxes += [_normalised(b, *alert_size, alert.ts, alert.id) for b in alert.boxes]
    return ActivityReport(
        camera=camera,
        hours=hours,
        grid_width=GRID_W,
        grid_height=GRID_H,
        motion_heat=[[int(v) for v in row] for row in grid],
        motion_max=int(grid.max()) if grid.size else 0,
        motion_samples=samples,
        motion_boxes=boxes[:max_boxes],
        alert_boxes=alert_boxes[:max_boxes],
        alerts_without_size=unsized,
        frame_width=size[0] if size else None,
        frame_height=size[1] if size else None,
    )


def _normalised(box: Box, width: int, height: int, ts: float, alert_id: int | None) -> ActivityBox:
    x, y, w, h = box
    nx, ny = min(max(x / width, 0.0), 1.0), min(max(y / height, 0.0), 1.0)
    return ActivityBox(
        x=round(nx, 4),
        y=round(ny, 4),
        w=round(min(max(w / width, 0.0), 1.0 - nx), 4),
        h=round(min(max(h / height, 0.0), 1.0 - ny), 4),
        ts=ts,
        alert_id=alert_id,
    )


def _cells(start: float, size: float, cells: int) -> tuple[int, int]:
    first = min(cells - 1, max(0, math.floor(start * cells)))
    return first, max(first + 1, min(cells, math.ceil((start + size) * cells)))


@lru_cache(maxsize=4096)
def jpeg_size(path: str) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header, without decoding it; None when the file is
    gone or not a JPEG. Cached: alert images are written once and never change."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(65536)  # the frame header comes before the scan; 64 KiB holds it
    except OSError:
        return None
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        # SOF0..SOF15 carry the size, except DHT (C4), JPG (C8) and DAC (CC).
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            return (width, height) if width and height else None
        i += 2 + length
    return None
