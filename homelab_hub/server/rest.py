"""The REST mirror: ``POST /api/tools/{name}`` for every tool, the seed's aliases, the
OpenAPI document, health and one JSON error envelope for everything that goes wrong."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from homelab_hub import __version__
from homelab_hub.errors import HubError, InvalidInput, NotFound
from homelab_hub.server.access import AGENT, PUBLIC, declare
from homelab_hub.server.auth import identity_of
from homelab_hub.server.dispatch import invoke
from homelab_hub.server.schema import tool_schema
from homelab_hub.services import Services
from homelab_hub.tools.registry import ToolContext, ToolSpec

log = logging.getLogger(__name__)

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["ok", "error"],
    "properties": {
        "ok": {"const": False},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
            },
        },
    },
}


def error_response(exc: HubError, headers: dict[str, str] | None = None) -> Response:
    return Response(exc.envelope(), status_code=exc.status, headers=headers, media_type="application/json")


async def read_json(request: Request) -> Any:
    """The request body as JSON ({} when empty). Raises InvalidInput."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"request body is not valid JSON: {exc}") from exc
    except RecursionError:
        raise InvalidInput("request body is nested too deeply to be a tool's arguments") from None


class RestMirror:
    def __init__(self, tools: list[ToolSpec], get_services: Callable[[], Services]) -> None:
        self.tools = {t.name: t for t in tools}
        self.get_services = get_services

    def routes(self) -> list[Route]:
        routes = [
            declare(AGENT, Route("/api/tools", self.list_tools, methods=["GET"])),
            declare(AGENT, Route("/api/tools/{name}", self.call_tool, methods=["POST"])),
            declare(PUBLIC, Route("/api/openapi.json", self.openapi, methods=["GET"])),
        ]
        for spec in self.tools.values():
            for alias in spec.rest_aliases:
                routes.append(declare(AGENT, Route(alias, self._alias(spec), methods=["POST"])))
        return routes

    async def _run(self, spec: ToolSpec, request: Request) -> Response:
        args = await read_json(request)
        ctx = ToolContext(services=self.get_services(), identity=identity_of(request), transport="rest")
        result = await invoke(spec, ctx, args)
        return Response(result.model_dump_json(), media_type="application/json")

    async def call_tool(self, request: Request) -> Response:
        name = request.path_params["name"]
        spec = self.tools.get(name)
        if spec is None:
            raise NotFound(f"unknown tool {name!r}; available: {', '.join(sorted(self.tools))}")
        return await self._run(spec, request)

    def _alias(self, spec: ToolSpec) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await self._run(spec, request)

        return endpoint

    async def list_tools(self, request: Request) -> Response:
        identity_of(request)
        return JSONResponse(
            [
                {"name": s.name, "description": s.description, "input_schema": tool_schema(s)}
                for s in self.tools.values()
            ]
        )

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(build_openapi(list(self.tools.values())))


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(schema.pop("$defs", {}))
    return schema


def build_openapi(tools: list[ToolSpec]) -> dict[str, Any]:
    """OpenAPI 3.1 for the REST mirror, generated from the same ToolSpecs as MCP."""
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    errors = {
        str(code): {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code, text in [
            (400, "Invalid input"),
            (401, "Missing or wrong token"),
            (403, "Not allowed for this token"),
            (404, "Not found"),
            (413, "Body too large"),
            (503, "Unavailable"),
        ]
    }
    for spec in tools:
        in_name, out_name = f"{spec.name}_input", f"{spec.name}_output"
        components[in_name] = _schema(spec.input_model, components)
        components[out_name] = _schema(spec.output_model, components)
        operation = {
            "operationId": spec.name,
            "summary": spec.description.split(". ")[0][:120],
            "description": spec.description,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{in_name}"}}},
            },
            "responses": {
                "200": {
                    "description": "Result",
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{out_name}"}}},
                },
                **errors,
            },
            "security": [{"bearer": []}],
        }
        paths[f"/api/tools/{spec.name}"] = {"post": operation}
        for alias in spec.rest_aliases:
            paths[alias] = {
                "post": {
                    **operation,
                    "operationId": f"{spec.name}_alias_{alias.strip('/').replace('/', '_')}",
                }
            }
    paths["/api/health"] = {
        "get": {
            "operationId": "health",
            "summary": "Component states; 200 when serving, 503 when degraded.",
            "security": [],
            "responses": {
                "200": {
                    "description": "Healthy",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "503": {
                    "description": "Degraded",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "homelab-hub", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
