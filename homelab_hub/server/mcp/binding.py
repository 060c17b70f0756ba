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
import time
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
from mcp_types import DEFAULT_NEGOTIATED_VERSION
from mcp_types.methods import serialize_server_result
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import Message, Receive, Scope, Send

from homelab_hub import __version__
from homelab_hub.errors import Forbidden, HubError, InvalidInput, NotFound
from homelab_hub.resources.registry import ResourceSpec, find_resource
from homelab_hub.server.auth import IDENTITY_KEY, identity_of
from homelab_hub.server.dispatch import check_value, invoke, read
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


# An MCP session nobody has used for this long is closed (the SDK's default, made explicit:
# DirectToolCalls keeps its own view of sessions in step with it).
SESSION_IDLE_S = 30 * 60.0

# The MCP specification's code for an unknown resource (resources section, "Error Handling").
RESOURCE_NOT_FOUND = -32002


def tool_schema(spec: ToolSpec) -> dict[str, Any]:
    """The input schema both surfaces publish (MCP tools/list and the REST tool listing).

    Pydantic's generated titles ("Query" for ``query``) are dropped: they repeat the field
    names and every agent session pays for them in context.
    """
    return _compact(spec.input_model.model_json_schema())


def _compact(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_compact(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    options = schema.get("anyOf")
    if (
        isinstance(options, list)
        and options
        and all(isinstance(o, dict) and set(o) == {"type"} for o in options)
    ):
        # anyOf [{type: string}, {type: null}] says the same as type: [string, null], shorter.
        schema = {k: v for k, v in schema.items() if k != "anyOf"}
        schema["type"] = [o["type"] for o in options]
    elif isinstance(options, list) and _nullable(options):
        # anyOf [{type: integer, minimum: 1}, {type: null}] is type: [integer, null] with the
        # same bounds: JSON Schema applies minimum, items, enum… to their own type only.
        value = next(o for o in options if o != {"type": "null"})
        schema = {
            **{k: v for k, v in schema.items() if k != "anyOf"},
            **value,
            "type": [value["type"], "null"],
        }
        if "enum" in value:
            schema["enum"] = [*value["enum"], None]
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "default" and value is None:
            continue
        if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            out[key] = {name: _compact(sub) for name, sub in value.items()}
        else:
            out[key] = _compact(value)
    return out


def _nullable(options: Any) -> bool:
    """An anyOf of one typed schema and null (what pydantic makes of ``X | None``)."""
    if not isinstance(options, list) or len(options) != 2 or {"type": "null"} not in options:
        return False
    value = next(o for o in options if o != {"type": "null"})
    return isinstance(value, dict) and isinstance(value.get("type"), str) and "$ref" not in value


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
        streamable = DirectToolCalls(StreamableHTTPASGIApp(self.session_manager), self)

        async def sse_endpoint(request: Request) -> Response:
            async with self.sse.connect_sse(request.scope, request.receive, request._send) as streams:
                await self.server.run(streams[0], streams[1], self.server.create_initialization_options())
            return Response()

        return [
            Route("/mcp", endpoint=streamable),
            Route("/mcp/", endpoint=streamable),
            Route("/sse", endpoint=sse_endpoint, methods=["GET"]),
            Mount("/messages/", app=CheckedMessages(self.sse.handle_post_message)),
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


class DirectToolCalls:
    """Answers ``tools/call`` on an open Streamable HTTP session without the SDK's session
    machinery; every other message goes to the SDK unchanged.

    Measured (benchmarks/hub_overhead.py): on a quick tool the SDK path (session task, memory
    streams, JSON-RPC models validated on the way in and out) cost about four times the CPU of
    a bare route. Here the call goes through the same `_call_tool` as the SDK's handler, so the
    answer is the same result, serialised the same way; what is skipped has no use to a
    JSON-response session (no progress or server-to-client messages mid-call).

    Sessions are learned from the SDK's own answers: the ``mcp-session-id`` of an initialize
    answer, with the agent that opened it, forgotten on DELETE or when the SDK answers 404 for
    it. A call on a session this process did not see open, or by another agent, goes to the
    SDK, which refuses it as it always has. The SDK closes sessions it has not seen for
    `SESSION_IDLE_S`; so that a session used only through here stays open there, a call goes
    to the SDK whenever the SDK has not seen that session for half that time.
    """

    def __init__(self, app: Any, binding: MCPBinding) -> None:
        self.app = app
        self.binding = binding
        # session id -> (the agent that opened it, when the SDK last served a request on it)
        self.sessions: dict[str, tuple[object, float]] = {}

    def _direct_allowed(self, sid: str, principal: object) -> bool:
        known = self.sessions.get(sid)
        return (
            known is not None and known[0] == principal and time.monotonic() - known[1] < SESSION_IDLE_S / 2
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k: v for k, v in scope["headers"]}
        sid = headers.get(b"mcp-session-id", b"").decode("latin-1")
        principal = _principal(scope)
        if scope["method"] == "POST" and sid and self._direct_allowed(sid, principal):
            body = await _read_body(receive)
            answer = await self._direct(scope, headers, body)
            if answer is not None:
                await _send_json(send, answer, sid)
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, self._watch(send, scope["method"], sid, principal))

    async def _direct(self, scope: Scope, headers: dict[bytes, bytes], body: bytes) -> bytes | None:
        version = headers.get(b"mcp-protocol-version", b"").decode("latin-1")
        if version and version not in HANDSHAKE_PROTOCOL_VERSIONS:
            return None
        if b"application/json" not in headers.get(b"accept", b""):
            return None
        if not headers.get(b"content-type", b"").startswith(b"application/json"):
            return None
        try:
            message = json.loads(body)
        except (ValueError, RecursionError):
            return None
        if not (
            isinstance(message, dict)
            and message.get("jsonrpc") == "2.0"
            and message.get("method") == "tools/call"
            and isinstance(message.get("id"), str | int)
            and not isinstance(message.get("id"), bool)
            and isinstance(message.get("params"), dict)
        ):
            return None
        try:
            params = mt.CallToolRequestParams.model_validate(message["params"], by_name=False)
        except ValueError:
            return None  # the SDK answers malformed params with its own JSON-RPC error
        result = await self.binding.call_tool(scope, params)
        dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        # The SDK shapes every result to the negotiated protocol version's schema (dropping
        # fields that version lacks); so does this path, with the SDK types' own function.
        shaped = serialize_server_result("tools/call", version or DEFAULT_NEGOTIATED_VERSION, dumped)
        response = {"jsonrpc": "2.0", "id": message["id"], "result": shaped}
        return json.dumps(response, ensure_ascii=False, separators=(",", ":")).encode()

    def _watch(self, send: Send, method: str, sid: str, principal: object) -> Send:
        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._saw(method, sid, principal, message)
            await send(message)

        return watched

    def _saw(self, method: str, sid: str, principal: object, start: Message) -> None:
        status = start["status"]
        now = time.monotonic()
        if method == "POST" and not sid and status == 200:
            for key, value in start.get("headers", []):
                if key.lower() == b"mcp-session-id":
                    self._forget_idle(now)
                    self.sessions[value.decode("latin-1")] = (principal, now)
        elif sid in self.sessions and self.sessions[sid][0] == principal:
            # Only the owner's requests say anything about the session: the SDK answers
            # another agent 404 as if the session did not exist, but it does.
            if method == "DELETE" and status < 300 or status == 404:
                del self.sessions[sid]
            elif status < 400:
                self.sessions[sid] = (self.sessions[sid][0], now)

    def _forget_idle(self, now: float) -> None:
        # Sessions the SDK has surely closed by now (their clients never came back).
        for sid in [s for s, (_, seen) in self.sessions.items() if now - seen > SESSION_IDLE_S]:
            del self.sessions[sid]


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
        body = await _read_body(receive)
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
        await self.app(scope, _replay(body, receive), send)


def _parse(body: bytes) -> Any:
    """Raises InvalidInput for a body that is not JSON (or nests past the parser's depth)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidInput("the message is not valid JSON") from None


def _principal(scope: Scope) -> object:
    identity = scope.get("state", {}).get(IDENTITY_KEY)
    return (identity.agent, identity.role) if identity is not None else None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _send_json(send: Send, body: bytes, sid: str) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"mcp-session-id", sid.encode("latin-1")),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


__all__ = ["DirectToolCalls", "MCPBinding", "resource_error", "split_images", "tool_error", "tool_schema"]
