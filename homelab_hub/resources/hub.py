"""hub://status: the same answer as the hub_status tool, as a resource."""

from __future__ import annotations

import json

from homelab_hub.resources.registry import ResourceSpec
from homelab_hub.tools.hub import status_dict
from homelab_hub.tools.registry import ToolContext


def _status(ctx: ToolContext, params: dict[str, str]) -> str:
    return json.dumps(status_dict(ctx), indent=2)


RESOURCES = [
    ResourceSpec(
        name="hub-status",
        uri="hub://status",
        description="Hub version, uptime, storage backend, component and worker states.",
        handler=_status,
    )
]
