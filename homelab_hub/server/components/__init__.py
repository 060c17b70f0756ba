"""Every component of the hub, listed once (see base.py for what a component is).

The order is the build order (the notification bus before the engines that notify) and the
migration order; closing runs in reverse. Adding an engine is one module here and one line
in `COMPONENTS`.
"""

from __future__ import annotations

from collections.abc import Sequence

from homelab_hub.resources.registry import ResourceSpec
from homelab_hub.server.components import broker, cameras, hub, inference, memory, notify, watchdog
from homelab_hub.server.components.base import Component
from homelab_hub.store.migrations import Migration
from homelab_hub.tools.registry import ToolSpec

COMPONENTS: tuple[Component, ...] = (
    hub.COMPONENT,
    broker.COMPONENT,
    notify.COMPONENT,
    memory.COMPONENT,
    inference.COMPONENT,
    cameras.COMPONENT,
    watchdog.COMPONENT,
)


def all_tools(components: Sequence[Component] = COMPONENTS) -> list[ToolSpec]:
    """Every tool, in component order. Raises RuntimeError on a duplicate name."""
    specs = [tool for c in components for tool in c.tools]
    names = [s.name for s in specs]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise RuntimeError(f"duplicate tool names: {sorted(dupes)}")
    return specs


def all_resources(components: Sequence[Component] = COMPONENTS) -> list[ResourceSpec]:
    return [r for c in components for r in c.resources]


def all_migrations(components: Sequence[Component] = COMPONENTS) -> list[Migration]:
    """Every migration, in component order (the order `migrate` applies them)."""
    return [m for c in components for m in c.migrations]


__all__ = ["COMPONENTS", "Component", "all_migrations", "all_resources", "all_tools"]
