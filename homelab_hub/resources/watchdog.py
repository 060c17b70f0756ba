"""watchdog://incidents/{id}: one incident with its findings, forensics and actions."""

from __future__ import annotations

import json

from homelab_hub.errors import InvalidInput, Unavailable
from homelab_hub.resources.registry import ResourceSpec
from homelab_hub.tools.registry import ToolContext


def _incident(ctx: ToolContext, params: dict[str, str]) -> str:
    """Raises InvalidInput for a non-numeric id, NotFound for an unknown one."""
    raw = params.get("id", "")
    if not raw.isdigit():
        raise InvalidInput(f"incident id must be a positive integer, got {raw!r}")
    watchdog = ctx.services.watchdog
    if watchdog is None:
        raise Unavailable("the watchdog is not running in this hub")
    return json.dumps(watchdog.incident(int(raw)).to_dict(), indent=2, ensure_ascii=False)


RESOURCES = [
    ResourceSpec(
        name="watchdog-incident",
        uri_template="watchdog://incidents/{id}",
        description="A watchdog incident: findings, log tail and process state captured before any kill, actions.",
        handler=_incident,
    )
]
