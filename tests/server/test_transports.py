"""The MCP SDK's own client over both transports, against the real app under uvicorn."""

import json

import pytest


@pytest.mark.parametrize("transport", ["http", "sse"])
def test_mcp_client_lists_tools_and_calls_hub_status(hub, transport):
    async def go(session):
        tools = await session.list_tools()
        result = await session.call_tool("hub_status", {})
        resource = await session.read_resource("hub://status")
        return tools, result, resource

    tools, result, resource = hub.mcp(go, transport=transport)
    assert "hub_status" in {t.name for t in tools.tools}
    assert not result.is_error
    assert result.structured_content["version"]
    assert result.structured_content["agent"] == "local"
    status = json.loads(resource.contents[0].text)
    assert status["storage"] == "sqlite"


@pytest.mark.parametrize("transport", ["http", "sse"])
def test_both_transports_list_the_same_tools(hub, transport):
    async def names(session):
        return sorted(t.name for t in (await session.list_tools()).tools)

    assert hub.mcp(names, transport=transport) == hub.mcp(names, transport="http")
