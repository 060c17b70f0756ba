"""memory_* tools through the real hub: MCP (both transports) and REST, both databases."""

from __future__ import annotations

import json

OLLAMA = "DGX Spark Ollama runs on port 11434, WebSocket proxy on 8765, adapter on 8091."
KV = "KV cache leak fix: Ollama allocated the full KV cache from context_length. Fix: PARAMETER num_ctx 4096."


def structured(result) -> dict:  # type: ignore[no-untyped-def]
    assert not result.is_error, result.content
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


def test_save_over_mcp_is_found_by_search_over_rest_and_sse(memory_hub):
    saved = structured(
        memory_hub.hub.mcp_call("memory_save", {"content": OLLAMA, "category": "ports"}, memory_hub.alice)
    )
    assert saved["created"] and saved["similar"] == []
    hits = memory_hub.ok("memory_search", {"query": "which port does ollama use"})["results"]
    assert hits[0]["id"] == saved["id"] and hits[0]["category"] == "ports" and hits[0]["score"] >= 0.4
    over_sse = structured(
        memory_hub.hub.mcp_call("memory_search", {"query": "11434"}, memory_hub.alice, transport="sse")
    )
    assert over_sse["results"][0]["id"] == saved["id"]


def test_rest_aliases_api_save_and_api_search(memory_hub):
    res = memory_hub.hub.post("/api/save", {"content": KV, "tags": ["ollama"]}, token=memory_hub.alice)
    assert res.status_code == 200, res.text
    memory_id = res.json()["id"]
    res = memory_hub.hub.post("/api/search", {"query": "num_ctx"}, token=memory_hub.alice)
    assert res.status_code == 200 and res.json()["results"][0]["id"] == memory_id


def test_list_update_delete_and_stats_over_mcp_and_rest(memory_hub):
    a = memory_hub.ok("memory_save", {"content": OLLAMA, "category": "ports"})["id"]
    b = memory_hub.ok("memory_save", {"content": KV, "category": "fixes", "tags": ["ollama"]})["id"]
    listed = structured(memory_hub.hub.mcp_call("memory_list", {"limit": 1}, memory_hub.alice))
    assert [m["id"] for m in listed["memories"]] == [b] and listed["next_cursor"]
    rest_page = memory_hub.ok("memory_list", {"limit": 1, "cursor": listed["next_cursor"]})
    assert [m["id"] for m in rest_page["memories"]] == [a]
    updated = structured(
        memory_hub.hub.mcp_call(
            "memory_update", {"id": a, "content": OLLAMA + " Moved to 11435."}, memory_hub.alice
        )
    )
    assert updated["content"].endswith("11435.")
    assert memory_hub.ok("memory_update", {"id": b, "tags": ["kv", "ollama"]})["tags"] == ["kv", "ollama"]
    stats = structured(memory_hub.hub.mcp_call("memory_stats", {}, memory_hub.alice))
    assert stats["total"] == 2 and stats["by_category"] == {"ports": 1, "fixes": 1}
    assert stats["bits_per_dim"] <= 4.8
    assert memory_hub.ok("memory_stats", {})["by_tag"] == {"kv": 1, "ollama": 1}
    assert structured(memory_hub.hub.mcp_call("memory_delete", {"id": a}, memory_hub.alice))["deleted"] == a
    assert memory_hub.ok("memory_delete", {"id": b})["deleted"] == b
    assert memory_hub.ok("memory_list", {})["memories"] == []


def test_resources_read_one_memory_and_the_recent_ones(memory_hub):
    memory_id = memory_hub.ok("memory_save", {"content": OLLAMA})["id"]

    async def read(session):  # type: ignore[no-untyped-def]
        one = await session.read_resource(f"memory://{memory_id}")
        recent = await session.read_resource("memory://recent")
        return one.contents[0].text, recent.contents[0].text

    one, recent = memory_hub.hub.mcp(read, token=memory_hub.alice)
    assert json.loads(one)["content"] == OLLAMA
    assert [m["id"] for m in json.loads(recent)] == [memory_id]


