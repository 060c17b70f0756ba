"""llama-server hosts inside the ollama_ps answer: slots, unified KV, fill, metrics, router mode."""

from __future__ import annotations

from homelab_hub.inference.llama_server import parse_metrics, slot_tokens


def _report(engine, host="studio"):
    return next(r for r in engine.snapshot().llama_cpp if r.host == host)


def _model(engine, host="studio"):
    return _report(engine, host).models[0]


def test_without_np_four_slots_share_one_pool_and_the_pool_is_not_multiplied(llama_server, make_engine):
    llama_server.reset(ctx_size=4096, slot_tokens=[1000, 200])  # the seed's `-c 4096`, no -np
    m = _model(make_engine(llama_cpp={"studio": llama_server}))
    assert m.total_slots == 4
    assert m.ctx_per_slot == 4096
    assert m.kv_unified is True
    assert m.kv_unified_from == "inferred"
    assert m.context_total == 4096
    assert m.kv_used_tokens == 1200
    assert m.kv_fill == round(1200 / 4096, 4)
    assert m.kv_fill_from == "slots"


def test_with_np_each_slot_gets_its_share_and_the_cells_are_slots_times_n_ctx(llama_server, make_engine):
    llama_server.reset(ctx_size=8192, parallel=2, busy_slots=1, slot_tokens=[900])
    m = _model(make_engine(llama_cpp={"studio": llama_server}))
    assert (m.ctx_per_slot, m.total_slots, m.context_total, m.slots_busy) == (4096, 2, 8192, 1)
    assert m.kv_unified is False
    assert m.kv_used_tokens == 900  # the busy slot 0 holds 900, slot 1 was never used
    assert m.metrics.prompt_tokens_per_s == 318.0
    assert m.metrics.generation_tokens_per_s == 53.0
    assert m.metrics.requests_processing == 1
    assert m.findings == []


def test_kv_unified_can_be_set_when_an_explicit_np_4_would_be_taken_for_the_default(
    llama_server, make_engine
):
    llama_server.reset(ctx_size=16384, parallel=4)  # -np 4 without -kvu: 4,096 per slot
    engine = make_engine(llama_cpp={"studio": {"url": llama_server.url, "kv_unified": "off"}})
    m = _model(engine)
    assert m.kv_unified is False
    assert m.kv_unified_from == "config"
    assert m.context_total == 16384


def test_builds_from_before_unified_slots_are_never_taken_as_unified(llama_server, make_engine):
    llama_server.reset(ctx_size=16384, parallel=4, build="b5812-b0f0dd3e5")
    m = _model(make_engine(llama_cpp={"studio": llama_server}))
    assert m.kv_unified is False
    assert m.context_total == 16384


def test_metrics_without_the_removed_gauges_leave_the_fill_to_slots_or_unknown(llama_server, make_engine):
    llama_server.reset(slots=False)
    m = _model(make_engine(llama_cpp={"studio": llama_server}))
    assert m.metrics.kv_cache_usage_ratio is None
    assert m.kv_fill == "unknown"
    assert m.kv_fill_from == "unknown"
    assert m.kv_used_tokens is None


def test_an_old_build_with_the_usage_gauge_gives_the_fill_from_metrics(llama_server, make_engine):
    llama_server.reset(ctx_size=4096, parallel=1, legacy_metrics=True, slot_tokens=[3990])
    m = _model(make_engine(llama_cpp={"studio": llama_server}))
    assert m.kv_fill_from == "metrics"
    assert m.kv_fill == 0.974  # the gauge as the server printed it, to 3 places
    assert [f.kind for f in m.findings] == ["kv_cache_full"]
    assert "lower --parallel" in m.findings[0].fix


def test_a_full_unified_pool_advises_the_pool_not_per_slot_shares(llama_server, make_engine):
    llama_server.reset(ctx_size=4096, slot_tokens=[2000, 2000])
    m = _model(make_engine(llama_cpp={"studio": llama_server}))
    finding = next(f for f in m.findings if f.kind == "kv_cache_full")
    assert finding.message.startswith("The shared KV pool of 4,096 tokens of ")
    assert (
        finding.fix
        == "Raise -c (the pool every slot shares) if memory allows, or lower -np so fewer requests compete."
    )


