"""For every tool in the registry, MCP and REST publish the same schema and give the same
answer to the same input (both surfaces are generated from one ToolSpec)."""

import json

import pytest

from homelab_hub.server.components import all_tools
from homelab_hub.server.schema import tool_schema
from tests.support import wait_until

# Keys whose values legitimately differ between two calls made a moment apart.
VOLATILE = {
    "uptime_s",
    "ping_ms",
    "took_ms",
    "latency_ms",
    "last_beat_age_s",
    "checked_at",
    "generated_at",
    "age_s",
}


def _stable(value):
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def test_mcp_and_rest_publish_the_same_input_schemas(hub):
    async def listed(session):
        return {t.name: t.input_schema for t in (await session.list_tools()).tools}

    mcp_schemas = hub.mcp(listed)
    rest_schemas = {t["name"]: t["input_schema"] for t in hub.get("/api/tools").json()}
    assert mcp_schemas == rest_schemas
    assert set(mcp_schemas) == {t.name for t in all_tools()}


def test_openapi_describes_every_tool_with_the_same_input_schema(hub):
    spec = hub.get("/api/openapi.json").json()
    for tool in all_tools():
        op = spec["paths"][f"/api/tools/{tool.name}"]["post"]
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        published = spec["components"]["schemas"][ref]
        assert set(published.get("properties", {})) == set(tool_schema(tool).get("properties", {}))
        assert published.get("required", []) == tool_schema(tool).get("required", [])


# Arguments for read-only tools that take required ones; the rest are called with {}.
ARGS = {
    "memory_search": {"query": "ollama port on the dgx"},
    "camera_snapshot": {"camera": "gate"},
    "inference_bench": {"host": "gpu"},
}


@pytest.fixture
def ready_hub(hub):
    """A hub whose memory has finished loading: a 'warming up' answer on both sides would
    compare nothing."""
    wait_until(
        lambda: hub.get("/api/health").json()["components"]["memory"]["state"] == "ok",
        timeout=120,
        what="memory to load",
    )
    # ...and its worker has beaten since (watchdog_status shows the beat's ready flag).
    wait_until(
        lambda: hub.services.supervisor.states()["memory-index"].details.get("ready") is True,
        timeout=30,
        what="the memory worker's beat after the load",
    )
    return hub


@pytest.mark.parametrize(
    "tool", [t for t in all_tools() if t.read_only and t.permission == "agent"], ids=lambda t: t.name
)
def test_read_only_tools_give_the_same_answer_over_mcp_and_rest(ready_hub, tool):
    args = ARGS.get(tool.name, {})
    rest = ready_hub.rest(tool.name, args)
    result = ready_hub.mcp_call(tool.name, args)
    if rest.status_code != 200:
        # A refusal is the caller's to read (no camera of that name, no such host), never a
        # server fault, and both surfaces give the same code and message.
        assert rest.status_code in (400, 404)
        error = rest.json()["error"]
        assert result.is_error
        assert result.content[0].text == f"{error['code']}: {error['message']}"
        return
    assert not result.is_error, result.content[0].text
    assert _stable(result.structured_content) == _stable(rest.json())
    assert json.loads(result.content[0].text) == result.structured_content


def test_tools_list_fits_the_context_budget(hub):
    async def listed(session):
        return (await session.list_tools()).model_dump(mode="json", by_alias=True, exclude_none=True)

    size = len(json.dumps(hub.mcp(listed)))
    assert size / 4 < 2500, f"tools/list is {size} characters (~{size // 4} tokens); keep descriptions short"
