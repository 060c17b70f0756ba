"""Every memory operation stays within the caller's agent; only an admin looks across."""

from __future__ import annotations

import pytest

from homelab_hub.errors import InvalidInput, NotFound
from homelab_hub.tools import memory as tools
from homelab_hub.tools.registry import ToolContext
from tests.memory.support import tool_context

SECRET = "Bob's diet tracker token lives in /srv/diet/.env and rotates monthly."


def ctx(memory, agent: str, role: str = "agent") -> ToolContext:  # type: ignore[no-untyped-def]
    return tool_context(memory, agent, role)


def test_an_agent_cannot_find_list_read_update_or_delete_anothers_memory(memory):
    bob = tools.memory_save(ctx(memory, "bob"), tools.MemorySaveInput(content=SECRET)).id
    alice = ctx(memory, "alice")
    found = tools.memory_search(alice, tools.MemorySearchInput(query="diet tracker token", min_score=-1))
    assert found.results == []
    assert tools.memory_list(alice, tools.MemoryListInput()).memories == []
    with pytest.raises(NotFound) as read:
        memory.get("alice", bob)
    with pytest.raises(NotFound) as update:
        tools.memory_update(alice, tools.MemoryUpdateInput(id=bob, content="overwritten"))
    with pytest.raises(NotFound) as delete:
        tools.memory_delete(alice, tools.MemoryDeleteInput(id=bob))
    # "not found" for someone else's id is word for word the answer for a missing id.
    with pytest.raises(NotFound) as missing:
        tools.memory_delete(alice, tools.MemoryDeleteInput(id=bob + 1000))
    assert str(delete.value).replace(str(bob), "N") == str(missing.value).replace(str(bob + 1000), "N")
    assert read.value.status == update.value.status == 404
    assert tools.memory_stats_tool(alice, tools.MemoryStatsInput()).total == 0
    assert memory.get("bob", bob).content == SECRET


def test_a_non_admin_naming_another_agent_still_acts_as_itself(memory):
    tools.memory_save(ctx(memory, "bob"), tools.MemorySaveInput(content=SECRET))
    alice = ctx(memory, "alice")
    assert (
        tools.memory_search(alice, tools.MemorySearchInput(query="diet", agent="bob", min_score=-1)).results
        == []
    )
    saved = tools.memory_save(alice, tools.MemorySaveInput(content="Alice's note.", agent="bob"))
    assert memory.get("alice", saved.id).agent == "alice"


def test_an_admin_can_name_an_agent_or_all_agents(memory):
    bob_id = tools.memory_save(ctx(memory, "bob"), tools.MemorySaveInput(content=SECRET)).id
    alice_id = tools.memory_save(
        ctx(memory, "alice"), tools.MemorySaveInput(content="Alice: Grafana on 3000.")
    ).id
    admin = ctx(memory, "root", "admin")
    as_bob = tools.memory_search(admin, tools.MemorySearchInput(query="diet tracker token", agent="bob"))
    assert [r.id for r in as_bob.results] == [bob_id]
    everyone = tools.memory_list(admin, tools.MemoryListInput(agent="*"))
    assert {m.id for m in everyone.memories} == {bob_id, alice_id}
    assert tools.memory_list(admin, tools.MemoryListInput()).memories == []  # its own agent by default
    tools.memory_update(admin, tools.MemoryUpdateInput(id=bob_id, category="secrets", agent="bob"))
    assert memory.get("bob", bob_id).category == "secrets"
    assert tools.memory_stats_tool(admin, tools.MemoryStatsInput(agent="*")).total == 2
    with pytest.raises(InvalidInput, match="one agent"):
        tools.memory_save(admin, tools.MemorySaveInput(content="for whom?", agent="*"))
    tools.memory_delete(admin, tools.MemoryDeleteInput(id=bob_id, agent="*"))
    with pytest.raises(NotFound):
        memory.get("bob", bob_id)


def test_isolation_holds_over_rest_and_mcp_with_real_tokens(memory_hub):
    bob_id = memory_hub.ok("memory_save", {"content": SECRET}, memory_hub.bob)["id"]
    assert memory_hub.ok("memory_search", {"query": "diet tracker token", "min_score": -1})["results"] == []
    memory_hub.error("memory_update", {"id": bob_id, "content": "mine now"}, 404)
    memory_hub.error("memory_delete", {"id": bob_id}, 404)
    result = memory_hub.hub.mcp_call("memory_delete", {"id": bob_id}, memory_hub.alice)
    assert result.is_error and "not found" in result.content[0].text

    async def read(session):  # type: ignore[no-untyped-def]
        try:
            await session.read_resource(f"memory://{bob_id}")
        except Exception as exc:  # the MCP error the server sent
            return str(exc)
        return "read succeeded"

    assert "not found" in memory_hub.hub.mcp(read, token=memory_hub.alice)
    seen = memory_hub.ok("memory_search", {"query": "diet tracker token", "agent": "bob"}, memory_hub.admin)
    assert [r["id"] for r in seen["results"]] == [bob_id]
