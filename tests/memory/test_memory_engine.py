"""MemoryService on a real database (each test runs on SQLite and on MariaDB)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from homelab_hub.errors import Conflict, InvalidInput, NotFound, WarmingUp
from homelab_hub.memory.config import MemoryConfig
from homelab_hub.memory.embedders import build_embedder
from homelab_hub.memory.search import has_identifier
from homelab_hub.memory.service import MemoryService
from homelab_hub.memory.stats import memory_stats

OLLAMA = "DGX Spark Ollama runs on port 11434, WebSocket proxy on 8765, adapter on 8091."
KV = "KV cache leak fix: Ollama allocated the full KV cache from context_length. Fix: PARAMETER num_ctx 4096."
PYAV = "Cross-thread RTSP kill bug: container.close() from the wrong thread deadlocked PyAV at 300% CPU."


def ids(hits):
    return [h.memory.id for h in hits]


def test_saving_the_same_content_twice_returns_the_first_id(memory):
    first = memory.save("claude", OLLAMA, category="ports")
    again = memory.save("claude", "  " + OLLAMA + "\n")
    assert first.created and not again.created
    assert again.id == first.id
    assert memory.store.db.query_one("SELECT COUNT(*) AS n FROM memories")["n"] == 1


def test_the_same_content_for_another_agent_is_a_separate_memory(memory):
    a = memory.save("claude", OLLAMA)
    b = memory.save("skippy", OLLAMA)
    assert a.id != b.id and b.created


def test_nearly_identical_content_is_saved_and_names_its_neighbour(memory):
    first = memory.save("claude", OLLAMA)
    close = memory.save("claude", OLLAMA.replace("adapter on 8091.", "and the adapter on 8091."))
    assert close.created and close.id != first.id
    assert [h.memory.id for h in close.similar] == [first.id]
    assert close.similar[0].score >= 0.9


def test_search_finds_a_fact_by_meaning_with_a_cosine_score(memory):
    memory.save("claude", OLLAMA)
    kv = memory.save("claude", KV).id
    memory.save("claude", PYAV)
    hits = memory.search("claude", "how did we stop ollama reserving so much memory for context")
    assert ids(hits)[0] == kv
    assert 0.4 <= hits[0].score <= 1.0


def test_search_finds_an_exact_error_string_by_keyword(memory):
    memory.save("claude", OLLAMA)
    oom = memory.save(
        "claude", "llama-server: CUDA_ERROR_OUT_OF_MEMORY with -c 32768; fixed with -c 4096."
    ).id
    hits = memory.search("claude", "CUDA_ERROR_OUT_OF_MEMORY")
    assert ids(hits)[0] == oom and hits[0].keyword_match


def test_min_score_drops_unrelated_memories(memory):
    memory.save("claude", PYAV)
    assert memory.search("claude", "best pizza dough hydration", min_score=0.4) == []
    assert len(memory.search("claude", "best pizza dough hydration", min_score=-1.0)) == 1


def test_update_reembeds_new_content_so_search_follows_it(memory):
    m = memory.save("claude", "The NAS exports /tank/media over NFS to the Jellyfin VM.")
    memory.update("claude", m.id, content="Ollama on the DGX listens on port 11434.")
    hits = memory.search("claude", "which port does ollama listen on")
    assert ids(hits) == [m.id]
    assert memory.search("claude", "NFS export of the media share") == []


def test_update_to_content_another_memory_holds_is_a_conflict(memory):
    a = memory.save("claude", OLLAMA)
    b = memory.save("claude", KV)
    with pytest.raises(Conflict, match=str(a.id)):
        memory.update("claude", b.id, content=OLLAMA)
    assert memory.get("claude", b.id).content == KV


def test_delete_removes_a_memory_from_search_list_and_get(memory):
    m = memory.save("claude", PYAV)
    memory.delete("claude", m.id)
    assert memory.search("claude", "PyAV deadlock", min_score=-1) == []
    assert memory.page("claude")[0] == []
    with pytest.raises(NotFound):
        memory.get("claude", m.id)


def test_list_is_newest_first_and_pages_with_a_cursor(memory):
    saved = [
        memory.save("claude", f"Fact number {i}: service {i} runs on port {9000 + i}.").id for i in range(7)
    ]
    memory.update("claude", saved[0], category="touched")
    page1, cursor = memory.page("claude", limit=3)
    page2, cursor2 = memory.page("claude", limit=3, cursor=cursor)
    page3, cursor3 = memory.page("claude", limit=3, cursor=cursor2)
    order = [m.id for m in page1 + page2 + page3]
    assert order == [saved[0], *reversed(saved[1:])]
    assert cursor3 is None


def test_a_foreign_cursor_is_refused_clearly(memory):
    with pytest.raises(InvalidInput, match="cursor"):
        memory.page("claude", cursor="yesterday")


def test_search_and_list_filter_by_category_and_tags(memory):
    a = memory.save("claude", OLLAMA, category="ports", tags=["dgx", "ollama"]).id
    b = memory.save("claude", KV, category="fixes", tags=["ollama"]).id
    assert ids(memory.search("claude", "ollama", category="fixes", min_score=-1)) == [b]
    assert ids(memory.search("claude", "ollama", tags=["dgx", "ollama"], min_score=-1)) == [a]
    assert [m.id for m in memory.page("claude", tag="ollama")[0]] == [b, a]
    assert [m.id for m in memory.page("claude", category="ports")[0]] == [a]


def test_stats_count_categories_tags_staleness_and_duplicate_clusters(memory):
    a = memory.save("claude", OLLAMA, category="ports", tags=["dgx"]).id
    b = memory.save(
        "claude", OLLAMA.replace("adapter on 8091.", "and the adapter on 8091."), category="ports"
    ).id
    old = memory.save("claude", PYAV, category="fixes", tags=["dgx", "pyav"]).id
    memory.save("skippy", KV, category="private")
    memory.store.db.execute(
        "UPDATE memories SET updated_at = ? WHERE id = ?", (time.time() - 200 * 86400, old)
    )
    stats = memory_stats(memory, "claude")
    assert stats.total == 3
    assert stats.by_category == {"ports": 2, "fixes": 1}
    assert stats.by_tag == {"dgx": 2, "pyav": 1}
    assert stats.stale == 1 and stats.stale_ids == [old]
    assert stats.near_duplicate_clusters == [sorted([a, b])]
    assert stats.bits_per_dim <= 4.8 and stats.index_bytes > 0
    assert stats.model == "all-MiniLM-L6-v2-onnx-int8" and stats.dim == 384


def test_restart_reconciles_the_index_with_the_database(memory, make_service, embedder):
    kept = memory.save("claude", OLLAMA).id
    changed = memory.save("claude", KV).id
    dropped = memory.save("claude", PYAV).id
    memory.persist()
    # Behind the index's back: one row deleted, one rewritten, one added.
    db = memory.store.db
    db.execute("DELETE FROM memories WHERE id = ?", (dropped,))
    new_text = "Zigbee2MQTT runs on pi-garage with the Sonoff dongle on /dev/ttyUSB0."
    vec = embedder.embed([new_text])[0]
    db.execute(
        "UPDATE memories SET content = ?, embedding = ?, updated_at = ? WHERE id = ?",
        (new_text, vec.tobytes(), time.time(), changed),
    )
    added = memory.store.insert(
        "claude",
        "Grafana listens on port 3000 on pve-01.",
        "",
        [],
        "",
        "",
        embedder.embed(["Grafana listens on port 3000 on pve-01."])[0],
    )
    assert added is not None
    restarted = MemoryService(db, MemoryConfig(), memory.index_dir, embedder)
    restarted.start_now()
    report = restarted.reconcile_report
    assert report.loaded_from_disk and report.removed == 1 and report.reencoded == 2
    assert ids(restarted.search("claude", "zigbee dongle"))[0] == changed
    assert ids(restarted.search("claude", "grafana port"))[0] == added[0]
    assert dropped not in ids(restarted.search("claude", "PyAV deadlock", min_score=-1))
    assert kept in ids(restarted.search("claude", "11434"))


def test_search_before_the_model_is_loaded_waits_then_says_warming_up(db, tmp_path):
    cold = MemoryService(
        db, MemoryConfig(warmup_wait_s=0.2), tmp_path / "idx", build_embedder(MemoryConfig())
    )
    with pytest.raises(WarmingUp, match="loading"):
        cold.search("claude", "anything")


def test_embeddings_are_stored_as_float32_in_the_database(memory):
    m = memory.save("claude", OLLAMA)
    full = memory.store.get(m.id, "claude", with_embedding=True)
    assert (
        full.embedding is not None and full.embedding.dtype == np.float32 and full.embedding.shape == (384,)
    )
    assert abs(float(np.linalg.norm(full.embedding)) - 1.0) < 1e-3


def test_sync_follows_saves_updates_and_deletes_made_by_another_process(memory, embedder):
    hub = memory
    other = MemoryService(hub.store.db, MemoryConfig(), hub.index_dir.parent / "other-index", embedder)
    other.start_now()
    kept = other.save("claude", OLLAMA).id
    changed = other.save("claude", KV).id
    gone = other.save("claude", PYAV).id
    assert hub.sync() == 3
    assert ids(hub.search("claude", "11434"))[0] == kept
    other.update("claude", changed, content="Grafana moved to port 3001 on pve-01.")
    other.delete("claude", gone)
    assert hub.sync() == 2
    assert ids(hub.search("claude", "grafana port"))[0] == changed
    assert gone not in ids(hub.search("claude", "PyAV deadlock", min_score=-1))
    assert hub.sync() == 0


@pytest.mark.parametrize(
    ("query", "exact"),
    [
        ("which port is ollama:11434 on", True),
        ("CUDA_ERROR_OUT_OF_MEMORY again", True),
        ('We saw "Trusted domain error" from Nextcloud; what caused it?', True),
        ("What was the 'database is locked' error on Grafana about?", True),
        ("it said \u201cno space left on device\u201d", True),
        ("what's Caddy's job", False),
        ("don't restart it, it's fine", False),
        ("how long does the ups last", False),
    ],
)
def test_ports_codes_and_quoted_log_strings_count_as_identifiers(query, exact):
    assert has_identifier(query) is exact
