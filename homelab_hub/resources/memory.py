"""MCP resources of this area (filled by its engine's work)."""

from homelab_hub.resources.registry import ResourceSpec

RESOURCES: list[ResourceSpec] = []
