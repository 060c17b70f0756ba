"""The MCP binding: every ToolSpec and ResourceSpec served over Streamable HTTP (/mcp)
and SSE (/sse + /messages/), both from one low-level MCP server.

The caller's identity is put on the ASGI scope by the guard for every HTTP request,
including each SSE message POST, and read back here per message. The guard also sets
``scope["user"]``, which the SDK's transports use to bind each session to the agent that
opened it: another agent's requests on that session are answered as for a missing session.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import mcp.types as mt
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.sse import SseServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from homelab_hub import __version__
from homelab_hub.errors import Forbidden, HubError, InvalidInput, NotFound
from homelab_hub.resources.registry import ResourceSpec, find_resource
from homelab_hub.server.access import Access, declare
from homelab_hub.server.auth import identity_of
from homelab_hub.server.dispatch import check_value, invoke, read
from homelab_hub.server.mcp.fast_path import SESSION_IDLE_S, DirectToolCalls, read_body, replay
from homelab_hub.server.schema import tool_schema
from homelab_hub.services import Services
from homelab_hub.tools.registry import ToolContext, ToolImage, ToolSpec

log = logging.getLogger(__name__)

INSTRUCTIONS = (
    "homelab-hub operates this home lab. Search memory (memory_search) before reading files or "
    "exploring code; save what you learn as self-contained facts (memory_save)."
)
# Host/Origin checks are done once, for every route, by the hub's own middleware.
_NO_SDK_SECURITY = TransportSecuritySettings(enable_dns_rebinding_protection=False)
Ctx = ServerRequestContext[Any, Any]


class _NoSessionIds(logging.Filter):
    """The SDK logs session ids (at INFO when a session opens); a session id is a bearer
    credential for that session, so it never reaches the log."""

    _ID = re.compile(r"\b[0-9a-f]{32}\b|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._ID.sub("<session>", message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


for _name in ("mcp.server.streamable_http_manager", "mcp.server.streamable_http", "mcp.server.sse"):
    logging.getLogger(_name).addFilter(_NoSessionIds())


def tool_error(exc: HubError) -> mt.CallToolResult:
    """A refused tool call as MCP sees it: an error result the model can read, with the code."""
    message = exc.to_dict()["message"]
    return mt.CallToolResult(
        content=[mt.TextContent(type="text", text=f"{exc.code}: {message}")], is_error=True
    )


def resource_error(exc: HubError) -> MCPError:
    """A refused resource read: JSON-RPC error codes by kind, the hub's code in the message."""
    if isinstance(exc, NotFound):
        code = RESOURCE_NOT_FOUND
    elif isinstance(exc, InvalidInput | Forbidden):
        code = mt.INVALID_PARAMS
    else:
        code = mt.INTERNAL_ERROR
    return MCPError(code=code, message=f"{exc.code}: {exc.to_dict()['message']}")


# The MCP specification's code for an unknown resource (resources section, "Error Handling").
RESOURCE_NOT_FOUND = -32002


def split_images(result: BaseModel) -> tuple[dict[str, Any], list[mt.ImageContent]]:
    """Answer data without image bytes, plus the images as MCP image content."""
    data = result.model_dump(mode="json")
    images: list[mt.ImageContent] = []
    for name in type(result).model_fields:
        value = getattr(result, name)
        if isinstance(value, ToolImage):
            images.append(mt.ImageContent(type="image", data=value.data, mime_type=value.mime_type))
            data[name] = {"mime_type": value.mime_type, "data": "(sent as image content)"}
    return data, images


