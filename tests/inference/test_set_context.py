"""ollama_set_context: the seed's derived-model fix through /api/create."""

from __future__ import annotations

import pytest

from homelab_hub.errors import InvalidInput, NotFound


def test_creates_the_derived_model_with_num_ctx_and_reports_its_kv_cache(ollama, make_engine):
    derived = make_engine({"spark": ollama}).set_context("qwen2.5vl:7b", 4096)
    assert derived.name == "qwen2.5vl:7b-4k"
    assert derived.status == "success"
    assert derived.kv_cache_gb == round(224 * 1024**2 / 1e9, 2)  # 4,096 × 56 KiB
    assert derived.kv_cache_at_trained_gb == round(7 * 1024**3 / 1e9, 2)
    assert "qwen2.5vl:7b-4k" in derived.next_step
    create = next(r for r in ollama.requests if r.path == "/api/create")
    assert create.json() == {
        "model": "qwen2.5vl:7b-4k",
        "from": "qwen2.5vl:7b",
        "parameters": {"num_ctx": 4096},
        "stream": False,
    }
    assert ollama.parameters["qwen2.5vl:7b-4k"] == {"num_ctx": 4096}


def test_a_chosen_name_is_used(ollama, make_engine):
    derived = make_engine({"spark": ollama}).set_context("llama3.1:8b", 6000, name="llama-agents")
    assert derived.name == "llama-agents"
    assert "llama-agents:latest" in ollama.installed


def test_the_host_is_found_by_the_model_when_several_are_configured(ollama, ollama2, make_engine):
    del ollama.installed["qwen2.5:32b"]
    derived = make_engine({"spark": ollama, "tower": ollama2}).set_context("qwen2.5:32b", 8192)
    assert derived.host == "tower"
    assert derived.name == "qwen2.5:32b-8k"


def test_a_model_on_several_hosts_needs_a_host(ollama, ollama2, make_engine):
    with pytest.raises(InvalidInput, match="spark, tower.*pass host"):
        make_engine({"spark": ollama, "tower": ollama2}).set_context("llama3.1:8b", 4096)


@pytest.mark.parametrize("num_ctx", [0, -4096, 255])
def test_num_ctx_below_256_is_refused_before_anything_is_created(ollama, make_engine, num_ctx):
    with pytest.raises(
        InvalidInput, match=f"num_ctx must be 256..16,777,216 tokens, such as 4096, got {num_ctx}"
    ):
        make_engine({"spark": ollama}).set_context("qwen2.5vl:7b", num_ctx)
    assert not any(r.path == "/api/create" for r in ollama.requests)


def test_num_ctx_above_the_trained_context_is_refused_with_the_limit(ollama, make_engine):
    with pytest.raises(InvalidInput, match="40,000 is above qwen2.5:32b's trained context of 32,768"):
        make_engine({"spark": ollama}).set_context("qwen2.5:32b", 40_000)
    assert not any(r.path == "/api/create" for r in ollama.requests)


def test_an_unknown_model_is_not_found(ollama, make_engine):
    with pytest.raises(NotFound, match="'mistral:7b' is not installed on Ollama host 'spark'"):
        make_engine({"spark": ollama}).set_context("mistral:7b", 4096)


def test_an_unknown_host_is_not_found(ollama, make_engine):
    with pytest.raises(NotFound, match="unknown inference host 'nas'"):
        make_engine({"spark": ollama}).set_context("qwen2.5vl:7b", 4096, host="nas")


def test_a_llama_server_host_is_refused_for_contexts(ollama, llama_server, make_engine):
    with pytest.raises(InvalidInput, match="llama.cpp server"):
        make_engine({"spark": ollama}, {"studio": llama_server}).set_context(
            "qwen2.5vl:7b", 4096, host="studio"
        )


def test_a_name_equal_to_the_original_is_refused(ollama, make_engine):
    with pytest.raises(InvalidInput, match="must differ"):
        make_engine({"spark": ollama}).set_context("llama3.1:8b", 4096, name="llama3.1:8b")


def test_servers_before_0_5_5_get_a_modelfile_text_instead_of_from_and_parameters(ollama, make_engine):
    ollama.configure(version="0.5.4")
    derived = make_engine({"spark": ollama}).set_context("llama3.1:8b", 8192)
    create = next(r for r in ollama.requests if r.path == "/api/create")
    assert create.json() == {
        "name": "llama3.1:8b-8k",
        "modelfile": "FROM llama3.1:8b\nPARAMETER num_ctx 8192\n",
        "stream": False,
    }
    assert derived.status == "success"
    assert ollama.parameters["llama3.1:8b-8k"] == {"num_ctx": 8192}


def test_the_next_step_names_both_kinds_of_clients(ollama, make_engine):
    derived = make_engine({"spark": ollama}).set_context("qwen2.5vl:7b", 4096)
    assert derived.next_step.startswith(
        "Use 'qwen2.5vl:7b-4k' instead of 'qwen2.5vl:7b' in every client (those on /v1 and on /api alike)"
    )
