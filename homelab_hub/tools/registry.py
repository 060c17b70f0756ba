"""One definition per tool: a `ToolSpec` binds name, description, input and output models,
handler and permission. The MCP binding, the REST mirror and the OpenAPI document are all
generated from these specs (server/mcp.py, server/rest.py)."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from homelab_hub.errors import Forbidden

if TYPE_CHECKING:
    from homelab_hub.server.services import Services

Role = Literal["agent", "admin"]
ALL_AGENTS = "*"


@dataclass(frozen=True)
class Identity:
    """Who is calling, from the bearer token (never from a request field)."""

    agent: str
    role: Role = "agent"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def scope(self, requested_agent: str | None = None) -> str | None:
        """The agent a call acts on: always the caller's own, unless an admin names another
        agent (or ``"*"`` for all, returned as None)."""
        if self.is_admin and requested_agent:
            return None if requested_agent == ALL_AGENTS else requested_agent
        return self.agent

    def require_admin(self, what: str) -> None:
        """Raises Forbidden unless the caller holds an admin token."""
        if not self.is_admin:
            raise Forbidden(f"{what} needs an admin token; agent {self.agent!r} has an agent token")


@dataclass
class ToolContext:
    services: Services
    identity: Identity
    transport: Literal["mcp", "rest", "cli"] = "rest"


class ToolInput(BaseModel):
    """Base of tool input models: unknown fields are rejected, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class ToolOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ToolImage(BaseModel):
    """An image in a tool answer: MCP sends it as image content, REST as base64 JSON."""

    mime_type: str = Field("image/jpeg", description="MIME type of the image.")
    data: str = Field(..., description="Base64-encoded image bytes.")

    @classmethod
    def from_bytes(cls, raw: bytes, mime_type: str = "image/jpeg") -> ToolImage:
        return cls(mime_type=mime_type, data=base64.b64encode(raw).decode("ascii"))


Handler = Callable[[ToolContext, Any], "BaseModel | Awaitable[BaseModel]"]


@dataclass(frozen=True)
class ToolSpec:
    """A tool, defined once.

    The handler takes ``(ctx, args)`` with ``args`` an instance of ``input_model`` and returns
    an ``output_model`` instance. Plain functions run in a worker thread (they may block);
    ``async def`` handlers run on the event loop and must not block. Raise `HubError`
    subclasses for anything the caller should read.
    """

    name: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    handler: Handler
    permission: Role = "agent"
    read_only: bool = True
    rest_aliases: tuple[str, ...] = field(default=())

    def check_permission(self, identity: Identity) -> None:
        if self.permission == "admin":
            identity.require_admin(f"tool {self.name!r}")


def all_tools() -> list[ToolSpec]:
    """Every tool of the hub, in a stable order. Each tools module exports TOOLS."""
    import importlib

    specs: list[ToolSpec] = []
    for module in TOOL_MODULES:
        specs.extend(importlib.import_module(module).TOOLS)
    names = [s.name for s in specs]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise RuntimeError(f"duplicate tool names: {sorted(dupes)}")
    return specs


TOOL_MODULES = (
    "homelab_hub.tools.hub",
    "homelab_hub.tools.memory",
    "homelab_hub.tools.cameras",
    "homelab_hub.tools.zones",
    "homelab_hub.tools.alerts",
    "homelab_hub.tools.watchdog",
    "homelab_hub.tools.services",
    "homelab_hub.tools.inference",
)
