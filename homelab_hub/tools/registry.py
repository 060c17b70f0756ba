"""One definition per tool: a `ToolSpec` binds name, description, input and output models,
handler, whether it writes and the permission it needs. The MCP binding, the REST mirror, the
OpenAPI document and the README table are all generated from these specs. Each component
lists its tools (server/components/)."""

from __future__ import annotations

import base64
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import anyio.to_thread
from pydantic import BaseModel, ConfigDict, Field

from homelab_hub.errors import Forbidden

if TYPE_CHECKING:
    from homelab_hub.services import Services

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
    """Base of tool input models: unknown fields are rejected; strings are kept as sent
    (memory content and zone names are matched exactly)."""

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
AsyncHandler = Callable[[ToolContext, Any], Awaitable[BaseModel]]


def as_async(handler: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Decided once, at definition: ``async def`` handlers run on the event loop as they are,
    plain functions (which may block) in a worker thread."""
    if inspect.iscoroutinefunction(handler):
        return handler

    async def in_thread(*args: Any) -> Any:
        return await anyio.to_thread.run_sync(handler, *args)

    return in_thread


@dataclass(frozen=True)
class ToolSpec:
    """A tool, defined once.

    The handler takes ``(ctx, args)`` with ``args`` an instance of ``input_model`` and returns
    an ``output_model`` instance. Plain functions run in a worker thread (they may block);
    ``async def`` handlers run on the event loop and must not block. Raise `HubError`
    subclasses for anything the caller should read. ``read_only`` has no default: a tool that
    changes anything must say so, and MCP clients are told.
    """

    name: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    handler: Handler
    read_only: bool
    permission: Role = "agent"
    rest_aliases: tuple[str, ...] = field(default=())
    call: AsyncHandler = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "call", as_async(self.handler))

    def check_permission(self, identity: Identity) -> None:
        if self.permission == "admin":
            identity.require_admin(f"tool {self.name!r}")
