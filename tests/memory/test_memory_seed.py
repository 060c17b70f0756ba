"""The six seed articles, imported as they are, answer questions about facts inside them:
the right passage in the top 3, each answer under 300 tokens of JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from homelab_hub.memory.importer import Document, MemoryImporter
from homelab_hub.tools import memory as tools
from tests.memory.support import tool_context

SEED = Path(__file__).parents[1] / "fixtures" / "memory" / "seed"

# (question, the file it is about, a phrase the right passage contains)
QUESTIONS = [
    ("which GUID does RFC 6455 use", "3-websocket-camera-grid.md", "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
    ("what threshold did the author settle on for min_score", "1-semantic-memory.md", "Bumping to 0.4"),
    ("how much VRAM did the KV cache take", "6-ollama-kv-cache.md", "KV cache: ~65 GB"),
    ("which Modelfile parameter fixed the KV cache size", "6-ollama-kv-cache.md", "PARAMETER num_ctx 4096"),
    (
        "what environment variable sets the default context for every Ollama model",
        "6-ollama-kv-cache.md",
        "OLLAMA_NUM_CTX",
    ),
    ("how many memories did the memory server hold", "1-semantic-memory.md", "202 memories"),
    ("what port does the memory server listen on", "1-semantic-memory.md", "8042"),
    ("which embedding model does the memory server use", "1-semantic-memory.md", "all-MiniLM-L6-v2"),
    ("what CPU percentage marks a zombie process in the watchdog", "2-self-healing-watchdog.md", "200"),
    (
        "how many restart attempts before the watchdog escalates to Claude",
        "2-self-healing-watchdog.md",
        "up to 3 attempts",
    ),
    (
        "which flag lets Claude run unattended without approval",
        "2-self-healing-watchdog.md",
        "--dangerously-skip-permissions",
    ),
    (
        "what binary threshold and dilation does the contour detection use",
        "4-vlm-camera-pipeline.md",
        "threshold (25)",
    ),
    ("which vision model runs on the DGX Spark for the cameras", "4-vlm-camera-pipeline.md", "qwen2.5vl:7b"),
    (
        "what IP address does the DGX use on the direct 10GbE link",
        "5-distributed-inference.md",
        "192.168.100.2",
    ),
    ("what throughput did the direct 10GbE cable measure", "5-distributed-inference.md", "9.41 Gbps"),
    ("how much memory does the Mac Studio have", "5-distributed-inference.md", "128 GB unified memory"),
    ("on what date did the cameras silently die", "2-self-healing-watchdog.md", "April 13th"),
    ("what close code did browsers report for the WebSocket", "3-websocket-camera-grid.md", "1006"),
]


@pytest.fixture(scope="module")
def seeded(make_service_module):  # type: ignore[no-untyped-def]
    service = make_service_module
    importer = MemoryImporter(service)
    docs = [
        Document(f"seed/{f.name}", "", [], importer.split(f.read_text(encoding="utf-8"), f.name))
        for f in sorted(SEED.glob("*.md"))
    ]
    report = importer.import_documents("local", docs)
    assert report.errors == []
    return service


def test_the_seed_articles_become_pieces_the_model_reads_whole(seeded):
    pieces, _ = seeded.page("local", limit=200)
    sizes = seeded.embedder.count_tokens([m.content for m in pieces])
    assert len(pieces) >= 60
    assert max(sizes) <= seeded.embedder.window
    assert {m.source for m in pieces} == {f"seed/{f.name}" for f in SEED.glob("*.md")}
    heading = [m for m in pieces if m.section.startswith("What I'd Change")][0]
    assert heading.content.startswith(
        "1-semantic-memory.md › Claude Code Was Getting Dumber. Semantic Memory Fixed It. › What I'd Change"
    )


def test_seed_questions_find_their_passage_in_the_top_3_in_under_300_tokens(seeded, capsys):
    ctx = tool_context(seeded, "local")
    sizes, misses = [], []
    for question, _source, phrase in QUESTIONS:
        answer = tools.memory_search(ctx, tools.MemorySearchInput(query=question, limit=3))
        sizes.append(len(answer.model_dump_json()) / 4)
        # Either article that states the fact will do (two describe the DGX's vision model).
        if not [r for r in answer.results if r.source.startswith("seed/") and phrase in r.content]:
            misses.append(question)
    with capsys.disabled():
        print(
            f"\n  seed articles: {len(QUESTIONS) - len(misses)}/{len(QUESTIONS)} questions with the passage in the "
            f"top 3; answers {min(sizes):.0f}..{max(sizes):.0f} tokens; missed: {misses}"
        )
    assert len(QUESTIONS) - len(misses) >= 15
    assert max(sizes) < 300


def test_a_longer_query_still_finds_what_its_first_word_found(seeded):
    ctx = tool_context(seeded, "local")
    short = tools.memory_search(ctx, tools.MemorySearchInput(query="exo"))
    longer = tools.memory_search(ctx, tools.MemorySearchInput(query="exo cluster tensor parallel"))
    assert short.results and longer.results
    assert longer.hint == ""


def test_an_indented_heading_starting_with_a_lower_case_name_labels_its_steps(seeded):
    pieces, _ = seeded.page("local", limit=200)
    rpc = [m for m in pieces if "rpc-server -H 192.168.100.2" in m.content]
    assert [m.section for m in rpc] == ["llama.cpp RPC — Works (2)"]


def test_pieces_of_one_note_are_not_near_duplicates_for_sharing_their_heading_path(seeded):
    from homelab_hub.memory.stats import memory_stats

    assert memory_stats(seeded, "local").near_duplicate_clusters == []