def test_the_index_is_written_to_disk_in_the_background_and_health_reports_it(memory_hub):
    import time

    from homelab_hub.memory.index import VectorIndex

    memory_id = memory_hub.ok("memory_save", {"content": OLLAMA})["id"]
    service = memory_hub.hub.services.memory
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        on_disk = VectorIndex.load(service.index_path, 384)
        if on_disk is not None and memory_id in on_disk.versions():
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the index was not persisted within 30 s")
    health = memory_hub.hub.get("/api/health", token=memory_hub.alice).json()["components"]["memory"]
    assert (
        health["state"] == "ok" and health["data"]["vectors"] == 1 and health["data"]["bits_per_dim"] <= 4.8
    )


def test_threads_time_windows_and_versions_over_mcp_and_rest(memory_hub):
    turns = [
        ("maria: can you move Grafana off 3000? it clashes with the new dashboard", "2026-03-02T20:00Z"),
        ("claude: done, it's on 3005 now", "2026-03-02T20:03Z"),
    ]
    ids = [
        structured(
            memory_hub.hub.mcp_call(
                "memory_save",
                {"content": text, "thread": "incident-7", "occurred_at": at},
                memory_hub.alice,
            )
        )["id"]
        for text, at in turns
    ]
    # Bob's thread of the same name lends alice's reply nothing and is never shown to her.
    bob_turn = memory_hub.ok(
        "memory_save",
        {
            "content": "maria: where does Grafana run now?",
            "thread": "incident-7",
            "occurred_at": "2026-03-02T20:02Z",
        },
        memory_hub.bob,
    )["id"]
    memory_hub.ok("memory_save", {"content": "Grafana dashboards are backed up nightly to nas-01."})

    # Found at the default relevance floor although its own words say nothing of Grafana.
    found = memory_hub.ok("memory_search", {"query": "which port did grafana move to"})["results"]
    assert ids[1] in [r["id"] for r in found]
    assert bob_turn not in [r["id"] for r in found]
    window = {
        "query": "grafana",
        "after": "2026-03-02T20:01Z",
        "before": "2026-03-02T21:00Z",
        "min_score": -1,
    }
    in_window = structured(memory_hub.hub.mcp_call("memory_search", window, memory_hub.alice))["results"]
    assert [r["id"] for r in in_window] == [ids[1]]
    assert in_window[0]["at"].startswith("2026-03-02T20:03")
    listed = memory_hub.ok("memory_list", {"thread": "incident-7"})["memories"]
    assert sorted(m["id"] for m in listed) == sorted(ids)
    assert {m["thread"] for m in listed} == {"incident-7"}
    assert memory_hub.ok("memory_list", {"before": "2026-03-02T20:01Z"})["memories"][0]["id"] == ids[0]
    bad = memory_hub.error("memory_search", {"query": "grafana", "after": "last tuesday"}, 400)
    assert "last tuesday" in bad["message"]

    memory_hub.ok("memory_update", {"id": ids[1], "content": "claude: done, it's on 3010 now"})
    after_update = memory_hub.ok("memory_search", {"query": "3005", "min_score": -1})["results"]
    assert all("3005" not in r["content"] for r in after_update)

    async def read(session):  # type: ignore[no-untyped-def]
        return (await session.read_resource(f"memory://{ids[1]}")).contents[0].text

    shown = json.loads(memory_hub.hub.mcp(read, token=memory_hub.alice))
    assert shown["content"] == "claude: done, it's on 3010 now"
    assert [v["content"] for v in shown["history"]] == ["claude: done, it's on 3005 now"]


def test_an_empty_answer_says_why_in_one_hint(memory_hub):
    memory_hub.ok("memory_save", {"content": OLLAMA})
    empty = memory_hub.ok("memory_search", {"query": "which port does ollama use"}, memory_hub.bob)
    assert empty == {
        "results": [],
        "hint": "no memories for agent 'bob'; other agents have 1 memory: import notes for this agent "
        "with `homelab-hub memory import PATH --agent bob`",
    }
    found = memory_hub.ok("memory_search", {"query": "which port does ollama use"})
    assert "hint" not in found
