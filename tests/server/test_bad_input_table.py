"""Bad input over every tool, resource and route, through a real hub: deeply nested JSON, lone
surrogates in string fields, integers beyond 64 bits; every path parameter of the app's whole
route table gets an out-of-range, a non-number and a traversal value. Each is a 400 (REST) or an
``invalid_input`` error (MCP), and the hub's log has a line for it without a traceback."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Mount, WebSocketRoute

from homelab_hub.server.app import create_app
from homelab_hub.server.components import all_resources, all_tools
from homelab_hub.server.schema import tool_schema
from tests.hubclient import hub_config
from tests.server.test_route_table import PARAM, concrete, methods_of

TOOLS = all_tools()
NESTED = "[" * 5000 + "]" * 5000


def _fields(schema: dict[str, Any], kind: str) -> list[str]:
    """Top-level properties that accept ``kind`` (string or integer)."""
    out = []
    for name, prop in schema.get("properties", {}).items():
        types = prop.get("type")
        types = types if isinstance(types, list) else [types]
        options = [o.get("type") for o in prop.get("anyOf", []) if isinstance(o, dict)]
        if kind in types or kind in options:
            out.append(name)
    return out


def _cases() -> list[Any]:
    cases = []
    for spec in TOOLS:
        schema = tool_schema(spec)
        cases.append(pytest.param(spec.name, NESTED, id=f"{spec.name}-nested"))
        for field in _fields(schema, "string")[:1]:
            body = json.dumps({field: "\ud800"})  # json.dumps writes the \ud800 escape
            cases.append(pytest.param(spec.name, body, id=f"{spec.name}-surrogate-{field}"))
        for field in _fields(schema, "integer")[:1]:
            cases.append(
                pytest.param(spec.name, json.dumps({field: 2**70}), id=f"{spec.name}-bigint-{field}")
            )
    return cases


@pytest.fixture
def quiet_hub(hub_factory):
    return hub_factory({"memory": {"enabled": False}})


@pytest.mark.parametrize(("tool", "body"), _cases())
def test_bad_input_to_every_tool_is_a_400_and_a_log_line_without_a_traceback(quiet_hub, caplog, tool, body):
    hub = quiet_hub
    with caplog.at_level(logging.INFO):
        rest = httpx.post(
            f"{hub.url}/api/tools/{tool}",
            content=body,
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        # The same through MCP, as raw JSON-RPC (the SDK's client refuses to send a surrogate);
        # the nesting sits inside an argument, where the JSON-RPC parser itself accepts it.
        arguments = body if body != NESTED else '{"x": ' + "[" * 40 + "]" * 40 + "}"
        mcp = hub.raw_mcp_call(hub.raw_mcp_session(), tool, arguments)
    assert rest.status_code == 400, rest.text
    assert rest.json()["error"]["code"] == "invalid_input"
    assert mcp["isError"] is True
    assert mcp["content"][0]["text"].startswith("invalid_input: ")
    assert "Traceback" not in caplog.text
    assert any(r.levelno >= logging.INFO and "invalid_input" in r.getMessage() for r in caplog.records)


RESOURCE_URIS = []
for _spec in all_resources():
    if _spec.uri_template and "{id}" in _spec.uri_template:
        for _raw in ("9" * 30, "-1", "0", "12abc"):
            RESOURCE_URIS.append(
                pytest.param(_spec.uri_template.replace("{id}", _raw), id=f"{_spec.name}-{_raw[:6]}")
            )


@pytest.mark.parametrize("uri", RESOURCE_URIS)
def test_a_bad_resource_id_is_invalid_params_and_a_log_line_without_a_traceback(quiet_hub, caplog, uri):
    from mcp.shared.exceptions import MCPError

    async def read(session):
        try:
            await session.read_resource(uri)
        except MCPError as exc:
            return exc
        return None

    with caplog.at_level(logging.INFO):
        error = quiet_hub.mcp(read)
    assert error is not None
    assert "invalid_input: " in str(error)
    assert "Traceback" not in caplog.text


BAD_VALUES = {"out-of-range": "9" * 30, "non-number": "abc", "traversal": "..%2F..%2Fetc%2Fpasswd"}


def _bad_cases() -> list[Any]:
    config = hub_config(Path("/nonexistent/route-table"), 1, {"memory": {"enabled": False}})
    cases = []
    for route in create_app(config).routes:
        path = getattr(route, "path", "")
        if isinstance(route, WebSocketRoute):
            continue
        if isinstance(route, Mount):
            for kind, value in BAD_VALUES.items():
                cases.append(pytest.param("GET", f"{path}/{value}", id=f"GET {path}/*-{kind}"))
            continue
        if not PARAM.search(path):
            continue
        for method in methods_of(route):
            for kind, value in BAD_VALUES.items():
                cases.append(pytest.param(method, concrete(path, value), id=f"{method} {path}-{kind}"))
    return cases


@pytest.mark.parametrize(("method", "path"), _bad_cases())
def test_a_bad_path_parameter_on_any_route_is_a_clear_error_never_a_500(table_hub, caplog, method, path):
    hub = table_hub["hub"]
    with caplog.at_level(logging.INFO):
        answer = httpx.request(
            method,
            hub.url + path,
            headers={"Authorization": f"Bearer {table_hub['admin']}"},
            json={},
            timeout=30,
        )
    assert answer.status_code != 500, answer.text
    assert answer.status_code < 500 or answer.status_code == 503, answer.text
    assert "Traceback" not in caplog.text
    if answer.status_code >= 400 and answer.headers.get("content-type", "").startswith("application/json"):
        assert answer.json()["error"]["message"], answer.text
