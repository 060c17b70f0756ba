"""The fast path for ``tools/call`` on an open Streamable HTTP session (see `DirectToolCalls`).

It relies on four things of the MCP SDK, each checked by tests/server/test_mcp_fast_path.py so
an SDK upgrade that changes one fails loudly there instead of answering differently here: the
``mcp-session-id`` header on an initialize answer, the handshake versions
(``mcp_types.version.HANDSHAKE_PROTOCOL_VERSIONS``), ``serialize_server_result`` shaping a
result per protocol version, and the session manager's idle timeout (`SESSION_IDLE_S`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import mcp.types as mt
from mcp_types import DEFAULT_NEGOTIATED_VERSION
from mcp_types.methods import serialize_server_result
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.types import Message, Receive, Scope, Send

from homelab_hub.server.auth import IDENTITY_KEY

# An MCP session nobody has used for this long is closed (the SDK's default, made explicit:
# DirectToolCalls keeps its own view of sessions in step with it).
SESSION_IDLE_S = 30 * 60.0
CallTool = Callable[[Any, mt.CallToolRequestParams], Awaitable[mt.CallToolResult]]


class DirectToolCalls:
    """Answers ``tools/call`` on an open Streamable HTTP session without the SDK's session
    machinery; every other message goes to the SDK unchanged.

    Measured (benchmarks/hub_overhead.py): on a quick tool the SDK path (session task, memory
    streams, JSON-RPC models validated on the way in and out) cost about four times the CPU of
    a bare route. Here the call goes through the same `call_tool` as the SDK's handler, so the
    answer is the same result, serialised the same way; what is skipped has no use to a
    JSON-response session (no progress or server-to-client messages mid-call).

    Sessions are learned from the SDK's own answers: the ``mcp-session-id`` of an initialize
    answer, with the agent that opened it, forgotten on DELETE or when the SDK answers 404 for
    it. A call on a session this process did not see open, or by another agent, goes to the
    SDK, which refuses it as it always has. The SDK closes sessions it has not seen for
    `SESSION_IDLE_S`; so that a session used only through here stays open there, a call goes
    to the SDK whenever the SDK has not seen that session for half that time.
    """

    def __init__(self, app: Any, call_tool: CallTool) -> None:
        self.app = app
        self.call_tool = call_tool  # the binding's: the same handler as the SDK's
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
            body = await read_body(receive)
            answer = await self._direct(scope, headers, body)
            if answer is not None:
                await _send_json(send, answer, sid)
                return
            receive = replay(body, receive)
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
        result = await self.call_tool(scope, params)
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


def _principal(scope: Scope) -> object:
    identity = scope.get("state", {}).get(IDENTITY_KEY)
    return (identity.agent, identity.role) if identity is not None else None


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
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