def test_deferred_requests_advice_depends_on_unified_kv(llama_server, make_engine):
    llama_server.reset(busy_slots=4, deferred=3)
    unified = _model(make_engine(llama_cpp={"studio": llama_server})).findings
    assert [f.kind for f in unified] == ["requests_deferred"]
    assert "do not cut each one's context" in unified[0].fix
    llama_server.reset(ctx_size=8192, parallel=2, busy_slots=2, deferred=3)
    split = _model(make_engine(llama_cpp={"studio": llama_server})).findings
    assert split[0].fix == (
        "Raise --parallel and -c together (each slot gets -c / --parallel tokens), or spread the load."
    )


def test_disabled_slots_and_metrics_become_notes_naming_the_flag(llama_server, make_engine):
    llama_server.reset(slots=False, metrics=False)
    r = _report(make_engine(llama_cpp={"studio": llama_server}))
    assert r.state == "ok"
    assert r.models[0].slots_busy is None
    assert r.models[0].metrics is None
    assert r.models[0].ctx_per_slot == 4096
    assert "/metrics is off (HTTP 501): start llama-server with --metrics" in r.notes
    assert "/slots is off (HTTP 501): it is on unless llama-server runs with --no-slots" in r.notes


def test_a_router_lists_its_models_and_reads_each_loaded_one_with_model_query(llama_server, make_engine):
    llama_server.reset(
        router={
            "qwen2.5-7b": {"ctx_size": 8192, "slot_tokens": [100]},
            "gemma-3-4b": {"ctx_size": 16384, "parallel": 2},
            "llama-3.2-1b": {"status": "unloaded"},
        }
    )
    r = _report(make_engine(llama_cpp={"studio": llama_server}))
    assert r.mode == "router"
    by_model = {m.model: m for m in r.models}
    assert by_model["qwen2.5-7b"].context_total == 8192
    assert by_model["qwen2.5-7b"].kv_used_tokens == 100
    assert by_model["gemma-3-4b"].context_total == 16384
    assert by_model["gemma-3-4b"].ctx_per_slot == 8192
    assert by_model["llama-3.2-1b"].status == "unloaded"
    assert by_model["llama-3.2-1b"].ctx_per_slot is None
    asked = [r.query.get("model") for r in llama_server.requests if r.path == "/metrics"]
    assert sorted(asked) == [["gemma-3-4b"], ["qwen2.5-7b"]]
    assert all(r.query.get("autoload") == ["false"] for r in llama_server.requests if r.query.get("model"))


def test_a_server_still_loading_its_model_is_reported_as_loading(llama_server, make_engine):
    llama_server.reset(loading=True)
    r = _report(make_engine(llama_cpp={"studio": llama_server}))
    assert r.state == "loading"
    assert r.models == []


def test_ollama_and_llama_server_hosts_share_one_answer_with_a_broken_one_listed(
    ollama, llama_server, garbage, make_engine
):
    ollama.load("llama3.1:8b")
    snapshot = make_engine({"spark": ollama}, {"studio": llama_server, "closet": garbage}).snapshot()
    assert [r.host for r in snapshot.ollama] == ["spark"]
    assert {r.host: r.state for r in snapshot.llama_cpp} == {"studio": "ok", "closet": "bad_response"}


def test_prometheus_text_with_labels_and_comments_is_parsed():
    text = '# HELP x\nllamacpp:prompt_tokens_seconds{model="q"} 12.5\nllamacpp:requests_deferred 2\nother 1\n'
    m = parse_metrics(text)
    assert m.prompt_tokens_per_s == 12.5
    assert m.requests_deferred == 2
    assert m.generation_tokens_per_s is None


def test_slot_token_counts_follow_the_builds_that_report_them():
    assert slot_tokens({"id": 0, "n_ctx": 4096, "is_processing": False}) == 0  # never used
    assert slot_tokens({"id_task": 3, "n_prompt_tokens": 90, "next_token": [{"n_decoded": 10}]}) == 100
    assert slot_tokens({"id_task": 3, "n_prompt_tokens": 90, "next_token": {"n_decoded": 5}}) == 95
    assert slot_tokens({"id_task": 3, "params": {}, "next_token": {"n_decoded": 5}}) is None  # says nothing
