"""llama-server hosts inside the ollama_ps answer: health, context, slots, metrics."""

from __future__ import annotations

from homelab_hub.inference.llama_server import parse_metrics


def _report(engine, host="studio"):
    return next(r for r in engine.snapshot().llama_cpp if r.host == host)


def test_context_slots_and_metrics_are_read(llama_server, make_engine):
    llama_server.reset(ctx_size=8192, parallel=2, busy_slots=1)
    r = _report(make_engine(llama_cpp={"studio": llama_server}))
    assert r.state == "ok"
    assert r.model.endswith("Qwen2.5-7B-Instruct-Q4_K_M.gguf")
    assert (r.ctx_per_slot, r.total_slots, r.context_total, r.slots_busy) == (4096, 2, 8192, 1)
    assert r.metrics.prompt_tokens_per_s == 318.0
    assert r.metrics.generation_tokens_per_s == 53.0
    assert r.metrics.requests_processing == 1
    assert r.notes == [] and r.findings == []


def test_disabled_slots_and_metrics_become_notes_naming_the_flag(llama_server, make_engine):
    llama_server.reset(slots=False, metrics=False)
    r = _report(make_engine(llama_cpp={"studio": llama_server}))
    assert r.state == "ok"
    assert r.slots_busy is None and r.metrics is None
    assert r.ctx_per_slot == 4096
    assert any("--metrics" in n for n in r.notes)
    assert any("--no-slots" in n for n in r.notes)


def test_a_server_still_loading_its_model_is_reported_as_loading(llama_server, make_engine):
    llama_server.reset(loading=True)
    r = _report(make_engine(llama_cpp={"studio": llama_server}))
    assert r.state == "loading"
    assert r.ctx_per_slot is None


def test_deferred_requests_are_a_finding(llama_server, make_engine):
    llama_server.reset(busy_slots=1, deferred=3)
    r = _report(make_engine(llama_cpp={"studio": llama_server}))
    assert [f.kind for f in r.findings] == ["requests_deferred"]
    assert "--parallel" in r.findings[0].fix


def test_ollama_and_llama_server_hosts_share_one_answer_with_a_broken_one_listed(
    ollama, llama_server, garbage, make_engine
):
    ollama.load("llama3.1:8b")
    snapshot = make_engine({"spark": ollama}, {"studio": llama_server, "closet": garbage}).snapshot()
    assert [r.host for r in snapshot.ollama] == ["spark"]
    states = {r.host: r.state for r in snapshot.llama_cpp}
    assert states == {"studio": "ok", "closet": "bad_response"}


def test_prometheus_text_with_labels_and_comments_is_parsed():
    text = '# HELP x\nllamacpp:prompt_tokens_seconds{model="q"} 12.5\nllamacpp:requests_deferred 2\nother 1\n'
    m = parse_metrics(text)
    assert m.prompt_tokens_per_s == 12.5 and m.requests_deferred == 2 and m.generation_tokens_per_s is None
