"""zone_edit: list, add, update or remove a camera's motion zones; applied live."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from homelab_hub.cameras.settings import ZoneConfig
from homelab_hub.cameras.zones import ZoneStore, check_unique, parse_zone
from homelab_hub.errors import Conflict, InvalidInput, NotFound
from homelab_hub.tools.registry import ToolContext, ToolInput, ToolOutput, ToolSpec


class ZoneArg(ToolInput):
    name: str = Field(..., description="Zone name.")
    kind: Literal["exclude", "include"] | None = Field(default=None, description="Default exclude.")
    points: list[list[float]] | None = Field(default=None, description="[[x, y], ...] in 0..1.")


class ZoneEditInput(ToolInput):
    camera: str = Field(..., description="Camera name.")
    action: Literal["list", "add", "update", "remove"] = Field(default="list", description="What to do.")
    zone: ZoneArg | None = Field(default=None, description="Name only for remove.")


class ZoneOut(ToolOutput):
    name: str = Field(..., description="Zone name, unique per camera.")
    kind: str = Field(..., description="exclude: motion here is ignored; include: only motion here counts.")
    points: list[list[float]] = Field(..., description="Polygon corners [x, y] in 0..1 image coordinates.")


class ZoneEditOutput(ToolOutput):
    camera: str = Field(..., description="Camera name.")
    zones: list[ZoneOut] = Field(..., description="The camera's zones after the action.")
    source: str = Field(
        ..., description="database (edited) or config (never edited, or stored zones unreadable)."
    )
    applied: bool = Field(..., description="True when the running camera already uses these zones.")


def zone_edit(ctx: ToolContext, args: ZoneEditInput) -> ZoneEditOutput:
    """Raises NotFound (camera or zone), Conflict (zone exists), InvalidInput (bad polygon)."""
    services = ctx.services
    camera_cfg = services.config.cameras.get(args.camera)
    manager = services.cameras
    pipeline = None
    if manager is not None:
        pipeline = manager.pipeline(args.camera)  # raises NotFound naming the known cameras
        camera_cfg = getattr(pipeline, "camera", camera_cfg)
    elif camera_cfg is None:
        known = ", ".join(repr(n) for n in sorted(services.config.cameras)) or "none are configured"
        raise NotFound(f"unknown camera {args.camera!r}; known cameras: {known}")
    store = ZoneStore(services.db)
    stored = store.load(args.camera, list(camera_cfg.zones) if camera_cfg else [])
    zones = list(stored.zones)
    if args.action == "list":
        return _output(args.camera, zones, stored.source, applied=pipeline is not None)
    if args.zone is None:
        raise InvalidInput(
            f"zone_edit {args.action} on camera {args.camera!r} needs a zone {{name, kind, points}}"
        )
    index = next((i for i, z in enumerate(zones) if z.name == args.zone.name), None)
    label = f"zone {args.zone.name!r} on camera {args.camera!r}"
    if args.action == "add":
        if index is not None:
            raise Conflict(f"{label} already exists; use action=update to change it")
        if args.zone.points is None:
            raise InvalidInput(f"{label}: points are required to add a zone, e.g. [[0,0],[1,0],[1,0.3]]")
        zones.append(parse_zone(args.camera, _raw(args.zone, None)))
    elif index is None:
        names = ", ".join(repr(z.name) for z in zones) or "none"
        raise NotFound(f"{label} does not exist; zones of this camera: {names}")
    elif args.action == "update":
        zones[index] = parse_zone(args.camera, _raw(args.zone, zones[index]))
    else:
        zones.pop(index)
    check_unique(args.camera, zones)
    store.save(args.camera, zones)
    if pipeline is not None:
        pipeline.update_zones(zones)
    return _output(args.camera, zones, "database", applied=pipeline is not None)


def _raw(arg: ZoneArg, current: ZoneConfig | None) -> dict[str, Any]:
    return {
        "name": arg.name,
        "kind": arg.kind or (current.kind if current else "exclude"),
        "points": arg.points
        if arg.points is not None
        else [list(p) for p in current.points]
        if current
        else [],
    }


def _output(camera: str, zones: list[ZoneConfig], source: str, *, applied: bool) -> ZoneEditOutput:
    return ZoneEditOutput(
        camera=camera,
        zones=[ZoneOut(name=z.name, kind=z.kind, points=[[x, y] for x, y in z.points]) for z in zones],
        source=source,
        applied=applied,
    )


TOOLS = [
    ToolSpec(
        name="zone_edit",
        description="List, add, update or remove a camera's motion zones (polygons in 0..1 image coordinates), "
        'e.g. zone {"name":"road","kind":"exclude","points":[[0,0],[1,0],[1,0.3]]}.',
        input_model=ZoneEditInput,
        output_model=ZoneEditOutput,
        handler=zone_edit,
        read_only=False,
    )
]
