"""Zone editing, one camera at a time: list, add, update, remove and copy, applied live.

The zone_edit tool and the zone page both edit through `ZoneEditor`. A camera's stored set
(`ZoneStore`) is the truth once edited; until then its config zones apply. An edit checks
the one zone it changes (shape, size, then the polygon, once), saves the camera's whole set
in one transaction, and hands it to the running pipeline, which uses it from the next sample.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from homelab_hub.cameras.settings import CameraConfig, ZoneConfig
from homelab_hub.cameras.zones.mask import check_unique, parse_zone
from homelab_hub.cameras.zones.store import ZoneStore
from homelab_hub.errors import Conflict, InvalidInput, NotFound

if TYPE_CHECKING:
    from homelab_hub.cameras.detect.pipeline import CameraPipeline
    from homelab_hub.cameras.stream.manager import CameraManager

ZoneKind = Literal["exclude", "include"]
MAX_DRAFT_ZONES = 64  # a draft mask renders them all on every redraw

# Edits are load, change, save: two at once (the page and an agent) must not lose one.
_EDIT_LOCK = threading.Lock()
_Zones = list[ZoneConfig]  # ZoneEditor.list shadows the builtin inside the class


@dataclass(frozen=True)
class ZoneSet:
    """A camera's zones after a list or an edit."""

    camera: str
    zones: list[ZoneConfig]
    source: str  # database | config | config (stored zones unreadable) | draft (not saved)
    applied: bool  # the running camera already uses these zones


