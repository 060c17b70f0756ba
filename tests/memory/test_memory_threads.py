"""Threads and time: neighbours lend context within one agent's thread only, and time windows
filter before the top-k is cut (each test on SQLite and MariaDB)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from homelab_hub.errors import InvalidInput
from homelab_hub.memory.service import Embedded
from homelab_hub.memory.validation import clean_time


def ids(hits):  # type: ignore[no-untyped-def]
    return [h.memory.id for h in hits]


def test_an_answer_that_needs_the_turn_before_it_is_found_through_its_thread(memory):
    memory.save(
        "ops",
        "maria: can you move Grafana off 3000? Gitea wants it",
        thread="s1",
        occurred_at="2026-03-02T20:00Z",
    )
    answer = memory.save(
        "ops", "claude: done, it's on 3005 now", thread="s1", occurred_at="2026-03-02T20:03Z"
    ).id
    for n in range(30):
        memory.save("ops", f"claude: checked host {n}, nothing unusual, disk {40 + n}% used", thread="s2")
    query = "which port is grafana on now"
    hits = memory.search("ops", query, min_score=-1, limit=40)
    memory.fusion = replace(memory.fusion, semantic_context=0.0, keyword_context=0.0)
    alone = memory.search("ops", query, min_score=-1, limit=40)
    score = {h.memory.id: h.rank_score for h in hits}
    without = {h.memory.id: h.rank_score for h in alone}
    assert ids(hits).index(answer) < 3
    assert score[answer] > without[answer]


def test_neighbours_in_another_agents_thread_of_the_same_name_lend_nothing(memory):
    mine = memory.save(
        "alice", "claude: done, it's on 3005 now", thread="incident-7", occurred_at="2026-03-02T20:03Z"
    ).id
    before = memory.search("alice", "which port is grafana on now", min_score=-1)
    memory.save(
        "bob", "maria: can you move Grafana off 3000?", thread="incident-7", occurred_at="2026-03-02T20:02Z"
    )
    after = memory.search("alice", "which port is grafana on now", min_score=-1)
    assert memory.threads.neighbours(mine) == []
    assert [(h.memory.id, h.rank_score) for h in after] == [(h.memory.id, h.rank_score) for h in before]
    assert {h.memory.agent for h in after} == {"alice"}


def test_neighbours_in_another_thread_of_the_same_agent_lend_nothing(memory):
    mine = memory.save(
        "ops", "claude: done, it's on 3005 now", thread="a", occurred_at="2026-03-02T20:03Z"
    ).id
    memory.save("ops", "maria: move Grafana off 3000", thread="b", occurred_at="2026-03-02T20:02Z")
    assert memory.threads.neighbours(mine) == []


def test_after_and_before_filter_before_the_top_k_is_cut(memory, embedder):
    # 599 January memories match the query well; the one May memory ranks at the very end
    # overall, far beyond any top-k. Vectors of 20 phrasings are reused to keep this quick.
    query = "frigate restarted after an update"
    phrasings = [
        f"Frigate on nas-01 restarted after update {n}; all cameras recording again." for n in range(20)
    ]
    vectors = embedder.embed(phrasings)
    index = memory.wait_ready()
    for n in range(599):
        content = f"{phrasings[n % 20]} (run {n})"
        when = clean_time(f"2026-01-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}Z", "t")
        new = memory.store.insert("ops", content, "", [], "", "", vectors[n % 20], occurred_at=when)
        assert new is not None
        memory.cache(memory.store.get(new[0], "ops"), Embedded(vectors[n % 20], []), index)
    target = memory.save(
        "ops", "Weekly note: the pantry bulb was changed; Frigate unaffected.", occurred_at="2026-05-10"
    ).id
    rows = memory.store.get_many(list(range(1, 601)), "ops", with_embedding=True)
    qvec = embedder.embed_query(query)
    order = sorted(rows, key=lambda i: -float(rows[i].embedding @ qvec))
    assert order.index(target) + 1 >= 500
    assert target not in ids(memory.search("ops", query, limit=50, min_score=-1))
    windowed = memory.search("ops", query, after="2026-05-01", before="2026-06-01", min_score=-1)
    assert ids(windowed) == [target]
    assert ids(memory.search("ops", query, after="2026-05-11", min_score=-1)) == []


def test_the_window_uses_occurred_at_and_falls_back_to_the_saved_time(memory):
    old = memory.save("ops", "The UPS battery was swapped.", occurred_at="2025-11-03").id
    new = memory.save("ops", "The UPS self-test passed.").id
    assert ids(memory.search("ops", "ups battery", before="2026-01-01", min_score=-1)) == [old]
    assert ids(memory.search("ops", "ups battery", after="2026-01-01", min_score=-1)) == [new]
    listed = memory.page("ops", after="2026-01-01")[0]
    assert [m.id for m in listed] == [new]
    assert [m.id for m in memory.page("ops", before="2026-01-01")[0]] == [old]


def test_a_bad_time_is_refused_with_the_value_and_an_example(memory):
    with pytest.raises(
        InvalidInput, match=r"after 'last tuesday' is not a time; use ISO 8601, e.g. 2026-04-22T17:21Z"
    ):
        memory.search("ops", "ups", after="last tuesday")
    with pytest.raises(InvalidInput, match="occurred_at"):
        memory.save("ops", "x happened", occurred_at="soon")


def test_the_same_words_in_another_thread_are_another_memory(memory):
    a = memory.save("ops", "claude: ok, restarting it now", thread="s1").id
    b = memory.save("ops", "claude: ok, restarting it now", thread="s2").id
    again = memory.save("ops", "claude: ok, restarting it now", thread="s1")
    assert a != b
    assert again.id == a
    assert again.created is False


def test_list_filters_by_thread(memory):
    a = memory.save("ops", "first turn", thread="s1").id
    memory.save("ops", "other thread", thread="s2")
    assert [m.id for m in memory.page("ops", thread="s1")[0]] == [a]
