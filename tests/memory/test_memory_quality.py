"""Search quality on two labelled sets: semantic, keyword and hybrid, per query class.

The operator set (quality_set.json, made by make_quality_set.py): 330 one-fact memories
(ports, hosts, fixes, decisions, cameras, config paths, logs) and 77 queries, 37 of them
identifiers and 40 plain questions. The conversational set (conversations.json, made by
make_conversations.py): eight dated multi-session lab conversations, 157-217 turns each,
saved one memory per turn with each session as a thread, and 484 questions of four types
(single fact, multi-hop across sessions, temporal, identifier) naming their evidence turns.

Both sets are split: the fusion was tuned on the dev halves (benchmarks/memory_fusion_tune.py)
and the figures that count are the held-out test halves. Both sets are embedded once per
test session.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from homelab_hub.memory.config import MemoryConfig
from homelab_hub.memory.keyword import tokenize
from homelab_hub.memory.service import MemoryService
from homelab_hub.server.components import all_migrations
from homelab_hub.store import Database, migrate
from homelab_hub.tools import memory as tools
from tests.memory import support
from tests.memory.support import tool_context

# Hybrid recall@5 on the conversational test half with the code this work started from
# (commit 473755f, turns saved as plain memories): measured once with tests/memory/support.py.
BASELINE_HYBRID_R5 = 0.418


@pytest.fixture(scope="session")
def unthreaded_tables(embedder, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The conversational set saved as plain memories (no thread, no occurred_at), as a client
    that ignores threads would: thread context off, only the two halves and their fusion."""
    tmp = tmp_path_factory.mktemp("quality-unthreaded")
    db = Database.from_url(f"sqlite:///{tmp / 'quality.db'}")
    migrate(db, all_migrations())
    service = MemoryService(db, MemoryConfig(), tmp / "index", embedder)
    service.start_now()
    sets = list(support.load_conversation_set(service, threads=False).values())
    search = support.service_search(service)
    tables = {split: support.recall_table(sets, search, split) for split in ("dev", "test")}
    db.close()
    return tables


def test_recall_tables_are_printed_per_set_split_class_and_mode(eval_sets, capsys):
    with capsys.disabled():
        for (name, split), table in eval_sets["tables"].items():
            print(
                "\n"
                + support.format_table(f"{name} set, {split or 'whole'} {'half' if split else 'set'}", table)
            )
    assert len(eval_sets["tables"]) == 6


def test_recall_without_threads_is_printed(unthreaded_tables, capsys):
    # Reported, not asserted: saved without threads, the conversational set's hybrid falls
    # below BM25 on some classes (the README says to save conversations with a thread).
    with capsys.disabled():
        for split, table in unthreaded_tables.items():
            print("\n" + support.format_table(f"conversation set without threads, {split} half", table))
    assert set(unthreaded_tables) == {"dev", "test"}


@pytest.mark.parametrize("split", ["dev", "test", None])
@pytest.mark.parametrize("name", ["operator", "conversation"])
def test_hybrid_is_never_below_the_better_half_on_any_query_class(eval_sets, name, split):
    # Every class of both sets, on the tuned dev half, the held-out test half and the whole set.
    table = eval_sets["tables"][(name, split)]
    losses = {
        kind: (
            round(table["hybrid"][kind][5], 3),
            round(max(table["semantic"][kind][5], table["keyword"][kind][5]), 3),
        )
        for kind in table["hybrid"]
        if table["hybrid"][kind][5] + 1e-9 < max(table["semantic"][kind][5], table["keyword"][kind][5])
    }
    assert losses == {}


def test_hybrid_beats_the_old_hybrid_by_eight_points_on_held_out_conversations(eval_sets):
    recall5 = eval_sets["tables"][("conversation", "test")]["hybrid"]["all"][5]
    assert recall5 >= BASELINE_HYBRID_R5 + 0.08