class ZoneEditor:
    """Edits zones of the cameras a manager runs (or, without one, of the configured ones)."""

    def __init__(
        self,
        store: ZoneStore,
        *,
        manager: CameraManager | None,
        cameras: Mapping[str, CameraConfig],
    ) -> None:
        self.store = store
        self.manager = manager
        self.cameras = cameras

    def list(self, camera: str) -> ZoneSet:
        """The camera's current zones. Raises NotFound (naming the known cameras)."""
        config, pipeline = self._camera(camera)
        stored = self.store.load(camera, list(config.zones))
        return ZoneSet(camera, list(stored.zones), stored.source, applied=pipeline is not None)

    def add(
        self, camera: str, name: str, points: Sequence[Sequence[float]] | None, kind: ZoneKind | None = None
    ) -> ZoneSet:
        """Add a zone (kind defaults to exclude).

        Raises NotFound (camera), Conflict (the name is taken), InvalidInput (bad polygon).
        """
        with _EDIT_LOCK:
            config, pipeline, zones = self._load(camera)
            return self._save(camera, self._with_added(camera, zones, name, points, kind), pipeline)

    def preview_add(
        self, camera: str, name: str, points: Sequence[Sequence[float]] | None, kind: ZoneKind | None = None
    ) -> ZoneSet:
        """The camera's zones as `add` would save them, checked the same way but not saved
        (the review's "exclude this area", shown before the operator saves it).

        Raises NotFound (camera), Conflict (the name is taken), InvalidInput (bad polygon).
        """
        _, _, zones = self._load(camera)
        return ZoneSet(camera, self._with_added(camera, zones, name, points, kind), "draft", applied=False)

    def check_draft(self, camera: str, raw_zones: Sequence[object]) -> ZoneSet:
        """A whole draft zone set (the zone page while drawing), checked as a save would check
        it, not saved. Raises NotFound (camera), InvalidInput (a bad zone, a repeated name,
        more than MAX_DRAFT_ZONES)."""
        self._camera(camera)
        if len(raw_zones) > MAX_DRAFT_ZONES:
            raise InvalidInput(
                f"camera {camera!r}: a draft has {len(raw_zones)} zones; at most {MAX_DRAFT_ZONES} are allowed"
            )
        zones = [parse_zone(camera, z) for z in raw_zones]
        check_unique(camera, zones)
        return ZoneSet(camera, zones, "draft", applied=False)

    def update(
        self,
        camera: str,
        name: str,
        *,
        points: Sequence[Sequence[float]] | None = None,
        kind: ZoneKind | None = None,
    ) -> ZoneSet:
        """Change a zone's kind and/or points; what is not given stays.

        Raises NotFound (camera or zone), InvalidInput (bad polygon).
        """
        with _EDIT_LOCK:
            config, pipeline, zones = self._load(camera)
            index = self._index(camera, zones, name)
            current = zones[index]
            zones[index] = parse_zone(
                camera,
                {
                    "name": name,
                    "kind": kind or current.kind,
                    "points": list(points) if points is not None else [list(p) for p in current.points],
                },
            )
            return self._save(camera, zones, pipeline)

    def remove(self, camera: str, name: str) -> ZoneSet:
        """Delete a zone. Raises NotFound (camera or zone)."""
        with _EDIT_LOCK:
            config, pipeline, zones = self._load(camera)
            zones.pop(self._index(camera, zones, name))
            return self._save(camera, zones, pipeline)

    def copy(self, source: str, target: str, names: Sequence[str] | None = None) -> ZoneSet:
        """Copy zones (all, or the named ones) from one camera to another: two cameras that
        see the same driveway from close angles. Points are image-relative, so the copy fits
        the target only as well as the views match.

        Raises NotFound (either camera, or a named zone), Conflict (a name the target already uses).
        """
        with _EDIT_LOCK:
            _, _, source_zones = self._load(source)
            if names is not None:
                picked = [source_zones[self._index(source, source_zones, n)] for n in names]
            else:
                picked = source_zones
            _, pipeline, zones = self._load(target)
            taken = sorted({z.name for z in zones} & {z.name for z in picked})
            if taken:
                listed = ", ".join(repr(n) for n in taken)
                raise Conflict(
                    f"camera {target!r} already has zones named {listed}; rename or remove them first"
                )
            return self._save(target, [*zones, *picked], pipeline)

    # -- internals --------------------------------------------------------------------------
    def _camera(self, camera: str) -> tuple[CameraConfig, CameraPipeline | None]:
        if self.manager is not None:
            runtime = self.manager.runtime(camera)  # raises NotFound naming the known cameras
            return runtime.camera, runtime.pipeline
        config = self.cameras.get(camera)
        if config is None:
            known = ", ".join(repr(n) for n in sorted(self.cameras)) or "none are configured"
            raise NotFound(f"unknown camera {camera!r}; known cameras: {known}")
        return config, None

    def _load(self, camera: str) -> tuple[CameraConfig, CameraPipeline | None, _Zones]:
        config, pipeline = self._camera(camera)
        return config, pipeline, list(self.store.load(camera, list(config.zones)).zones)

    @staticmethod
    def _with_added(
        camera: str, zones: _Zones, name: str, points: Sequence[Sequence[float]] | None, kind: ZoneKind | None
    ) -> _Zones:
        label = f"zone {name!r} on camera {camera!r}"
        if any(z.name == name for z in zones):
            raise Conflict(f"{label} already exists; use action=update to change it")
        if points is None:
            raise InvalidInput(f"{label}: points are required to add a zone, e.g. [[0,0],[1,0],[1,0.3]]")
        return [*zones, parse_zone(camera, {"name": name, "kind": kind or "exclude", "points": list(points)})]

    @staticmethod
    def _index(camera: str, zones: _Zones, name: str) -> int:
        for i, zone in enumerate(zones):
            if zone.name == name:
                return i
        names = ", ".join(repr(z.name) for z in zones) or "none"
        raise NotFound(f"zone {name!r} on camera {camera!r} does not exist; zones of this camera: {names}")

    def _save(self, camera: str, zones: _Zones, pipeline: CameraPipeline | None) -> ZoneSet:
        self.store.save(camera, zones)  # checks the names are unique
        if pipeline is not None:
            pipeline.update_zones(zones)
        if self.manager is not None:
            self.manager.zones_saved(camera)  # a camera on a worker gets them over the broker
        return ZoneSet(camera, zones, "database", applied=pipeline is not None)
