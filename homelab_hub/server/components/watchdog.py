"""Wires the watchdog engine into Services: the engine, its supervised worker, its health."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homelab_hub.health import ComponentHealth
from homelab_hub.resources import watchdog as watchdog_resources
from homelab_hub.server import cli_watchdog
from homelab_hub.server.components.base import Component
from homelab_hub.tools import services as services_tools
from homelab_hub.tools import watchdog as watchdog_tools
from homelab_hub.watchdog import schema
from homelab_hub.watchdog.engine import Watchdog, WatchdogWorker

if TYPE_CHECKING:
    from homelab_hub.server.services import Services


def build(services: Services) -> None:
    """Create the engine and register its worker."""
    config = services.config.watchdog
    watchdog = Watchdog(config, services.db, notifier=services.notifier, supervisor=services.supervisor)
    services.watchdog = watchdog
    if config.enabled:
        probe = WatchdogWorker(watchdog)
        services.supervisor.add(
            "watchdog", lambda: WatchdogWorker(watchdog), heartbeat_timeout=probe.heartbeat_timeout
        )


def health(services: Services) -> ComponentHealth:
    watchdog = services.watchdog
    if watchdog is None or not services.config.watchdog.enabled:
        return ComponentHealth(state="disabled", detail="watchdog.enabled is false")
    report = watchdog.last_report
    if report is None:
        return ComponentHealth(
            state="starting", detail="no check yet", data={"services": len(watchdog.config.services)}
        )
    human = report.needs_human
    return ComponentHealth(
        state="degraded" if human else "ok",
        detail=f"needs a human: {', '.join(human)}" if human else report.overall,
        data={"services": len(watchdog.config.services), "last_check_at": report.finished_at},
    )


def close(services: Services) -> None:
    """Release what build() opened."""
    if services.watchdog is not None:
        services.watchdog.close()


COMPONENT = Component(
    name="watchdog",
    config_section="watchdog",
    migrations=schema.MIGRATIONS,
    tools=[*watchdog_tools.TOOLS, *services_tools.TOOLS],
    resources=watchdog_resources.RESOURCES,
    register_cli=cli_watchdog.register,
    build=build,
    close=close,
    health=health,
)
