"""Read-only MCP resources, one definition each, like tools.

A `ResourceSpec` has either a fixed ``uri`` (``hub://status``) or a ``uri_template`` with
``{name}`` parameters (``memory://{id}``). The handler gets the caller's context and the
template parameters and returns text (JSON is fine) or bytes.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from homelab_hub.tools.registry import ToolContext

ResourceHandler = Callable[[ToolContext, dict[str, str]], "str | bytes | Awaitable[str | bytes]"]


@dataclass(frozen=True)
class ResourceSpec:
    name: str
    description: str
    handler: ResourceHandler
    uri: str | None = None
    uri_template: str | None = None
    mime_type: str = "application/json"

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


RESOURCE_MODULES = (
    "homelab_hub.resources.hub",
    "homelab_hub.resources.memory",
    "homelab_hub.resources.watchdog",
)


def all_resources() -> list[ResourceSpec]:
    specs: list[ResourceSpec] = []
    for module in RESOURCE_MODULES:
        specs.extend(importlib.import_module(module).RESOURCES)
    return specs


def find_resource(specs: list[ResourceSpec], uri: str) -> tuple[ResourceSpec, dict[str, str]] | None:
    for spec in specs:
        params = spec.match(uri)
        if params is not None:
            return spec, params
    return None


__all__ = ["ResourceSpec", "all_resources", "find_resource"]
