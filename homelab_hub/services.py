"""The typed services object: built once in the app's lifespan, handed to every tool.

A leaf: every layer may import it (tools, components, pages), and it imports no engine, tool
or component at run time. Each engine is wired in by its component (server/components/,
built, reloaded and closed by `homelab_hub.server.lifecycle`): ``build`` creates the engine
and registers its workers, ``health`` reports on it, ``close`` releases it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

from homelab_hub.errors import Unavailable
from homelab_hub.health import ComponentHealth, HubHealth
from homelab_hub.redact import redact_text

if TYPE_CHECKING:
    from homelab_hub.cameras.service import CameraService
    from homelab_hub.config import HubConfig
    from homelab_hub.inference.engine import InferenceEngine
    from homelab_hub.memory.service import MemoryService
    from homelab_hub.notify.bus import NotificationBus
    from homelab_hub.remote.link import BrokerLink
    from homelab_hub.store import Database
    from homelab_hub.supervisor import Supervisor
    from homelab_hub.watchdog.engine import Watchdog

E = TypeVar("E")


class ComponentEntry(Protocol):
    """What Services and its life cycle use of a component (server/components/base.py's
    `Component`). A protocol, so this leaf imports neither the component list nor the tools."""

    @property
    def name(self) -> str: ...

    @property
    def health(self) -> Callable[[Services], ComponentHealth] | None: ...

    @property
    def reload(self) -> Callable[[Services, HubConfig], None] | None: ...

    @property
    def close(self) -> Callable[[Services], None]: ...


@dataclass
class Services:
    config: HubConfig
    db: Database
    supervisor: Supervisor
    components: Sequence[ComponentEntry] = ()
    started_at: float = field(default_factory=time.time)
    # False for a CLI command's services: no workers run, and nothing takes the hub's place on
    # the broker (its client id belongs to the serving hub).
    serving: bool = True
    # Engines, set by their component's build (None when not running).
    link: BrokerLink | None = None  # the lab's broker ([broker]), shared by the engines that use it
    notifier: NotificationBus | None = None
    memory: MemoryService | None = None
    inference: InferenceEngine | None = None
    cameras: CameraService | None = None
    watchdog: Watchdog | None = None
    # Why a component's engine is absent, in words for the caller (set by its build).
    off: dict[str, str] = field(default_factory=dict)
    _health_cache: tuple[float, HubHealth] | None = field(default=None, repr=False)

    def require(self, engine: E | None, component: str) -> E:
        """The engine, or Unavailable saying which component is not running and why."""
        if engine is None:
            why = self.off.get(component, "it is not configured")
            raise Unavailable(f"{component} is not available on this hub: {why}")
        return engine

    def cached_health(self, max_age_s: float = 1.0) -> HubHealth | None:
        """The last health report if it is fresher than max_age_s, else None (no I/O)."""
        cached = self._health_cache
        if cached is not None and time.monotonic() - cached[0] <= max_age_s:
            return cached[1]
        return None

    def health(self) -> HubHealth:
        """Every component's health, storage and workers included, from the state engines and
        workers keep: nothing here waits on the database (storage is the outcome of its last
        read and write, kept current by the storage probe worker). Details pass through
        redaction: an engine that quotes a URL in its detail must not leak its password."""
        out: dict[str, ComponentHealth] = {}
        problem = self.db.status.problem()
        out["storage"] = ComponentHealth(
            state="down" if problem else "ok",
            detail=problem or self.db.dialect,
            data=self.db.status.ages(),
        )
        for component in self.components:
            if component.health is None:
                continue
            try:
                out[component.name] = component.health(self)
            except Exception as exc:  # one broken check must not hide the others
                out[component.name] = ComponentHealth(state="degraded", detail=f"health check failed: {exc}")
        workers: dict[str, ComponentHealth] = {}
        for name, state in self.supervisor.states().items():
            workers[name] = ComponentHealth(
                state="ok"
                if state.state == "running"
                else ("starting" if state.state == "starting" else "down"),
                # A running worker's old crash stays in data (last_error) until it is stable.
                detail=state.state if state.state == "running" else (state.reason or state.state),
                data=state.public(),
            )
        health = HubHealth(
            components={name: _redacted(h) for name, h in out.items()},
            workers={name: _redacted(h) for name, h in workers.items()},
        )
        self._health_cache = (time.monotonic(), health)
        return health


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
