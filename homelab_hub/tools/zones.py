"""zone_edit: list, add, update or remove a camera's motion zones; applied live.

Listing is open to every token; changes need an admin token (one full-frame exclusion zone
blinds a camera).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from homelab_hub.cameras.zones.editor import ZoneSet
from homelab_hub.cameras.zones.polygon import MAX_ZONE_POINTS
from homelab_hub.errors import InvalidInput
from homelab_hub.tools.registry import ToolContext, ToolInput, ToolOutput, ToolSpec

Coordinate = Annotated[float, Field(ge=0, le=1)]
PointArg = Annotated[list[Coordinate], Field(min_length=2, max_length=2)]


class ZoneArg(ToolInput):
    name: str = Field(..., min_length=1, max_length=64, description="Zone name.")
    kind: Literal["exclude", "include"] | None = Field(default=None, description="Default exclude.")
    points: list[PointArg] | None = Field(
        default=None,
        max_length=MAX_ZONE_POINTS,
        description=f"[[x, y], ...] in 0..1, 3 to {MAX_ZONE_POINTS}.",
    )


class ZoneEditInput(ToolInput):
    camera: str = Field(..., min_length=1, max_length=64, description="Camera name.")
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
    """Raises Forbidden (a change with an agent token), NotFound (camera or zone), Conflict
    (zone exists), InvalidInput (bad polygon)."""
    if args.action != "list":
        ctx.identity.require_admin(f"zone_edit {args.action}")
    editor = ctx.services.require(ctx.services.cameras, "cameras").zones()
    zone = args.zone
    if args.action == "list":
        return _output(editor.list(args.camera))
    if zone is None:
        editor.list(args.camera)  # an unknown camera is the first thing to report
        raise InvalidInput(
            f"zone_edit {args.action} on camera {args.camera!r} needs a zone {{name, kind, points}}"
        )
    if args.action == "add":
        return _output(editor.add(args.camera, zone.name, zone.points, zone.kind))
    if args.action == "update":
        return _output(editor.update(args.camera, zone.name, points=zone.points, kind=zone.kind))
    return _output(editor.remove(args.camera, zone.name))


def _output(zones: ZoneSet) -> ZoneEditOutput:
    return ZoneEditOutput(
        camera=zones.camera,
        zones=[ZoneOut(name=z.name, kind=z.kind, points=[[x, y] for x, y in z.points]) for z in zones.zones],
        source=zones.source,
        applied=zones.applied,
    )


TOOLS = [
    ToolSpec(
        name="zone_edit",
        description="A camera's motion zones (polygons in 0..1); admin to add, update or remove, "
        'e.g. zone {"name":"road","kind":"exclude","points":[[0,0],[1,0],[1,0.3]]}.',
        input_model=ZoneEditInput,
        output_model=ZoneEditOutput,
        handler=zone_edit,
        read_only=False,
    )
]
