"""ollama_ps: loaded models with KV arithmetic and findings; broken hosts reported, not fatal."""

from __future__ import annotations

import pytest

from homelab_hub.errors import NotFound
from tests.fakes.ollama import kv_bytes


def _model(snapshot, host, name):
    report = next(r for r in snapshot.ollama if r.host == host)
    return next(m for m in report.models if m.name == name)


def _kinds(model):
    return sorted(f.kind for f in model.findings)


def test_a_model_loaded_at_131072_tokens_gets_its_kv_cache_spelled_out(ollama, make_engine):
    ollama.load("qwen2.5vl:7b", context=131_072, keep_alive_s=300)
    m = _model(make_engine({"spark": ollama}).snapshot(), "spark", "qwen2.5vl:7b")
    assert m.context_length == 131_072
    assert m.architecture.model_dump() == {
        "family": "qwen25vl",
        "layers": 28,
        "kv_heads": 4,
        "head_dim": 128,
        "trained_context": 131_072,
    }
    kv = m.kv_cache
    assert kv.per_token_kib == 56.0  # 2 × 28 × 4 × 128 × 2 bytes
    assert kv.at_loaded_gb == round(7 * 1024**3 / 1e9, 2)  # 7 GiB = 7.52 GB
    assert kv.sensible_context == 4096
    assert kv.at_sensible_gb == round(224 * 1024**2 / 1e9, 2)
    assert m.weights_gb == 5.97
    assert m.cpu_percent == 0.0
    assert _kinds(m) == ["context_oversized", "kv_exceeds_weights"]


def test_the_oversized_context_finding_names_the_fix_and_the_derived_model(ollama, make_engine):
    ollama.load("qwen2.5vl:7b", context=131_072)
    m = _model(make_engine({"spark": ollama}).snapshot(), "spark", "qwen2.5vl:7b")
    finding = next(f for f in m.findings if f.kind == "context_oversized")
    assert "131,072-token context, 32x the 4,096" in finding.message
    assert "ollama_set_context(model='qwen2.5vl:7b', num_ctx=4096) creates 'qwen2.5vl:7b-4k'" in finding.fix
    assert "OLLAMA_CONTEXT_LENGTH=4096" in finding.fix
    assert "OLLAMA_NUM_CTX" not in finding.fix


def test_a_right_sized_model_has_no_findings(ollama, make_engine):
    ollama.load("llama3.1:8b", context=4096, keep_alive_s=300)
    m = _model(make_engine({"spark": ollama}).snapshot(), "spark", "llama3.1:8b")
    assert m.findings == []
    assert m.kv_cache.per_token_kib == 128.0
    assert m.expires_in[0].isdigit()
    assert m.expires_in.endswith("s")


def test_a_model_partly_on_cpu_is_flagged_with_its_share(ollama, make_engine):
    ollama.load("qwen2.5:32b", context=8192, cpu_share=0.24)
    m = _model(make_engine({"tower": ollama}).snapshot(), "tower", "qwen2.5:32b")
    assert m.cpu_percent == pytest.approx(24.0, abs=0.1)
    finding = next(f for f in m.findings if f.kind == "cpu_offload")
    assert "24%" in finding.message
    assert "smaller quantisation" in finding.fix
    assert "context_oversized" not in _kinds(m)  # 8,192 is only 2× the workload


def test_a_model_that_never_unloads_is_flagged(ollama, make_engine):
    ollama.load("llama3.1:8b", context=4096, keep_alive_s=None)
    m = _model(make_engine({"spark": ollama}).snapshot(), "spark", "llama3.1:8b")
    assert m.expires_in == "never"
    finding = next(f for f in m.findings if f.kind == "never_unloads")
    assert "forever" in finding.message
    assert "OLLAMA_KEEP_ALIVE" in finding.fix


