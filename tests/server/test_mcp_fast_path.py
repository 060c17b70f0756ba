"""What the MCP fast path (server/mcp/fast_path.py) relies on in the SDK, checked one by one so
that an SDK upgrade that changes any of it fails here, by name, instead of answering differently."""

from __future__ import annotations

import inspect

import httpx
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp_types import DEFAULT_NEGOTIATED_VERSION
from mcp_types.methods import serialize_server_result
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from homelab_hub.server.access import AccessCheck
from homelab_hub.server.mcp.fast_path import SESSION_IDLE_S, DirectToolCalls
from tests.hubclient import raw_session

CALL = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "hub_status", "arguments": {}}}


def test_the_sdk_still_names_the_session_header_the_fast_path_reads() -> None:
    assert MCP_SESSION_ID_HEADER == "mcp-session-id"


def test_the_sdk_default_version_is_one_of_its_handshake_versions() -> None:
    assert DEFAULT_NEGOTIATED_VERSION in HANDSHAKE_PROTOCOL_VERSIONS


def test_the_sdk_shapes_a_tool_result_for_every_handshake_version() -> None:
    result = {"content": [{"type": "text", "text": "ok"}], "isError": False}
    shaped = {v: serialize_server_result("tools/call", v, result) for v in HANDSHAKE_PROTOCOL_VERSIONS}
    assert {v: s["content"] for v, s in shaped.items()} == {
        v: result["content"] for v in HANDSHAKE_PROTOCOL_VERSIONS
    }


def test_the_sdk_closes_idle_sessions_after_the_time_the_fast_path_keeps_in_step_with() -> None:
    parameter = inspect.signature(StreamableHTTPSessionManager.__init__).parameters["session_idle_timeout"]
    assert parameter.default == SESSION_IDLE_S


def test_a_call_on_an_open_session_is_answered_by_the_fast_path_not_the_sdk(hub) -> None:
    session = raw_session(hub.url, {})
    route = next(r for r in hub.app.routes if getattr(r, "path", "") == "/mcp")
    access = route.app  # the route's declared access check wraps the fast path
    assert isinstance(access, AccessCheck)
    fast_path = access.app
    assert isinstance(fast_path, DirectToolCalls)
    assert session["mcp-session-id"] in fast_path.sessions  # learned from the SDK's initialize answer
    sdk, seen = fast_path.app, []

    async def counting(scope, receive, send):
        seen.append(scope["method"])
        await sdk(scope, receive, send)

    fast_path.app = counting
    try:
        answer = httpx.post(hub.url + "/mcp", json=CALL, headers=session, timeout=30).json()
    finally:
        fast_path.app = sdk
    assert answer["id"] == 7
    assert answer["result"]["isError"] is False
    assert seen == []
