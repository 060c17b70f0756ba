"""MCP resources of semantic memory: one memory by id, and the caller's recent memories."""

from __future__ import annotations

import json

from pydantic import Field

from homelab_hub.memory.service import MemoryService
from homelab_hub.resources.registry import ResourceSpec, id_param
from homelab_hub.tools.memory import MemoryOut, short_time
from homelab_hub.tools.registry import ToolContext, ToolOutput

RECENT = 20


def _service(ctx: ToolContext) -> MemoryService:
    return ctx.services.require(ctx.services.memory, "memory")


class MemoryVersionOut(ToolOutput):
    version: int = Field(..., description="1 is the oldest.")
    content: str = Field(..., description="The text this version held.")
    category: str = Field("", description="Its category.")
    tags: list[str] = Field(default_factory=list, description="Its tags.")
    since: str | None = Field(None, description="Current from, UTC.")
    until: str | None = Field(None, description="Replaced at, UTC.")


class MemoryWithHistory(MemoryOut):
    history: list[MemoryVersionOut] = Field(
        default_factory=list, description="Earlier contents memory_update replaced, oldest first."
    )


def read_memory(ctx: ToolContext, params: dict[str, str]) -> str:
    """One memory whole, with the versions it replaced. Raises InvalidInput for a
    non-numeric id, NotFound for an unknown or foreign one."""
    memory_id = id_param("memory://{id}", params.get("id", ""))
    memory, versions = _service(ctx).history(ctx.identity.agent, memory_id)
    out = MemoryWithHistory(
        **MemoryOut.of(memory, ctx.identity.agent).model_dump(),
        history=[
            MemoryVersionOut(
                version=v.version,
                content=v.content,
                category=v.category,
                tags=v.tags,
                since=short_time(v.valid_from),
                until=short_time(v.superseded_at),
            )
            for v in versions
        ],
    )
    return out.model_dump_json()


def read_recent(ctx: ToolContext, params: dict[str, str]) -> str:
    rows, _ = _service(ctx).page(ctx.identity.agent, limit=RECENT)
    return json.dumps([MemoryOut.of(m, ctx.identity.agent).model_dump() for m in rows], ensure_ascii=False)


RESOURCES = [
    ResourceSpec(
        name="memory_recent",
        description=f"Your {RECENT} most recently changed memories.",
        handler=read_recent,
        uri="memory://recent",
    ),
    ResourceSpec(
        name="memory",
        description="One of your memories by id, whole, with its earlier versions, e.g. memory://42.",
        handler=read_memory,
        uri_template="memory://{id}",
    ),
]
