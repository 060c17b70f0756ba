"""Zones: named polygons in 0..1 image coordinates, checked, and turned into pixel masks.

Where they are kept is ``zone_store``; the mask here is the one the motion prefilter uses and
the one the zone page previews.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from pydantic import ValidationError

from homelab_hub.cameras.settings import ZoneConfig, ZoneProblem
from homelab_hub.cameras.zones.polygon import MAX_ZONE_POINTS
from homelab_hub.errors import InvalidInput
from homelab_hub.lazy import lazy_module

cv2 = lazy_module("cv2")

log = logging.getLogger(__name__)


class ZoneMask:
    """The pixels where motion counts (255) and where it does not (0), for one frame size.

    Exclude zones are zeroed; when any include zone exists, only the inside of include
    zones counts. Masks are cached per frame size.
    """

    def __init__(self, zones: list[ZoneConfig]) -> None:
        self.zones = list(zones)
        self._cache: dict[tuple[int, int], np.ndarray | None] = {}

    def for_size(self, width: int, height: int) -> np.ndarray | None:
        """The mask at width x height, or None when no zone restricts anything."""
        key = (width, height)
        if key not in self._cache:
            self._cache[key] = self._build(width, height)
        return self._cache[key]

    def _build(self, width: int, height: int) -> np.ndarray | None:
        if not self.zones:
            return None
        includes = [z for z in self.zones if z.kind == "include"]
        excludes = [z for z in self.zones if z.kind == "exclude"]
        if includes:
            mask = np.zeros((height, width), np.uint8)
            cv2.fillPoly(mask, [_pixels(z, width, height) for z in includes], 255)
        else:
            mask = np.full((height, width), 255, np.uint8)
        if excludes:
            cv2.fillPoly(mask, [_pixels(z, width, height) for z in excludes], 0)
        return mask


def detection_size(frame_width: int, frame_height: int, detect_width: int) -> tuple[int, int]:
    """The size the motion prefilter diffs a frame at, and so the size its zone mask is built
    for: the detect width (never upscaled), the height keeping the aspect ratio."""
    width = min(detect_width, frame_width)
    return width, max(2, round(frame_height * width / frame_width))


# What the draft mask shows: ignored pixels tinted red and half opaque, counted ones clear,
# so the page can lay it over the live frame.
_IGNORED_RGBA = (40, 40, 230, 140)  # BGRA for OpenCV


@dataclass(frozen=True)
class DraftMask:
    png: bytes  # RGBA at the detection size: ignored pixels tinted, counted ones transparent
    width: int
    height: int
    ignored_share: float  # of the frame, 0..1


def draft_mask(zones: list[ZoneConfig], frame_width: int, frame_height: int, detect_width: int) -> DraftMask:
    """What the motion prefilter will ignore with these zones on a frame of this size, drawn
    at the detection size by the same `ZoneMask` the running pipeline applies.
    Raises InvalidInput (a size that is not an image)."""
    if not (2 <= frame_width <= 16384 and 2 <= frame_height <= 16384):
        raise InvalidInput(
            f"frame size {frame_width}x{frame_height} is not an image size; expected 2..16384 px"
        )
    width, height = detection_size(frame_width, frame_height, detect_width)
    mask = ZoneMask(zones).for_size(width, height)
    out = np.zeros((height, width, 4), np.uint8)
    ignored = 0.0
    if mask is not None:
        out[mask == 0] = _IGNORED_RGBA
        ignored = float((mask == 0).mean())
    ok, buf = cv2.imencode(".png", out, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise InvalidInput("the draft mask could not be encoded as PNG")
    return DraftMask(bytes(buf), width, height, round(ignored, 4))


def _pixels(zone: ZoneConfig, width: int, height: int) -> np.ndarray:
    pts = np.array([[x * (width - 1), y * (height - 1)] for x, y in zone.points], np.float64)
    return np.round(pts).astype(np.int32).reshape(-1, 1, 2)


def parse_zone(camera: str, raw: object) -> ZoneConfig:
    """A zone from caller data, with messages that name the zone and camera. The polygon is
    checked once (by ZoneConfig's validator), after the cheap shape and size checks.

    Raises InvalidInput.
    """
    if not isinstance(raw, dict):
        raise InvalidInput(
            f"camera {camera!r}: a zone is an object {{name, kind, points}}, got {type(raw).__name__}"
        )
    name = raw.get("name")
    label = f"zone {name!r} on camera {camera!r}" if isinstance(name, str) else f"a zone on camera {camera!r}"
    points = raw.get("points")
    if isinstance(points, list):
        if len(points) > MAX_ZONE_POINTS:
            # Before anything looks at the points: a huge list must cost nothing.
            raise InvalidInput(
                f"{label}: polygon has {len(points)} points; at most {MAX_ZONE_POINTS} are allowed"
            )
        try:
            pts = [(float(p[0]), float(p[1])) for p in points if len(p) == 2]
            if len(pts) != len(points):
                raise InvalidInput(f"{label}: every point is a pair [x, y] in 0..1")
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"{label}: every point is a pair of numbers [x, y] in 0..1") from exc
        raw = {**raw, "points": pts}
    try:
        return ZoneConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        problem = (first.get("ctx") or {}).get("error")
        if isinstance(problem, ZoneProblem):
            raise InvalidInput(f"{label}: {problem.problem}") from exc
        where = ".".join(str(p) for p in first["loc"]) or "zone"
        msg = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidInput(f"{label}: {where}: {msg}") from exc


def check_unique(camera: str, zones: list[ZoneConfig]) -> None:
    """Raises InvalidInput when two zones share a name."""
    seen: set[str] = set()
    for zone in zones:
        if zone.name in seen:
            raise InvalidInput(
                f"zone {zone.name!r} on camera {camera!r}: the name is already used; names are unique"
            )
        seen.add(zone.name)
