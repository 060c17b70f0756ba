"""What a component is: everything one engine contributes to the hub, in one typed entry.

A component owns its migrations, lists its tools and resources, registers its CLI commands,
builds and closes its engine, optionally applies a reloaded config, and reports its health.
`homelab_hub.server.components.COMPONENTS` lists them once; services, migrations, the MCP and
REST bindings, the CLI and the docs all read that list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from homelab_hub.config import HubConfig
    from homelab_hub.health import ComponentHealth
    from homelab_hub.resources.registry import ResourceSpec
    from homelab_hub.services import Services
    from homelab_hub.store.migrations import Migration
    from homelab_hub.tools.registry import ToolSpec


def _nothing(services: Services) -> None:
    return None


@dataclass(frozen=True)
class Component:
    """One engine's entry. Every field but ``name`` is optional: a component may only add
    tools, or only a worker."""

    name: str
    migrations: Sequence[Migration] = ()
    tools: Sequence[ToolSpec] = ()
    resources: Sequence[ResourceSpec] = ()
    # Takes the CLI's subparsers (argparse's private _SubParsersAction; add_parser is all a
    # component uses).
    register_cli: Callable[[Any], None] | None = None
    build: Callable[[Services], None] = _nothing
    close: Callable[[Services], None] = _nothing
    reload: Callable[[Services, HubConfig], None] | None = None
    health: Callable[[Services], ComponentHealth] | None = None


__all__ = ["Component"]
