"""watchdog://incidents/{id}: one incident with its findings, forensics and actions.

Everything in an incident was redacted when captured. Admin tokens read it whole; agent tokens
read what was found and done, without the raw forensics (log tails, raw log lines, process
command lines), where a secret that no pattern recognises would hide.
"""

from __future__ import annotations

import json

from homelab_hub.resources.registry import ResourceSpec, id_param
from homelab_hub.tools.registry import ToolContext


def _incident(ctx: ToolContext, params: dict[str, str]) -> str:
    """Raises InvalidInput for a non-numeric id, NotFound for an unknown one."""
    incident_id = id_param("watchdog://incidents/{id}", params.get("id", ""))
    watchdog = ctx.services.require(ctx.services.watchdog, "watchdog")
    incident = watchdog.incident(incident_id)
    view = incident.to_dict() if ctx.identity.is_admin else incident.agent_view()
    return json.dumps(view, indent=2, ensure_ascii=False)


RESOURCES = [
    ResourceSpec(
        name="watchdog-incident",
        uri_template="watchdog://incidents/{id}",
        description="A watchdog incident: findings, actions, restart history; log tails and command lines for admin tokens.",
        handler=_incident,
    )
]
