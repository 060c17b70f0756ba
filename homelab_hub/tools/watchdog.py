"""watchdog_status: what the watchdog sees for each watched service and hub worker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field

from homelab_hub.errors import NotFound
from homelab_hub.tools.registry import ToolContext, ToolInput, ToolOutput, ToolSpec

if TYPE_CHECKING:
    from homelab_hub.watchdog.engine import Watchdog


class WatchdogStatusInput(ToolInput):
    service: str | None = Field(None, description="Only this service.", max_length=128)


class WatchedServiceStatus(ToolOutput):
    model_config = ConfigDict(extra="forbid", from_attributes=True)

    name: str = Field(..., description="Service name, or worker:NAME for the hub's own workers.")
    kind: str = Field(..., description="service (configured) or worker (hub worker, watched by heartbeat).")
    state: str = Field(
        ...,
        description="healthy | unhealthy | recovering | needs_human | unknown (workers: supervisor state).",
    )
    report: str = Field(
        ..., description="Outcome of the last check: nominal | fixed | code_fixed | needs_human."
    )
    last_check_at: float | None = Field(None, description="Epoch seconds of the last check.")
    findings: list[str] = Field(default_factory=list, description="Problems found by the last check.")
    restart_attempts: int = Field(
        0, description="Restarts counted in the restart budget's window (workers: supervisor restarts)."
    )
    last_incident_id: int | None = Field(
        None, description="Latest incident; read it at watchdog://incidents/{id}."
    )
    last_claude_at: float | None = Field(None, description="When Claude Code last ran for this service.")
    details: dict[str, Any] = Field(
        default_factory=dict,
        description="PIDs, CPU, log age, label (spinning/hung), restart budget; worker heartbeat details.",
    )


class WatchdogStatus(ToolOutput):
    overall: str = Field(
        ..., description="Worst outcome of the last check: nominal | fixed | code_fixed | needs_human."
    )
    last_check_at: float | None = Field(None, description="When the last full check finished.")
    interval_s: float = Field(..., description="Seconds between checks.")
    services: list[WatchedServiceStatus] = Field(..., description="Per service and worker.")


def _engine(ctx: ToolContext) -> Watchdog:
    return ctx.services.require(ctx.services.watchdog, "watchdog")


def watchdog_status(ctx: ToolContext, args: WatchdogStatusInput) -> WatchdogStatus:
    """Raises NotFound for an unknown service, Unavailable without a watchdog."""
    watchdog = _engine(ctx)
    rows = watchdog.status()
    if args.service is not None:
        rows = [r for r in rows if r.name == args.service]
        if not rows:
            known = ", ".join(sorted(watchdog.config.services)) or "none"
            raise NotFound(f"{args.service!r} is not a watched service (configured: {known})")
    report = watchdog.last_report
    return WatchdogStatus(
        overall=report.overall if report is not None else "nominal",
        last_check_at=report.finished_at if report is not None else None,
        interval_s=watchdog.config.interval_s,
        services=[WatchedServiceStatus.model_validate(row) for row in rows],
    )


TOOLS = [
    ToolSpec(
        name="watchdog_status",
        description="Watched services and hub workers: state, last check, findings, restarts, last incident.",
        input_model=WatchdogStatusInput,
        output_model=WatchdogStatus,
        handler=watchdog_status,
        read_only=True,
    )
]
