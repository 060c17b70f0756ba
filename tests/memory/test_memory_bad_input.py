"""Bad input gets a clear error and loses nothing; odd but valid text is stored literally."""

from __future__ import annotations

import json

OLLAMA = "DGX Spark Ollama runs on port 11434, WebSocket proxy on 8765, adapter on 8091."


def count(memory_hub) -> int:  # type: ignore[no-untyped-def]
    return memory_hub.ok("memory_stats", {})["total"]


def test_empty_or_whitespace_content_is_refused(memory_hub):
    for content in ["", "   ", "\n\t  \n"]:
        err = memory_hub.error("memory_save", {"content": content}, 400)
        assert "empty" in err["message"]
    assert count(memory_hub) == 0


def test_content_over_the_limit_is_refused_with_the_limit(memory_hub):
    memory_hub.ok("memory_save", {"content": OLLAMA})
    err = memory_hub.error("memory_save", {"content": "x" * 65537}, 413)
    assert "65537" in err["message"] and "65536" in err["message"]
    assert count(memory_hub) == 1


WRONG = [
    ("memory_save", {"content": 42}),
    ("memory_save", {"content": ["a"]}),
    ("memory_save", {"content": "ok", "tags": "not-a-list"}),
    ("memory_search", {"query": "x", "limit": "many"}),
    ("memory_search", {"query": "x", "limit": 0}),
    ("memory_search", {"query": "x", "min_score": 7}),
    ("memory_update", {"id": "seven", "content": "x"}),
    ("memory_delete", {}),
    ("memory_save", {"content": "ok", "colour": "blue"}),
]


def test_wrong_types_and_unknown_fields_get_a_400_naming_the_field(memory_hub):
    for tool, args in WRONG:
        err = memory_hub.error(tool, args, 400)
        assert err["code"] == "invalid_input"
        assert any(field in err["message"] for field in (*args, "id")), err["message"]
    assert count(memory_hub) == 0


def test_unknown_ids_are_not_found(memory_hub):
    memory_hub.error("memory_update", {"id": 999999, "content": "x"}, 404)
    memory_hub.error("memory_delete", {"id": 999999}, 404)


def test_an_update_with_nothing_to_change_is_refused(memory_hub):
    memory_id = memory_hub.ok("memory_save", {"content": OLLAMA})["id"]
    assert "nothing to update" in memory_hub.error("memory_update", {"id": memory_id}, 400)["message"]


def test_two_hundred_tags_are_refused_with_the_limit(memory_hub):
    err = memory_hub.error("memory_save", {"content": OLLAMA, "tags": [f"t{i}" for i in range(200)]}, 400)
    assert "200 tags" in err["message"] and "32" in err["message"]
    assert count(memory_hub) == 0


def test_empty_query_is_refused(memory_hub):
    assert "empty" in memory_hub.error("memory_search", {"query": "  "}, 400)["message"]


def test_sql_metacharacters_and_emoji_are_stored_and_found_literally(memory_hub):
    nasty = 'Robert\'); DROP TABLE memories;-- 100% of _x_ \\ "quoted" ? %s {} 🔥🏠 router ünïcode'
    memory_id = memory_hub.ok(
        "memory_save", {"content": nasty, "category": "it's; --", "tags": ["%", "_", "🔥", "a'b"]}
    )["id"]
    hits = memory_hub.ok("memory_search", {"query": "DROP TABLE memories", "min_score": -1})["results"]
    assert hits[0]["id"] == memory_id and hits[0]["content"] == nasty
    assert hits[0]["tags"] == ["%", "_", "🔥", "a'b"] and hits[0]["category"] == "it's; --"
    assert memory_hub.ok("memory_search", {"query": "🔥🏠", "min_score": -1})["results"][0]["id"] == memory_id
    assert [m["id"] for m in memory_hub.ok("memory_list", {"tag": "%"})["memories"]] == [memory_id]
    assert memory_hub.ok("memory_list", {"tag": "x%"})["memories"] == []
    assert memory_hub.ok("memory_list", {"category": "it's; --"})["memories"][0]["content"] == nasty
    # The same text again is the same memory, not a copy.
    assert memory_hub.ok("memory_save", {"content": nasty})["id"] == memory_id


