"""The security probe's findings, each reproduced against a real uvicorn hub and refused:
the last token's revocation, credentials judged in every mode, MCP sessions bound to their
agent, session ids kept out of the log, health without a token, and the Host, Origin and
Authorization headers parsed strictly."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading

import httpx
import pytest

from homelab_hub.server.token_store import TokenStore
from homelab_hub.store import Database
from tests.hubclient import MCP_HEADERS, MCP_INIT, raw_session
from tests.support import wait_until

INIT = MCP_INIT
CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "hub_status", "arguments": {}}}


def open_session(hub, token: str) -> dict[str, str]:
    """Initialize a Streamable HTTP session with plain HTTP; the headers its calls carry."""
    return raw_session(hub.url, {"Authorization": f"Bearer {token}"})


# -- 1. revoking the last token -----------------------------------------------------------
def test_revoking_the_last_token_from_the_cli_leaves_the_hub_requiring_tokens(hub):
    token = hub.create_token("only")
    assert hub.rest("hub_status", token=token).status_code == 200
    # Revoke it the way `homelab-hub token revoke` does: another process, the same database,
    # seen by the hub at its next token refresh.
    other = Database.from_url(hub.config.storage.url)
    TokenStore(other).revoke("only")
    other.close()
    wait_until(lambda: hub.app.state.hub.tokens.verify(token) is None, timeout=10, what="the token refresh")
    assert hub.rest("hub_status", token=token).status_code == 401
    assert hub.rest("hub_status", token="garbage").status_code == 401
    assert hub.rest("hub_status").status_code == 401
    assert hub.get("/api/health").json()["auth"] == "tokens"


def test_a_credential_is_judged_even_when_the_hub_has_no_tokens(hub):
    assert hub.rest("hub_status").status_code == 200
    assert hub.rest("hub_status", token="garbage").status_code == 401
    assert (
        hub.post(
            "/mcp", json=INIT, headers={**MCP_HEADERS, "Authorization": "Basic Zm9vOmJhcg=="}
        ).status_code
        == 401
    )


def test_health_says_whether_tokens_are_required(hub):
    assert hub.get("/api/health").json()["auth"] == "none (loopback only)"
    hub.create_token("first")
    assert hub.get("/api/health").json()["auth"] == "tokens"


# -- 2. health without a token says states, not addresses ---------------------------------
def test_health_without_a_credential_gives_states_only(hub_factory):
    hub = hub_factory(
        {"inference": {"ollama": {"gpu": {"url": "http://user:S3cretPw@127.0.0.1:9/?token=T0ken"}}}}
    )
    token = hub.create_token("viewer")
    anonymous = hub.get("/api/health")
    assert anonymous.status_code in (200, 503)
    for name, component in anonymous.json()["components"].items():
        assert set(component) == {"state"}, name
    assert "127.0.0.1:9" not in anonymous.text
    detailed = hub.get("/api/health", token=token).text
    assert "S3cretPw" not in detailed
    assert "T0ken" not in detailed


# -- 3. MCP sessions belong to the agent that opened them ---------------------------------
def test_another_agent_cannot_use_or_delete_a_streamable_http_session(hub):
    a, b = hub.create_token("agent-a"), hub.create_token("agent-b")
    session = open_session(hub, a)
    as_b = {**session, "Authorization": f"Bearer {b}"}
    assert httpx.post(hub.url + "/mcp", json=CALL, headers=as_b, timeout=30).status_code == 404
    assert httpx.delete(hub.url + "/mcp", headers=as_b, timeout=30).status_code == 404
    mine = httpx.post(hub.url + "/mcp", json=CALL, headers=session, timeout=30)
    assert mine.status_code == 200
    assert mine.json()["result"]["structuredContent"]["agent"] == "agent-a"


def test_another_agent_cannot_post_into_an_sse_session(hub):
    a, b = hub.create_token("agent-a"), hub.create_token("agent-b")
    endpoint: list[str] = []
    done = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", hub.url + "/sse", headers={"Authorization": f"Bearer {a}"}, timeout=30) as r:
            for line in r.iter_lines():
                if line.startswith("data: /messages/"):
                    endpoint.append(line.removeprefix("data: "))
                if done.is_set():
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    wait_until(lambda: endpoint, timeout=20, what="the SSE endpoint event")
    url = hub.url + endpoint[0]
    as_b = httpx.post(url, json=INIT, headers={"Authorization": f"Bearer {b}"}, timeout=30)
    as_a = httpx.post(url, json=INIT, headers={"Authorization": f"Bearer {a}"}, timeout=30)
    done.set()
    assert as_b.status_code == 404
    assert as_a.status_code == 202


def test_session_ids_never_reach_the_log(hub, caplog):
    token = hub.create_token("agent-a")
    with caplog.at_level(logging.DEBUG, logger="mcp"):
        session = open_session(hub, token)
        httpx.delete(hub.url + "/mcp", headers=session, timeout=30)
    sid = session["mcp-session-id"]
    assert caplog.records
    assert sid not in caplog.text


def test_the_direct_and_the_sdk_path_give_the_same_tools_call_answer(hub):
    token = hub.create_token("agent-a")

    def settled() -> bool:  # the same answer twice needs a hub done starting (memory loads)
        status = hub.rest("hub_status", token=token).json()
        states = [*status["components"].values(), *(w["state"] for w in status["workers"])]
        return "starting" not in states

    wait_until(settled, timeout=60, what="the hub done starting")
    session = open_session(hub, token)
    direct = httpx.post(hub.url + "/mcp", json=CALL, headers=session, timeout=30).json()
    # Forget the session on the direct path: the call then goes through the SDK's machinery.
    route = next(r for r in hub.app.routes if getattr(r, "path", "") == "/mcp")
    route.app.app.sessions.clear()  # route.app is the route's access check
    through_sdk = httpx.post(hub.url + "/mcp", json=CALL, headers=session, timeout=30).json()
    for answer in (direct, through_sdk):
        answer["result"]["structuredContent"].pop("uptime_s")
        answer["result"]["content"][0]["text"] = re.sub(
            r'"uptime_s": [0-9.]+, ', "", answer["result"]["content"][0]["text"]
        )
    assert direct == through_sdk


# -- 9. headers parsed strictly ----------------------------------------------------------
@pytest.mark.parametrize(
    "host", ["localhost:80@evil.com", "127.0.0.1:evil.com", "127.0.0.1:99999", "evil.com"]
)
def test_a_host_header_that_is_not_a_loopback_host_is_refused(hub, host):
    response = hub.post("/api/tools/hub_status", json={}, headers={"Host": host})
    assert response.status_code == 403


@pytest.mark.parametrize("name", ["Authorization", "Origin"])
def test_a_repeated_security_header_is_refused(hub, name):
    token = hub.create_token("agent-a")
    values = {"Authorization": f"Bearer {token}", "Origin": "http://localhost:3000"}
    headers = [(name, values[name]), (name, values[name])]
    if name != "Authorization":
        headers.append(("Authorization", f"Bearer {token}"))
    response = httpx.post(hub.url + "/api/tools/hub_status", json={}, headers=headers, timeout=30)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == f"the {name} header appears more than once; send it once"


def test_a_repeated_host_header_is_refused(hub):
    # HTTP clients refuse to send two Host headers; a raw socket does.
    port = hub.config.server.port
    request = b"GET /api/tools HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        status_line = conn.makefile("rb").readline()
    assert status_line.split()[1] == b"400"


# -- 8 (transport part). bad JSON never reaches the SDK -----------------------------------
def test_a_malformed_sse_message_gets_the_hub_envelope(hub):
    response = httpx.post(hub.url + "/messages/?session_id=" + "0" * 32, content=b"{not json", timeout=30)
    assert response.status_code == 400
    assert response.json() == {
        "ok": False,
        "error": {"code": "invalid_input", "message": "the message is not valid JSON"},
    }


def test_a_lone_surrogate_in_mcp_arguments_is_refused_by_name(hub):
    session = open_session(hub, hub.create_token("agent-a"))
    call = {**CALL, "params": {"name": "memory_search", "arguments": {"query": "\ud800"}}}
    # json.dumps writes the lone surrogate as the \ud800 escape JSON allows.
    response = httpx.post(hub.url + "/mcp", content=json.dumps(call), headers=session, timeout=30)
    result = response.json()["result"]
    assert result["isError"] is True
    assert result["content"][0]["text"].startswith("invalid_input: memory_search.query: not valid Unicode")


def test_deeply_nested_rest_json_is_a_400(hub):
    body = "[" * 100_000 + "]" * 100_000
    response = hub.post("/api/tools/hub_status", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"
