"""Versions instead of silent overwrite, and long memories found by their best chunk."""

from __future__ import annotations

import json

from homelab_hub.memory.chunks import CHUNK_TOKENS

OLD = "Ollama on dgx-spark listens on port 11434; the WebSocket proxy is on 8765."
NEW = "Ollama on dgx-spark moved to port 11500 in June; the WebSocket proxy is still on 8765."


def test_update_keeps_the_previous_content_with_its_time(memory):
    m = memory.save("claude", OLD, category="ports")
    first = memory.get("claude", m.id)
    updated = memory.update("claude", m.id, content=NEW)
    memory.update("claude", m.id, content=NEW + " Confirmed.")
    current, history = memory.history("claude", m.id)
    assert current.content == NEW + " Confirmed."
    assert [v.content for v in history] == [OLD, NEW]
    assert [v.version for v in history] == [1, 2]
    assert history[0].valid_from == first.updated_at
    assert history[0].superseded_at == updated.updated_at
    assert history[0].category == "ports"


def test_search_never_returns_a_superseded_version(memory):
    m = memory.save("claude", OLD)
    memory.update("claude", m.id, content="Grafana on pve-01 listens on port 3000.")
    hits = memory.search("claude", "which port does ollama listen on", min_score=-1)
    assert [h.memory.content for h in hits] == ["Grafana on pve-01 listens on port 3000."]
    assert memory.search("claude", "11434") == []


def test_metadata_only_updates_keep_no_version(memory):
    m = memory.save("claude", OLD)
    memory.update("claude", m.id, category="ports", tags=["dgx"])
    assert memory.history("claude", m.id)[1] == []


def test_the_memory_resource_shows_the_history(memory_hub):
    memory_id = memory_hub.ok("memory_save", {"content": OLD})["id"]
    memory_hub.ok("memory_update", {"id": memory_id, "content": NEW})

    async def read(session):  # type: ignore[no-untyped-def]
        return (await session.read_resource(f"memory://{memory_id}")).contents[0].text

    body = json.loads(memory_hub.hub.mcp(read, token=memory_hub.alice))
    assert body["content"] == NEW
    assert [v["content"] for v in body["history"]] == [OLD]
    assert body["history"][0]["version"] == 1
    assert body["history"][0]["until"].endswith("Z")


LONG = " ".join(
    [
        "The camera monitor runs an rtsp_loop per camera and one analysis_loop.",
        "Frames are resized to 640 pixels before the motion diff.",
        *[
            f"Camera {n} is a Reolink at 192.168.3.{100 + n} with a {n + 2} second cooldown."
            for n in range(12)
        ],
        "The author settled on min_score 0.4 after 0.3 returned tangential results.",
        *[f"Zone {n} excludes the road edge on camera {n}." for n in range(10)],
        *[f"Recording {n} is kept for {n + 7} days on nas-01 before pruning." for n in range(10)],
    ]
)


def test_a_long_memory_is_embedded_in_chunks_and_found_by_the_part_that_matches(memory):
    m = memory.save("claude", LONG)
    memory.save("claude", "Frigate keeps recordings for 14 days on nas-01.")
    assert memory.embedder.count_tokens([LONG])[0] > memory.embedder.window
    chunks = memory.store.chunks([m.id])[m.id]
    assert len(chunks) >= 4
    assert max(memory.embedder.count_tokens([LONG[c.start : c.end] for c in chunks])) <= CHUNK_TOKENS + 16
    hit = memory.search("claude", "what threshold did the author settle on for min_score")[0]
    assert hit.memory.id == m.id
    assert hit.chunk is not None
    assert "min_score 0.4" in LONG[hit.chunk.start : hit.chunk.end]
    assert hit.part is not None
    assert hit.part[1] == len(chunks)


def test_the_search_answer_shows_only_the_matching_part_of_a_long_memory(memory_hub):
    memory_hub.ok("memory_save", {"content": LONG})
    found = memory_hub.ok("memory_search", {"query": "min_score threshold the author settled on"})["results"][
        0
    ]
    assert "min_score 0.4" in found["content"]
    assert len(found["content"]) < len(LONG) / 3
    assert found["content"].startswith("…")
    assert found["part"].count("/") == 1


def test_chunks_survive_a_restart_and_an_update_rechunks(memory, make_service, db_url):
    m = memory.save("claude", LONG)
    memory.persist()
    again = make_service(db_url, index_dir=memory.index_dir)
    assert m.id in again.chunked
    again.update("claude", m.id, content="Short now.")
    assert again.store.chunks([m.id]) == {}
    assert m.id not in again.chunked
