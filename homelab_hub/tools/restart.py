"""restart_service: restart a watched service by its configured method (admin only)."""

from __future__ import annotations

from pydantic import Field

from homelab_hub.tools.registry import ToolContext, ToolInput, ToolOutput, ToolSpec


class RestartServiceInput(ToolInput):
    name: str = Field(..., description="Watched service name.", min_length=1, max_length=128)


class RestartServiceResult(ToolOutput):
    service: str = Field(..., description="The service restarted.")
    ok: bool = Field(..., description="True when it came back and logs again within the verify window.")
    detail: str = Field(..., description="What the verification saw.")
    incident_id: int = Field(
        ..., description="Incident recording the restart and its forensics (watchdog://incidents/{id})."
    )


def restart_service(ctx: ToolContext, args: RestartServiceInput) -> RestartServiceResult:
    """Raises Forbidden without an admin token, NotFound for an unconfigured name, Conflict
    (WatchdogLocked) while another process's watchdog holds the lock."""
    ctx.identity.require_admin("restart_service")
    watchdog = ctx.services.require(ctx.services.watchdog, "watchdog")
    result = watchdog.restart(args.name, requested_by=f"{ctx.identity.agent} via {ctx.transport}")
    return RestartServiceResult(
        service=args.name, ok=result.ok, detail=result.detail, incident_id=result.incident_id
    )


TOOLS = [
    ToolSpec(
        name="restart_service",
        description="Restart a watched service (admin), verify it, record an incident.",
        input_model=RestartServiceInput,
        output_model=RestartServiceResult,
        handler=restart_service,
        permission="admin",
        read_only=False,
    )
]
