"""MCP resources of semantic memory: one memory by id, and the caller's recent memories."""

from __future__ import annotations

import json

from homelab_hub.memory.service import MemoryService
from homelab_hub.resources.registry import ResourceSpec, id_param
from homelab_hub.tools.memory import MemoryOut
from homelab_hub.tools.registry import ToolContext

RECENT = 20


def _service(ctx: ToolContext) -> MemoryService:
    return ctx.services.require(ctx.services.memory, "memory")


def read_memory(ctx: ToolContext, params: dict[str, str]) -> str:
    """Raises InvalidInput for a non-numeric id, NotFound for an unknown or foreign one."""
    memory_id = id_param("memory://{id}", params.get("id", ""))
    memory = _service(ctx).get(ctx.identity.agent, memory_id)
    return MemoryOut.of(memory).model_dump_json()


def read_recent(ctx: ToolContext, params: dict[str, str]) -> str:
    rows, _ = _service(ctx).page(ctx.identity.agent, limit=RECENT)
    return json.dumps([MemoryOut.of(m).model_dump() for m in rows], ensure_ascii=False)


RESOURCES = [
    ResourceSpec(
        name="memory_recent",
        description=f"Your {RECENT} most recently changed memories.",
        handler=read_recent,
        uri="memory://recent",
    ),
    ResourceSpec(
        name="memory",
        description="One of your memories by id, e.g. memory://42.",
        handler=read_memory,
        uri_template="memory://{id}",
    ),
]
