"""The typed services object: built once in the app's lifespan, handed to every tool.

Each engine is wired in by a module under ``server/components/`` exposing
``build(services)`` (create the engine, register workers and health checks) and
``close(services)``. Building never blocks on slow work: models load in the background.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from homelab_hub.config import HubConfig
from homelab_hub.health import ComponentHealth
from homelab_hub.server.supervisor import Supervisor
from homelab_hub.store import Database, migrate

log = logging.getLogger(__name__)

COMPONENTS = (
    "homelab_hub.server.components.notify",
    "homelab_hub.server.components.memory",
    "homelab_hub.server.components.inference",
    "homelab_hub.server.components.cameras",
    "homelab_hub.server.components.watchdog",
)


@dataclass
class Services:
    config: HubConfig
    db: Database
    supervisor: Supervisor
    started_at: float = field(default_factory=time.time)
    # Engines, set by their component module (None when not configured).
    memory: Any = None
    inference: Any = None
    cameras: Any = None
    watchdog: Any = None
    notifier: Any = None
    health_checks: dict[str, Callable[[], ComponentHealth]] = field(default_factory=dict)
    _health_cache: tuple[float, dict[str, ComponentHealth]] | None = field(default=None, repr=False)

    def cached_health(self, max_age_s: float = 1.0) -> dict[str, ComponentHealth] | None:
        """The last health report if it is fresher than max_age_s, else None (no I/O)."""
        cached = self._health_cache
        if cached is not None and time.monotonic() - cached[0] <= max_age_s:
            return cached[1]
        return None

    def health(self) -> dict[str, ComponentHealth]:
        out: dict[str, ComponentHealth] = {}
        try:
            latency = self.db.ping()
            out["storage"] = ComponentHealth(
                state="ok", detail=self.db.dialect, data={"ping_ms": round(latency * 1000, 2)}
            )
        except Exception as exc:  # health must report, never raise
            out["storage"] = ComponentHealth(state="down", detail=str(exc))
        for name, check in self.health_checks.items():
            try:
                out[name] = check()
            except Exception as exc:  # one broken check must not hide the others
                out[name] = ComponentHealth(state="degraded", detail=f"health check failed: {exc}")
        for name, state in self.supervisor.states().items():
            out[f"worker:{name}"] = ComponentHealth(
                state="ok"
                if state.state == "running"
                else ("starting" if state.state == "starting" else "down"),
                detail=state.reason or state.state,
                data=state.public(),
            )
        self._health_cache = (time.monotonic(), out)
        return out


def build_services(config: HubConfig, *, start_workers: bool = True) -> Services:
    """Open the database, run migrations, wire every component. Raises HubError."""
    db = Database.from_url(config.storage.url)
    migrate(db)
    supervisor = Supervisor(config.supervisor, db=db)
    services = Services(config=config, db=db, supervisor=supervisor)
    for name in COMPONENTS:
        importlib.import_module(name).build(services)
    if start_workers:
        supervisor.start()
    return services


def reload_services(services: Services, config: HubConfig) -> list[str]:
    """Apply a changed config to running engines without a restart (SIGHUP).

    Each component module may define ``reload(services, new_config)``; those that do not
    keep their old settings until the next restart. Returns the components reloaded.
    """
    reloaded = []
    for name in COMPONENTS:
        module = importlib.import_module(name)
        if hasattr(module, "reload"):
            module.reload(services, config)
            reloaded.append(name.rsplit(".", 1)[-1])
    services.config = config
    return reloaded


def close_services(services: Services) -> None:
    services.supervisor.stop()
    for name in reversed(COMPONENTS):
        try:
            importlib.import_module(name).close(services)
        except Exception:  # keep closing the rest
            log.exception("closing %s failed", name)
    services.db.close()
