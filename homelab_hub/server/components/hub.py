"""The hub's own component: API tokens and worker events (core tables), hub_status and
hub://status. No engine to build."""

from __future__ import annotations

from homelab_hub.resources import hub as hub_resources
from homelab_hub.server.components.base import Component
from homelab_hub.store import core_schema
from homelab_hub.tools import hub as hub_tools

COMPONENT = Component(
    name="hub",
    migrations=core_schema.MIGRATIONS,
    tools=hub_tools.TOOLS,
    resources=hub_resources.RESOURCES,
)
