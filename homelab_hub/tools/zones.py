"""Agent-facing tools of this area (filled by its engine's work)."""

from homelab_hub.tools.registry import ToolSpec

TOOLS: list[ToolSpec] = []
