"""The hub's own component: API tokens and worker events (core tables), hub_status and
hub://status, and the storage probe that keeps storage health current."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homelab_hub.resources import hub as hub_resources
from homelab_hub.server.components.base import Component
from homelab_hub.store import core_schema
from homelab_hub.store.probe import StorageProbe
from homelab_hub.tools import hub as hub_tools

if TYPE_CHECKING:
    from homelab_hub.services import Services


def build(services: Services) -> None:
    supervisor = services.supervisor
    supervisor.add(StorageProbe.name, lambda: StorageProbe(services.db, on_recover=supervisor.retry_now))


COMPONENT = Component(
    name="hub",
    migrations=core_schema.MIGRATIONS,
    tools=hub_tools.TOOLS,
    resources=hub_resources.RESOURCES,
    build=build,
)
