"""inference_bench: prompt and generation tokens/s from the servers' own counters."""

from __future__ import annotations

import pytest

from homelab_hub.errors import InvalidInput, NotFound
from tests.fakes import llama_server as fake_llama
from tests.fakes import ollama as fake_ollama


def test_ollama_speeds_come_from_prompt_eval_and_eval_counters(ollama, make_engine):
    # Loaded at the context a request without num_ctx gets on the Spark: no reload.
    ollama.load("qwen2.5vl:7b", context=131_072)
    result = make_engine({"spark": ollama}).bench("spark", "qwen2.5vl:7b", prompt_tokens=256, max_tokens=64)
    assert result.kind == "ollama"
    assert result.prompt_tokens == 256
    assert result.generated_tokens == 64
    # The fake reports the seed's RPC row: 318 tok/s prefill, 53 tok/s generation.
    assert result.prompt_tokens_per_s == pytest.approx(fake_ollama.PROMPT_TOKENS_PER_S, rel=1e-3)
    assert result.generation_tokens_per_s == pytest.approx(fake_ollama.GENERATION_TOKENS_PER_S, rel=1e-3)
    assert result.note == ""
    pp, tg = [r.json() for r in ollama.requests if r.path == "/api/generate"]
    # Measured apart, like llama-bench: pp generates one token, tg starts from a one-word prompt.
    assert (pp["options"]["num_predict"], tg["options"]["num_predict"]) == (1, 64)
    assert len(pp["prompt"].split()) == 256 and len(tg["prompt"].split()) == 1
    assert "num_ctx" not in pp["options"]  # a different num_ctx would reload the model


def test_a_bench_that_loads_the_model_says_so(ollama, make_engine):
    result = make_engine({"spark": ollama}).bench("spark", "llama3.1:8b")
    assert result.load_s == pytest.approx(2.4)
    assert result.note == "the call loaded the model first (2.4 s, not in the speeds)"


def test_each_bench_prompt_is_fresh_so_the_prompt_cache_cannot_skip_prefill(ollama, make_engine):
    engine = make_engine({"spark": ollama})
    engine.bench("spark", "llama3.1:8b", prompt_tokens=32, max_tokens=1)
    engine.bench("spark", "llama3.1:8b", prompt_tokens=32, max_tokens=1)
    prompts = [r.json()["prompt"] for r in ollama.requests if r.path == "/api/generate"]
    assert len(prompts) == 4  # pp and tg per bench
    assert len(set(prompts)) == 4


def test_llama_server_speeds_come_from_its_timings(llama_server, make_engine):
    result = make_engine(llama_cpp={"studio": llama_server}).bench(
        "studio", None, prompt_tokens=128, max_tokens=32
    )
    assert result.kind == "llama_cpp"
    assert (result.prompt_tokens, result.generated_tokens) == (128, 32)
    assert result.prompt_tokens_per_s == pytest.approx(fake_llama.PROMPT_TOKENS_PER_S, rel=1e-3)
    assert result.generation_tokens_per_s == pytest.approx(fake_llama.GENERATION_TOKENS_PER_S, rel=1e-3)
    assert result.model == fake_llama.MODEL_PATH
    pp, tg = [r.json() for r in llama_server.requests if r.path == "/completion"]
    assert pp["cache_prompt"] is False and tg["cache_prompt"] is False
    assert (pp["n_predict"], tg["n_predict"]) == (1, 32)


@pytest.mark.parametrize(
    ("prompt_tokens", "max_tokens", "message"),
    [
        (0, 16, "prompt_tokens must be 1..32768, got 0"),
        (64, 0, "max_tokens must be 1..4096, got 0"),
        (64, 99999, "got 99999"),
    ],
)
def test_out_of_range_sizes_are_refused(ollama, make_engine, prompt_tokens, max_tokens, message):
    with pytest.raises(InvalidInput, match=message):
        make_engine({"spark": ollama}).bench("spark", "llama3.1:8b", prompt_tokens, max_tokens)


def test_an_ollama_bench_needs_a_model(ollama, make_engine):
    with pytest.raises(InvalidInput, match="name the model"):
        make_engine({"spark": ollama}).bench("spark", None)


def test_an_unknown_model_or_host_is_not_found(ollama, make_engine):
    engine = make_engine({"spark": ollama})
    with pytest.raises(NotFound, match="'phi9' is not installed"):
        engine.bench("spark", "phi9")
    with pytest.raises(NotFound, match="unknown inference host 'nas'"):
        engine.bench("nas", "llama3.1:8b")


def test_an_ollama_bench_larger_than_the_loaded_context_is_refused_before_anything_runs(ollama, make_engine):
    ollama.load("llama3.1:8b", context=2048)
    with pytest.raises(InvalidInput) as refused:
        make_engine({"spark": ollama}).bench("spark", "llama3.1:8b", prompt_tokens=2000, max_tokens=128)
    assert refused.value.message == (
        "prompt_tokens 2,000 + max_tokens 128 = 2,128 exceeds the 2,048-token context of llama3.1:8b as loaded "
        "on spark; lower them to fit, e.g. prompt_tokens=1920 with max_tokens=128"
    )
    assert not any(r.path == "/api/generate" for r in ollama.requests)


def test_a_bench_of_a_model_not_loaded_is_checked_against_its_modelfile_context(ollama, make_engine):
    engine = make_engine({"spark": ollama})
    engine.set_context("qwen2.5vl:7b", 1024, name="vision-1k")
    with pytest.raises(InvalidInput, match="1,024-token context of vision-1k \\(its Modelfile's num_ctx\\)"):
        engine.bench("spark", "vision-1k", prompt_tokens=1000, max_tokens=64)


def test_a_llama_server_bench_must_fit_one_slot_of_a_split_context(llama_server, make_engine):
    llama_server.reset(ctx_size=4096, parallel=4)  # -np 4: 1,024 tokens per slot
    engine = make_engine(llama_cpp={"studio": llama_server})
    with pytest.raises(InvalidInput, match="1,064 exceeds the 1,024-token context of each slot of studio"):
        engine.bench("studio", None, prompt_tokens=1000, max_tokens=64)
    assert not any(r.path == "/completion" for r in llama_server.requests)


def test_a_llama_server_bench_may_use_the_whole_unified_pool(llama_server, make_engine):
    llama_server.reset(ctx_size=4096)  # no -np: 4 slots over one 4,096-token pool
    result = make_engine(llama_cpp={"studio": llama_server}).bench(
        "studio", None, prompt_tokens=1000, max_tokens=64
    )
    assert result.context == 4096
    assert result.prompt_tokens == 1000


def test_a_router_bench_names_its_model_and_routes_by_it(llama_server, make_engine):
    llama_server.reset(router={"qwen2.5-7b": {"ctx_size": 8192}, "gemma-3-4b": {"status": "unloaded"}})
    engine = make_engine(llama_cpp={"studio": llama_server})
    with pytest.raises(InvalidInput, match="'studio' is a llama-server router: name the model"):
        engine.bench("studio", None, prompt_tokens=16, max_tokens=4)
    result = engine.bench("studio", "qwen2.5-7b", prompt_tokens=16, max_tokens=4)
    assert result.model == "qwen2.5-7b"
    sent = next(r for r in llama_server.requests if r.path == "/completion").json()
    assert sent["model"] == "qwen2.5-7b"
