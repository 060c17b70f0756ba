"""Read-only MCP resources, one definition each, like tools.

A `ResourceSpec` has either a fixed ``uri`` (``hub://status``) or a ``uri_template`` with
``{name}`` parameters (``memory://{id}``). The handler gets the caller's context and the
template parameters and returns text (JSON is fine) or bytes. Each component lists its
resources (server/components/); they are read through the same dispatch as tools.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from homelab_hub.errors import InvalidInput
from homelab_hub.tools.registry import Role, ToolContext, as_async

ResourceHandler = Callable[[ToolContext, dict[str, str]], "str | bytes | Awaitable[str | bytes]"]
AsyncResourceHandler = Callable[[ToolContext, dict[str, str]], Awaitable["str | bytes"]]
# Ids in URIs are database ids: a number beyond a signed 64-bit integer is no id at all.
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class ResourceSpec:
    name: str
    description: str
    handler: ResourceHandler
    uri: str | None = None
    uri_template: str | None = None
    mime_type: str = "application/json"
    permission: Role = "agent"
    call: AsyncResourceHandler = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "call", as_async(self.handler))

    def match(self, uri: str) -> dict[str, str] | None:
        if self.uri is not None:
            return {} if uri == self.uri else None
        assert self.uri_template is not None
        m = _template_regex(self.uri_template).fullmatch(uri)
        return m.groupdict() if m else None


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\w+\})", template)
    pattern = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(pattern)


def id_param(uri: str, raw: str) -> int:
    """A URI's numeric id. Raises InvalidInput for anything but a positive 64-bit integer."""
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19 and 0 < int(raw) <= MAX_ID):
        raise InvalidInput(f"{uri}: the id must be a positive integer below 2^63, got {raw[:40]!r}")
    return int(raw)


def find_resource(specs: list[ResourceSpec], uri: str) -> tuple[ResourceSpec, dict[str, str]] | None:
    for spec in specs:
        params = spec.match(uri)
        if params is not None:
            return spec, params
    return None


__all__ = ["ResourceSpec", "find_resource", "id_param"]
