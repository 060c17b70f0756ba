""" "Exclude this area": a review group's motion boxes turned into an exclusion zone draft.

The alternative to a text pattern: instead of silencing a description, stop the motion that
causes it (the steam pipe, the branches). The union of the group's boxes (each alert's boxes
normalised by the size of its own image) is drawn on a coarse grid with a margin; each
connected area becomes its convex hull (a simple polygon, so always a valid zone), at most a
few areas, largest first. The draft is checked by `ZoneEditor.preview_add`, exactly as a save
would check it, and returned with the camera's other zones for the operator to look at; the
zone page (or zone_edit add) saves it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from homelab_hub.cameras.detect.activity import jpeg_size
from homelab_hub.cameras.review.groups import AlertReview, camera_frame_size
from homelab_hub.cameras.settings import ZoneConfig
from homelab_hub.cameras.zones.editor import ZoneEditor, ZoneSet
from homelab_hub.cameras.zones.mask import ZoneMask, detection_size
from homelab_hub.cameras.zones.polygon import MAX_ZONE_POINTS
from homelab_hub.cameras.zones.store import ZoneStore
from homelab_hub.errors import InvalidInput, Unavailable
from homelab_hub.lazy import lazy_module

cv2 = lazy_module("cv2")

_GRID = 256  # cells per side of the union mask: 0.4 % of the frame, finer than any box
_MARGIN = 0.02  # share of the frame added around each box: the motion's own jitter
_MAX_AREAS = 3


@dataclass(frozen=True)
class ZoneDraft:
    camera: str
    group_id: int
    drafted: list[ZoneConfig]  # the new zones, not saved
    zones: ZoneSet  # the camera's zones with the drafted ones added (source "draft")
    boxes_used: int
    frame_width: int
    frame_height: int
    coverage: float  # share of the detection frame the drafted zones would ignore


def exclusion_zone(review: AlertReview, group_id: int, *, name: str | None = None) -> ZoneDraft:
    """Draft an exclusion zone from the group's boxes. Raises NotFound (group, camera),
    InvalidInput (a bad name, no boxes), Conflict (the name is taken), Unavailable (no frame
    size is known: the images are gone and the camera is not running)."""
    row = review.row(group_id)
    camera = row.camera
    editor = ZoneEditor(ZoneStore(review.db), manager=review.manager, cameras=review.cameras)
    current = editor.list(camera)  # NotFound for a camera no longer configured
    fallback = camera_frame_size(review.manager, camera)
    boxes: list[tuple[float, float, float, float]] = []
    size: tuple[int, int] | None = None
    for alert_boxes, path in review.store.group_boxes(camera, row.normalized):
        alert_size = (jpeg_size(path) if path else None) or fallback
        if alert_size is None:
            continue
        size = size or alert_size
        w, h = alert_size
        boxes += [(x / w, y / h, bw / w, bh / h) for x, y, bw, bh in alert_boxes]
    if not boxes:
        if size is None and fallback is None and review.store.group_boxes(camera, row.normalized, 1):
            raise Unavailable(
                f"review group {group_id}: its alert images are gone and camera {camera!r} is not running, "
                "so the frame size its boxes refer to is unknown"
            )
        raise InvalidInput(f"review group {group_id} has no motion boxes to exclude (full-frame alerts only)")
    frame_w, frame_h = size or fallback or (0, 0)
    taken = {z.name for z in current.zones}
    areas = area_polygons(boxes)
    base = name or draft_zone_name(row.normalized)
    drafted: list[ZoneConfig] = []
    for i, points in enumerate(areas):
        wanted = base if len(areas) == 1 or name else f"{base} area {i + 1}"
        zone_name = wanted if name and i == 0 else _free_name(wanted, taken)
        taken.add(zone_name)
        # Each area is checked against the stored zones exactly as `add` would check it.
        drafted.append(editor.preview_add(camera, zone_name, [list(p) for p in points], "exclude").zones[-1])
    zones = ZoneSet(camera, [*current.zones, *drafted], "draft", applied=False)
    detect_w = _detect_width(review, camera)
    width, height = detection_size(frame_w, frame_h, detect_w)
    mask = ZoneMask(drafted).for_size(width, height)
    coverage = 0.0 if mask is None else float((mask == 0).mean())
    return ZoneDraft(camera, group_id, drafted, zones, len(boxes), frame_w, frame_h, round(coverage, 4))


def area_polygons(boxes: list[tuple[float, float, float, float]]) -> list[list[tuple[float, float]]]:
    """Convex hulls (0..1 corners) of the connected areas the boxes cover, largest first."""
    mask = np.zeros((_GRID, _GRID), np.uint8)
    for x, y, w, h in boxes:
        x0, y0 = _cell(x - _MARGIN), _cell(y - _MARGIN)
        x1, y1 = _cell(x + w + _MARGIN), _cell(y + h + _MARGIN)
        cv2.rectangle(mask, (x0, y0), (x1, y1), 255, thickness=-1)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    contours = sorted(contours, key=cv2.contourArea, reverse=True)[:_MAX_AREAS]
    polygons = []
    for contour in contours:
        hull = cv2.convexHull(contour)
        epsilon = 0.5
        while len(hull) > MAX_ZONE_POINTS // 4:  # a few dozen corners are plenty to draw over
            hull = cv2.approxPolyDP(hull, epsilon, closed=True)
            epsilon *= 2
        pts = [(round(float(p[0][0]) / (_GRID - 1), 4), round(float(p[0][1]) / (_GRID - 1), 4)) for p in hull]
        if len(pts) >= 3:
            polygons.append(pts)
    return polygons


def draft_zone_name(normalized: str) -> str:
    """A drafted zone is named after what it ignores ("ignore car moving on road"), not after
    the group's number ("review 1", then "review 1 2"), which told the operator nothing."""
    words = re.findall(r"[A-Za-z0-9]+", normalized)
    name = "ignore"
    for word in words:
        if len(name) + 1 + len(word) > 40:
            break
        name = f"{name} {word}"
    return name


def _free_name(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    n = 2
    while f"{base} {n}" in taken:
        n += 1
    return f"{base} {n}"


def _detect_width(review: AlertReview, camera: str) -> int:
    config = review.cameras.get(camera)
    if config is None and review.manager is not None:
        config = review.manager.runtime(camera).camera
    return config.motion.detect_width if config is not None else 640


def _cell(value: float) -> int:
    return int(round(min(max(value, 0.0), 1.0) * (_GRID - 1)))