SURROGATE = "\ud800"
LABELS = [
    ("memory_save", {"content": "ok", "category": f"cat{SURROGATE}"}, "category"),
    ("memory_save", {"content": "ok", "source": f"notes{SURROGATE}.md"}, "source"),
    ("memory_save", {"content": "ok", "tags": [f"t{SURROGATE}"]}, "a tag"),
    ("memory_save", {"content": "ok", "thread": f"s{SURROGATE}"}, "thread"),
    ("memory_save", {"content": f"port 11434{SURROGATE}"}, "content"),
    ("memory_search", {"query": f"ollama{SURROGATE}"}, "query"),
]


def raw_post(memory_hub, tool: str, args: dict):  # type: ignore[no-untyped-def]
    # json.dumps escapes the surrogate as \\ud800, as a buggy or hostile client would send it.
    import httpx

    return httpx.post(
        f"{memory_hub.hub.url}/api/tools/{tool}",
        content=json.dumps(args),
        headers={"Authorization": f"Bearer {memory_hub.alice}", "Content-Type": "application/json"},
        timeout=30,
    )


def test_lone_surrogates_in_any_string_field_are_refused(memory_hub):
    for tool, args, _field in LABELS:
        res = raw_post(memory_hub, tool, args)
        assert res.status_code == 400, res.text
        assert res.json()["error"]["code"] == "invalid_input"
        assert "Traceback" not in res.text
    assert count(memory_hub) == 0


def test_the_engine_refuses_lone_surrogates_on_its_own(memory):
    import pytest

    from homelab_hub.errors import InvalidInput

    for field in ("category", "source", "thread"):
        with pytest.raises(InvalidInput, match=rf"^{field} is not valid Unicode: \\ud800 at character 3"):
            memory.save("ops", "fine text", **{field: f"abc{SURROGATE}"})
    with pytest.raises(InvalidInput, match=r"^query is not valid Unicode"):
        memory.search("ops", f"abc{SURROGATE}")
    with pytest.raises(InvalidInput, match=r"^content is not valid Unicode"):
        memory.save("ops", f"abc{SURROGATE}")


CONTROL = [
    (
        {"category": "ops\x00"},
        "category 'ops\\x00' contains the control character '\\x00'; use a plain one-line name",
    ),
    (
        {"source": "a\x00b.md"},
        "source 'a\\x00b.md' contains the control character '\\x00'; use a plain one-line name",
    ),
    (
        {"tags": ["x\x1b[31m"]},
        "a tag 'x\\x1b[31m' contains the control character '\\x1b'; use a plain one-line name",
    ),
    (
        {"thread": "s1\nINJECTED"},
        "thread 's1\\nINJECTED' contains the control character '\\n'; use a plain one-line name",
    ),
]


def test_control_characters_in_labels_are_refused_with_a_clear_error(memory_hub):
    for extra, message in CONTROL:
        err = memory_hub.error("memory_save", {"content": OLLAMA, **extra}, 400)
        assert err["message"] == message
    assert count(memory_hub) == 0


def test_every_bound_the_engine_enforces_is_in_the_published_schema(memory_hub):
    listed = memory_hub.hub.get("/api/tools", token=memory_hub.alice).json()
    tools = {t["name"]: t["input_schema"] for t in (listed["tools"] if isinstance(listed, dict) else listed)}
    search = tools["memory_search"]["properties"]
    assert search["query"]["maxLength"] == 4096
    assert (search["limit"]["minimum"], search["limit"]["maximum"]) == (1, 50)
    assert (
        tools["memory_list"]["properties"]["limit"]["minimum"],
        tools["memory_list"]["properties"]["limit"]["maximum"],
    ) == (1, 200)
    assert tools["memory_save"]["properties"]["thread"]["maxLength"] == 191
    assert tools["memory_list"]["properties"]["thread"]["maxLength"] == 191
    err = memory_hub.error("memory_search", {"query": "x" * 4097}, 400)
    assert "query" in err["message"]