class MCPBinding:
    """Owns the low-level server, the Streamable HTTP session manager and the SSE transport."""

    def __init__(
        self,
        tools: list[ToolSpec],
        resources: list[ResourceSpec],
        get_services: Callable[[], Services],
        *,
        max_body_bytes: int,
    ) -> None:
        self.tools = {t.name: t for t in tools}
        # The listing never changes while the process runs: built once, not per request.
        self._tools_result = mt.ListToolsResult(
            tools=[
                mt.Tool(
                    name=spec.name,
                    description=spec.description,
                    input_schema=tool_schema(spec),
                    # Only read-only tools carry the hint: MCP's default is "may write".
                    annotations=mt.ToolAnnotations(read_only_hint=True) if spec.read_only else None,
                )
                for spec in tools
            ]
        )
        self.resources = resources
        self.get_services = get_services
        self.server: Server[Any] = Server(
            "homelab-hub",
            version=__version__,
            instructions=INSTRUCTIONS,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_list_resource_templates=self._list_templates,
            on_read_resource=self._read_resource,
        )
        # json_response: a request POST is answered with one JSON body instead of an SSE
        # stream carrying one event (the hub sends no progress notifications or server-to-
        # client requests mid-call, which only a stream could carry). Clients must accept
        # both; the SSE framing cost more than the tool itself for quick calls.
        self.session_manager = StreamableHTTPSessionManager(
            app=self.server,
            security_settings=_NO_SDK_SECURITY,
            max_request_body_size=max_body_bytes,
            json_response=True,
            session_idle_timeout=SESSION_IDLE_S,
        )
        self.sse = SseServerTransport(
            "/messages/", security_settings=_NO_SDK_SECURITY, max_request_body_size=max_body_bytes
        )

    # -- ASGI surface -------------------------------------------------------------------
    def routes(self) -> list[Route | Mount]:
        streamable = DirectToolCalls(StreamableHTTPASGIApp(self.session_manager), self.call_tool)

        async def sse_endpoint(request: Request) -> Response:
            async with self.sse.connect_sse(request.scope, request.receive, request._send) as streams:
                await self.server.run(streams[0], streams[1], self.server.create_initialization_options())
            return Response()

        # Agents' endpoints: bearer tokens only, never a browser's cookie; the GET streams
        # (Streamable HTTP's and SSE's) are live streams, counted and ended with their token.
        stream = Access("agent", via="bearer", stream=True)
        return [
            declare(stream, Route("/mcp", endpoint=streamable)),
            declare(stream, Route("/mcp/", endpoint=streamable)),
            declare(stream, Route("/sse", endpoint=sse_endpoint, methods=["GET"])),
            declare(
                Access("agent", via="bearer"),
                Mount("/messages/", app=CheckedMessages(self.sse.handle_post_message)),
            ),
        ]

    def lifespan(self) -> AbstractAsyncContextManager[None]:
        return self.session_manager.run()

    # -- handlers ---------------------------------------------------------------------
    def _ctx(self, ctx: Ctx) -> ToolContext:
        return ToolContext(services=self.get_services(), identity=identity_of(ctx.request), transport="mcp")

    async def _list_tools(self, ctx: Ctx, params: mt.PaginatedRequestParams | None) -> mt.ListToolsResult:
        return self._tools_result

    async def _call_tool(self, ctx: Ctx, params: mt.CallToolRequestParams) -> mt.CallToolResult:
        return await self.call_tool(ctx.request, params)

    async def call_tool(self, request: Any, params: mt.CallToolRequestParams) -> mt.CallToolResult:
        """One tools/call, from the SDK's handler or the direct path: the same answer."""
        try:
            spec = self.tools.get(params.name)
            if spec is None:
                raise NotFound(f"unknown tool {params.name!r}; available: {', '.join(sorted(self.tools))}")
            tool_ctx = ToolContext(
                services=self.get_services(), identity=identity_of(request), transport="mcp"
            )
            result = await invoke(spec, tool_ctx, params.arguments or {})
        except HubError as exc:
            return tool_error(exc)
        data, images = split_images(result)
        content: list[Any] = [mt.TextContent(type="text", text=json.dumps(data, ensure_ascii=False))]
        content.extend(images)
        return mt.CallToolResult(content=content, structured_content=data)

    async def _list_resources(
        self, ctx: Ctx, params: mt.PaginatedRequestParams | None
    ) -> mt.ListResourcesResult:
        return mt.ListResourcesResult(
            resources=[
                mt.Resource(name=r.name, uri=r.uri, description=r.description, mime_type=r.mime_type)
                for r in self.resources
                if r.uri is not None
            ]
        )

    async def _list_templates(
        self, ctx: Ctx, params: mt.PaginatedRequestParams | None
    ) -> mt.ListResourceTemplatesResult:
        return mt.ListResourceTemplatesResult(
            resource_templates=[
                mt.ResourceTemplate(
                    name=r.name, uri_template=r.uri_template, description=r.description, mime_type=r.mime_type
                )
                for r in self.resources
                if r.uri_template is not None
            ]
        )

    async def _read_resource(self, ctx: Ctx, params: mt.ReadResourceRequestParams) -> mt.ReadResourceResult:
        uri = str(params.uri)
        try:
            found = find_resource(self.resources, uri)
            if found is None:
                raise NotFound(f"no resource {uri[:200]!r}")
            spec, args = found
            body = await read(spec, self._ctx(ctx), uri, args)
        except HubError as exc:
            raise resource_error(exc) from exc
        if isinstance(body, bytes):
            blob = base64.b64encode(body).decode("ascii")
            return mt.ReadResourceResult(
                contents=[mt.BlobResourceContents(uri=uri, blob=blob, mime_type=spec.mime_type)]
            )
        return mt.ReadResourceResult(
            contents=[mt.TextResourceContents(uri=uri, text=str(body), mime_type=spec.mime_type)]
        )


class CheckedMessages:
    """The SSE transport's message endpoint, behind a parse the hub does first: a body that is
    not JSON, or carries what no tool takes (see dispatch.check_value), is answered with the
    hub's 400 envelope instead of reaching the SDK, which logs a traceback for it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        try:
            check_value(_parse(body), "message")
        except InvalidInput as exc:
            payload = exc.envelope()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ]
            await send({"type": "http.response.start", "status": 400, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
            return
        await self.app(scope, replay(body, receive), send)


def _parse(body: bytes) -> Any:
    """Raises InvalidInput for a body that is not JSON (or nests past the parser's depth)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidInput("the message is not valid JSON") from None


__all__ = ["MCPBinding", "resource_error", "split_images", "tool_error"]
