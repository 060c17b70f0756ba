"""Wires the watchdog engine into Services: the engine, its supervised worker, its health."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homelab_hub.health import ComponentHealth
from homelab_hub.watchdog.engine import Watchdog, WatchdogWorker

if TYPE_CHECKING:
    from homelab_hub.server.services import Services


def build(services: Services) -> None:
    """Create the engine, register its workers and health check."""
    config = services.config.watchdog
    watchdog = Watchdog(config, services.db, notifier=services.notifier, supervisor=services.supervisor)
    services.watchdog = watchdog
    if config.enabled:
        probe = WatchdogWorker(watchdog)
        services.supervisor.add(
            "watchdog", lambda: WatchdogWorker(watchdog), heartbeat_timeout=probe.heartbeat_timeout
        )
    services.health_checks["watchdog"] = lambda: _health(services)


def _health(services: Services) -> ComponentHealth:

    watchdog: Watchdog = services.watchdog
    if not services.config.watchdog.enabled:
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