def test_the_host_workload_context_and_parallel_slots_shape_the_estimate(ollama, make_engine):
    ollama.load("llama3.1:8b", context=8192, parallel=4)
    engine = make_engine({"spark": {"url": ollama.url, "workload_ctx": 1024, "num_parallel": 4}})
    m = _model(engine.snapshot(), "spark", "llama3.1:8b")
    # 8,192 tokens × 128 KiB × 4 slots = 4 GiB; 1,024 × 128 KiB × 4 = 512 MiB.
    assert m.kv_cache.at_loaded_gb == round(kv_bytes("llama3.1:8b", 8192, 4) / 1e9, 2) == 4.29
    assert m.kv_cache.at_sensible_gb == round(512 * 1024**2 / 1e9, 2)
    assert "context_oversized" in _kinds(m)


def test_a_host_that_times_out_and_one_that_answers_garbage_are_reported_with_the_others_listed(
    ollama, slow, garbage, make_engine
):
    ollama.load("qwen2.5vl:7b", context=131_072)
    snapshot = make_engine({"spark": ollama, "attic": slow, "closet": garbage}).snapshot()
    by_host = {r.host: r for r in snapshot.ollama}
    assert by_host["spark"].state == "ok"
    assert len(by_host["spark"].models) == 1
    assert by_host["attic"].state == "timeout"
    assert "did not answer within 1 s" in by_host["attic"].error
    assert by_host["closet"].state == "bad_response"
    assert "malformed JSON" in by_host["closet"].error
    assert "attic timeout" in snapshot.summary
    assert "closet bad_response" in snapshot.summary


def test_a_host_with_nothing_listening_is_down(make_engine):
    from tests.support import free_port

    snapshot = make_engine({"spark": f"http://127.0.0.1:{free_port()}"}).snapshot()
    assert snapshot.ollama[0].state == "down"
    assert "unreachable" in snapshot.ollama[0].error


def test_one_named_host_is_asked_alone(ollama, ollama2, make_engine):
    engine = make_engine({"spark": ollama, "tower": ollama2})
    snapshot = engine.snapshot("tower")
    assert [r.host for r in snapshot.ollama] == ["tower"]
    assert not any(r.path == "/api/ps" for r in ollama.requests)


def test_an_unknown_host_is_not_found_with_the_known_ones_listed(ollama, make_engine):
    with pytest.raises(NotFound, match=r"'nas'.*spark"):
        make_engine({"spark": ollama}).snapshot("nas")


def test_no_hosts_configured_says_how_to_add_one(make_engine):
    assert "[inference.ollama.NAME]" in make_engine().snapshot().summary


def test_a_loaded_model_whose_show_fails_is_still_listed_with_the_reason(ollama, make_engine):
    ollama.load("llama3.1:8b", context=4096)
    del ollama.installed["llama3.1:8b"]  # removed from disk while loaded: /api/show now 404s
    m = _model(make_engine({"spark": ollama}).snapshot(), "spark", "llama3.1:8b")
    assert m.kv_cache is None
    assert _kinds(m) == ["architecture_unknown"]


def test_memory_far_beyond_the_estimate_points_at_parallel_slots(ollama, make_engine):
    # The seed's picture: Ollama ran 4 slots at 131,072 tokens while the hub assumed one.
    ollama.load("qwen2.5vl:7b", context=131_072, parallel=4)
    m = _model(make_engine({"spark": ollama}).snapshot(), "spark", "qwen2.5vl:7b")
    assert m.beyond_weights_gb == pytest.approx((m.size_gb - m.weights_gb), abs=0.02)
    finding = next(f for f in m.findings if f.kind == "memory_unexplained")
    assert "OLLAMA_NUM_PARALLEL" in finding.fix
    assert "log_journald_unit" in finding.fix
    assert m.memory.source == "estimate"
    # Told about the four slots, the estimate matches and the finding goes away.
    engine = make_engine({"spark": {"url": ollama.url, "num_parallel": 4}})
    m = _model(engine.snapshot(), "spark", "qwen2.5vl:7b")
    assert m.kv_cache.at_loaded_gb == round(28 * 1024**3 / 1e9, 2)
    assert "memory_unexplained" not in _kinds(m)
