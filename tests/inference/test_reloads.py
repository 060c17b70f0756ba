"""Clients mixing the OpenAI-compatible /v1 API (no num_ctx) with /api/chat calls that send
num_ctx make Ollama reload the model back and forth; the hub sees it in the log or by probing."""

from __future__ import annotations

import httpx


def _v1(ollama):
    body = {"model": "qwen2.5vl:7b", "messages": [{"role": "user", "content": "gate?"}]}
    httpx.post(f"{ollama.url}/v1/chat/completions", json=body, timeout=10).raise_for_status()


def _api_chat(ollama, num_ctx=4096):
    body = {
        "model": "qwen2.5vl:7b",
        "messages": [{"role": "user", "content": "gate?"}],
        "stream": False,
        "options": {"num_ctx": num_ctx},
    }
    httpx.post(f"{ollama.url}/api/chat", json=body, timeout=10).raise_for_status()


def _reloads(snapshot):
    return [f for m in snapshot.ollama[0].models for f in m.findings if f.kind == "context_reloads"]


def test_the_stand_in_reloads_when_the_context_a_request_gets_changes(ollama):
    _v1(ollama)
    _v1(ollama)
    _api_chat(ollama)
    _api_chat(ollama)
    _v1(ollama)
    assert ollama.loads == [("qwen2.5vl:7b", 131_072), ("qwen2.5vl:7b", 4096), ("qwen2.5vl:7b", 131_072)]


def test_reloads_back_and_forth_in_the_server_log_are_a_finding_with_the_fix(ollama, make_engine):
    for _ in range(3):
        _v1(ollama)
        _api_chat(ollama)
    engine = make_engine({"spark": {"url": ollama.url, "log_file": ollama.log_path}})
    [finding] = _reloads(engine.snapshot())
    assert finding.message == (
        "qwen2.5vl:7b was loaded 6 times in the last 1 h at contexts of 4,096, 131,072 tokens (server log): its "
        "clients disagree on num_ctx, and every switch reloads it."
    )
    assert "clients on the OpenAI-compatible /v1 API cannot send num_ctx" in finding.fix
    assert "use that name from both the /v1 and the /api clients" in finding.fix
    assert "OLLAMA_CONTEXT_LENGTH=4096" in finding.fix


def test_reloads_the_probe_sees_are_a_finding_when_no_log_is_readable(ollama, make_engine):
    engine = make_engine({"spark": ollama})
    for call in (_v1, _api_chat, _v1):
        call(ollama)
        snapshot = engine.snapshot()
    [finding] = _reloads(snapshot)
    assert finding.message.startswith(
        "qwen2.5vl:7b was loaded 3 times in the last 1 h at contexts of 4,096, 131,072"
    )
    assert "(seen by the hub's probe)" in finding.message


def test_one_change_of_context_is_not_flagged(ollama, make_engine):
    engine = make_engine({"spark": {"url": ollama.url, "log_file": ollama.log_path}})
    _v1(ollama)
    assert _reloads(engine.snapshot()) == []
    _api_chat(ollama)
    assert _reloads(engine.snapshot()) == []
