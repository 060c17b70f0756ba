"""Wires the watchdog engine into Services: the engine, its supervised worker, its health."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from homelab_hub.health import ComponentHealth
from homelab_hub.resources import watchdog as watchdog_resources
from homelab_hub.server import cli_watchdog
from homelab_hub.server.components.base import Component
from homelab_hub.tools import restart as restart_tools
from homelab_hub.tools import watchdog as watchdog_tools
from homelab_hub.watchdog import schema
from homelab_hub.watchdog.engine import Watchdog, WatchdogWorker
from homelab_hub.watchdog.workers import RemoteWorkers

if TYPE_CHECKING:
    from homelab_hub.services import Services


def _remote_workers(services: Services) -> RemoteWorkers:
    """The camera workers the hub knows (configured or seen on the broker), by their link."""

    def workers() -> dict[str, tuple[bool, str, dict[str, Any]]]:
        remote = services.cameras.remote if services.cameras is not None else None
        if remote is None:
            return {}
        return {
            name: (link.reachable, link.summary, state) for name, (link, state) in remote.workers().items()
        }

    return workers


def build(services: Services) -> None:
    """Create the engine and register its worker.

    Raises ConfigError when the Claude tier is on and its prompt template is unreadable.
    """
    config = services.config.watchdog
    watchdog = Watchdog(
        config, services.db, notifier=services.notifier, supervisor=services.supervisor, role="the hub",
        remote=_remote_workers(services) if services.link is not None else None,
    )  # fmt: skip
    services.watchdog = watchdog
    if config.enabled:
        probe = WatchdogWorker(watchdog)
        services.supervisor.add(
            "watchdog", lambda: WatchdogWorker(watchdog), heartbeat_timeout=probe.heartbeat_timeout
        )


def health(services: Services) -> ComponentHealth:
    """The last completed check (this hub's, or cron's through the lock's row), no addresses."""
    watchdog = services.watchdog
    if watchdog is None:
        return ComponentHealth(state="disabled", detail="the watchdog is not running")
    data: dict[str, object] = {"services": len(watchdog.config.services)}
    deadman = watchdog.deadman.state()
    if deadman:
        data["deadman"] = {k: v for k, v in deadman.items() if k != "host"}
    holder = watchdog.lock.current()
    last = holder.last_check_at if holder is not None else None
    report = watchdog.last_report
    if report is not None:
        last = max(last or 0.0, report.finished_at)
    data["last_check_at"] = last
    data["last_check_age_s"] = None if last is None else round(time.time() - last, 1)
    data["checks"] = watchdog.checks_completed
    if not services.config.watchdog.enabled:
        detail = "watchdog.enabled is false" + ("; last check by cron" if last else "")
        return ComponentHealth(state="disabled", detail=detail, data=data)
    if watchdog.standby is not None:
        data["standby"] = True
        return ComponentHealth(
            state="ok", detail=f"standing by: the lock is held by {watchdog.standby}", data=data
        )
    if report is None:
        return ComponentHealth(state="starting", detail="no check yet", data=data)
    human = report.needs_human
    return ComponentHealth(
        state="degraded" if human else "ok",
        detail=f"needs a human: {', '.join(human)}" if human else report.overall,
        data=data,
    )


def close(services: Services) -> None:
    """Release what build() opened (and the watchdog lock)."""
    if services.watchdog is not None:
        services.watchdog.close()


COMPONENT = Component(
    name="watchdog",
    migrations=schema.MIGRATIONS,
    tools=[*watchdog_tools.TOOLS, *restart_tools.TOOLS],
    resources=watchdog_resources.RESOURCES,
    register_cli=cli_watchdog.register,
    build=build,
    close=close,
    health=health,
)
