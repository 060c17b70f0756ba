"""watchdog://incidents/{id}: one incident with its findings, forensics and actions.

Everything in an incident was redacted when captured. Admin tokens read it whole; agent tokens
read what was found and done, without the raw forensics (log tails, raw log lines, process
command lines), where a secret that no pattern recognises would hide.
"""

from __future__ import annotations

import json

from homelab_hub.errors import InvalidInput, Unavailable
from homelab_hub.resources.registry import ResourceSpec
from homelab_hub.tools.registry import ToolContext

MAX_ID_DIGITS = 18  # ids are 64-bit database keys


def _incident(ctx: ToolContext, params: dict[str, str]) -> str:
    """Raises InvalidInput for a non-numeric id, NotFound for an unknown one."""
    raw = params.get("id", "")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_ID_DIGITS:
        raise InvalidInput(f"incident id must be a positive integer, got {raw[:40]!r}")
    watchdog = ctx.services.watchdog
    if watchdog is None:
        raise Unavailable("the watchdog is not running in this hub")
    incident = watchdog.incident(int(raw))
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