def test_the_gain_holds_at_the_default_relevance_floor(eval_sets, capsys):
    # Agents call memory_search without min_score: the floor (cosine 0.4) must not drop a
    # chat reply that its thread made relevant.
    search = support.service_search(eval_sets["service"], min_score=None)
    table = support.recall_table(eval_sets["sets"]["conversation"], search, "test", modes=("hybrid",))
    with capsys.disabled():
        print("\n" + support.format_table("conversation set, test half, default min_score", table))
    assert table["hybrid"]["all"][5] >= BASELINE_HYBRID_R5 + 0.08


def test_operator_set_hybrid_recall_at_5_stays_at_least_095(eval_sets):
    assert eval_sets["tables"][("operator", None)]["hybrid"]["all"][5] >= 0.95
    assert eval_sets["tables"][("operator", "test")]["hybrid"]["all"][5] >= 0.95


def test_identifier_queries_still_find_their_memory_first_on_the_operator_set(eval_sets):
    for split in ("dev", "test"):
        table = eval_sets["tables"][("operator", split)]
        assert table["hybrid"]["identifier"][1] >= table["semantic"]["identifier"][1] + 0.3
        assert table["hybrid"]["identifier"][5] >= 0.95


def test_a_typical_five_result_answer_is_at_most_300_tokens(eval_sets, capsys):
    service = eval_sets["service"]
    ctx = tool_context(service, "ops")
    answer = tools.memory_search(ctx, tools.MemorySearchInput(query="which port does grafana listen on"))
    text = answer.model_dump_json()
    with capsys.disabled():
        print(
            f"\n  5-result memory_search answer, {len(text)} characters (~{len(text) // 4} tokens):\n  {text}"
        )
    assert len(answer.results) == 5
    assert len(text) / 4 <= 300
    first = json.loads(text)["results"][0]
    assert set(first) <= {"id", "content", "score", "keyword_match", "category", "tags", "at"}


def test_the_conversation_set_is_big_enough_and_split(eval_sets):
    data = json.loads(Path(support.CONVERSATION_SET).read_text(encoding="utf-8"))
    turns = [sum(len(s["turns"]) for s in c["sessions"]) for c in data["conversations"]]
    kinds = {q["type"] for q in data["questions"]}
    assert len(turns) >= 8
    assert min(turns) >= 150
    assert len(data["questions"]) >= 400
    assert kinds == {"single", "multi", "temporal", "identifier"}
    assert {c["split"] for c in data["conversations"]} == {"dev", "test"}


def _sample_queries(eval_sets) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(agent, query): every operator query and the first 20 of each conversation."""
    chosen = [(s.agent, q.text) for s in eval_sets["sets"]["operator"] for q in s.queries]
    chosen += [(s.agent, q.text) for s in eval_sets["sets"]["conversation"] for q in s.queries[:20]]
    return chosen


def test_adding_words_to_a_query_never_empties_an_answer_that_had_hits(eval_sets):
    # At the default floor: "exo" found three memories while "exo cluster tensor parallel"
    # found none. Each word of a query alone is the shortest query it extends.
    service = eval_sets["service"]
    found: dict[tuple[str, str], bool] = {}
    emptied = []
    for agent, query in _sample_queries(eval_sets):
        words = dict.fromkeys(w for w in re.findall(r"[\w.:/@-]+", query) if tokenize(w))
        for word in words:
            if (agent, word) not in found:
                found[(agent, word)] = bool(service.search(agent, word, limit=1))
        had = [w for w in words if found[(agent, w)]]
        if had and not service.search(agent, query, limit=5):
            emptied.append((query, had))
    assert emptied == []


def test_the_scores_an_answer_shows_follow_its_order(eval_sets):
    service = eval_sets["service"]
    unordered = []
    for agent, query in _sample_queries(eval_sets):
        answer = tools.memory_search(tool_context(service, agent), tools.MemorySearchInput(query=query))
        scores = [r.score for r in answer.results]
        if scores != sorted(scores, reverse=True):
            unordered.append((query, scores))
    assert unordered == []
