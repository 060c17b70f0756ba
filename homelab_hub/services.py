"""The typed services object: built once in the app's lifespan, handed to every tool.

Each engine is wired in by its component (server/components/): ``build`` creates the engine
and registers its workers, ``health`` reports on it, ``close`` releases it. Building never
blocks on slow work: models load in the background.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from homelab_hub.config import HubConfig
from homelab_hub.errors import Unavailable
from homelab_hub.health import ComponentHealth
from homelab_hub.redact import redact_text
from homelab_hub.server.components import COMPONENTS, Component, all_migrations
from homelab_hub.store import Database, migrate
from homelab_hub.supervisor import Supervisor

if TYPE_CHECKING:
    from homelab_hub.cameras.service import CameraService
    from homelab_hub.inference.engine import InferenceEngine
    from homelab_hub.memory.service import MemoryService
    from homelab_hub.notify.bus import NotificationBus
    from homelab_hub.watchdog.engine import Watchdog

log = logging.getLogger(__name__)
E = TypeVar("E")


@dataclass
class Services:
    config: HubConfig
    db: Database
    supervisor: Supervisor
    components: Sequence[Component] = COMPONENTS
    started_at: float = field(default_factory=time.time)
    # Engines, set by their component's build (None when not running).
    notifier: NotificationBus | None = None
    memory: MemoryService | None = None
    inference: InferenceEngine | None = None
    cameras: CameraService | None = None
    watchdog: Watchdog | None = None
    # Why a component's engine is absent, in words for the caller (set by its build).
    off: dict[str, str] = field(default_factory=dict)
    _health_cache: tuple[float, dict[str, ComponentHealth]] | None = field(default=None, repr=False)

    def require(self, engine: E | None, component: str) -> E:
        """The engine, or Unavailable saying which component is not running and why."""
        if engine is None:
            why = self.off.get(component, "it is not configured")
            raise Unavailable(f"{component} is not available on this hub: {why}")
        return engine

    def cached_health(self, max_age_s: float = 1.0) -> dict[str, ComponentHealth] | None:
        """The last health report if it is fresher than max_age_s, else None (no I/O)."""
        cached = self._health_cache
        if cached is not None and time.monotonic() - cached[0] <= max_age_s:
            return cached[1]
        return None

    def health(self) -> dict[str, ComponentHealth]:
        """Every component's health, storage and workers included. Details pass through
        redaction: an engine that quotes a URL in its detail must not leak its password."""
        out: dict[str, ComponentHealth] = {}
        try:
            latency = self.db.ping()
            out["storage"] = ComponentHealth(
                state="ok", detail=self.db.dialect, data={"ping_ms": round(latency * 1000, 2)}
            )
        except Exception as exc:  # health must report, never raise
            out["storage"] = ComponentHealth(state="down", detail=str(exc))
        for component in self.components:
            if component.health is None:
                continue
            try:
                out[component.name] = component.health(self)
            except Exception as exc:  # one broken check must not hide the others
                out[component.name] = ComponentHealth(state="degraded", detail=f"health check failed: {exc}")
        for name, state in self.supervisor.states().items():
            out[f"worker:{name}"] = ComponentHealth(
                state="ok"
                if state.state == "running"
                else ("starting" if state.state == "starting" else "down"),
                detail=state.reason or state.state,
                data=state.public(),
            )
        out = {name: _redacted(h) for name, h in out.items()}
        self._health_cache = (time.monotonic(), out)
        return out


def _redacted(health: ComponentHealth) -> ComponentHealth:
    return ComponentHealth(
        state=health.state, detail=redact_text(health.detail), data=_redact_data(health.data)
    )


def _redact_data(value: object) -> object:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_data(v) for v in value]
    return value


def build_services(
    config: HubConfig, *, start_workers: bool = True, components: Sequence[Component] = COMPONENTS
) -> Services:
    """Open the database, run migrations, build every component. Raises HubError."""
    db = Database.from_url(config.storage.url)
    migrate(db, all_migrations(components))
    supervisor = Supervisor(config.supervisor, db=db)
    services = Services(config=config, db=db, supervisor=supervisor, components=components)
    for component in components:
        component.build(services)
    if start_workers:
        supervisor.start()
    return services


def reload_services(services: Services, config: HubConfig) -> list[str]:
    """Apply a changed config to running engines without a restart (SIGHUP).

    Components without ``reload`` keep their old settings until the next restart. Returns
    the components reloaded.
    """
    reloaded = []
    for component in services.components:
        if component.reload is not None:
            component.reload(services, config)
            reloaded.append(component.name)
    services.config = config
    return reloaded


def close_services(services: Services) -> None:
    services.supervisor.stop()
    for component in reversed(services.components):
        try:
            component.close(services)
        except Exception:  # keep closing the rest
            log.exception("closing %s failed", component.name)
    services.db.close()
