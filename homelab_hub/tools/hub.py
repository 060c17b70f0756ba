"""hub_status: proves the spine end to end and tells an agent what the hub is running."""

from __future__ import annotations

import time
from typing import Any

import anyio.from_thread
import anyio.to_thread
from pydantic import Field

from homelab_hub import __version__
from homelab_hub.tools.registry import ToolContext, ToolInput, ToolOutput, ToolSpec


class HubStatusInput(ToolInput):
    pass


class WorkerStatus(ToolOutput):
    name: str = Field(..., description="Worker name, e.g. camera:gate or watchdog.")
    state: str = Field(..., description="starting | running | backoff | failed | stopped.")
    restarts: int = Field(..., description="Restarts since the hub started.")
    reason: str = Field("", description="Why it was last restarted or failed.")


class HubStatus(ToolOutput):
    version: str = Field(..., description="homelab-hub version.")
    uptime_s: float = Field(..., description="Seconds since the hub started.")
    storage: str = Field(..., description="Storage backend: sqlite or mysql.")
    agent: str = Field(..., description="The agent this caller acts as (from its token).")
    role: str = Field(..., description="agent or admin.")
    components: dict[str, str] = Field(
        ..., description="Component name -> state (ok, starting, degraded, down)."
    )
    workers: list[WorkerStatus] = Field(..., description="Supervised workers.")


async def hub_status(ctx: ToolContext, args: HubStatusInput) -> HubStatus:
    services = ctx.services
    # Status is asked often (agents poll it); a health report up to a second old will do,
    # and refreshing it pings the database, which must not run on the event loop.
    health = services.cached_health()
    if health is None:
        health = await anyio.to_thread.run_sync(services.health)
    workers = [
        WorkerStatus(name=name, state=state.state, restarts=state.restarts, reason=state.reason)
        for name, state in services.supervisor.states().items()
    ]
    return HubStatus(
        version=__version__,
        uptime_s=round(time.time() - services.started_at, 1),
        storage=services.db.dialect,
        agent=ctx.identity.agent,
        role=ctx.identity.role,
        components={k: v.state for k, v in health.components.items()},
        workers=workers,
    )


def status_dict(ctx: ToolContext) -> dict[str, Any]:
    """hub_status from a worker thread (resources run there)."""
    return anyio.from_thread.run(hub_status, ctx, HubStatusInput()).model_dump()


TOOLS = [
    ToolSpec(
        name="hub_status",
        description="Hub version, uptime, storage backend, component and worker states.",
        input_model=HubStatusInput,
        output_model=HubStatus,
        handler=hub_status,
        read_only=True,
    )
]
