"""inference_bench: prompt and generation tokens/s from the servers' own counters."""

from __future__ import annotations

import pytest

from homelab_hub.errors import InvalidInput, NotFound
from tests.fakes import llama_server as fake_llama
from tests.fakes import ollama as fake_ollama


def test_ollama_speeds_come_from_prompt_eval_and_eval_counters(ollama, make_engine):
    ollama.load("qwen2.5vl:7b")
    result = make_engine({"spark": ollama}).bench("spark", "qwen2.5vl:7b", prompt_tokens=256, max_tokens=64)
    assert result.kind == "ollama"
    assert result.prompt_tokens == 256
    assert result.generated_tokens == 64
    # The fake reports the seed's RPC row: 318 tok/s prefill, 53 tok/s generation.
    assert result.prompt_tokens_per_s == pytest.approx(fake_ollama.PROMPT_TOKENS_PER_S, rel=1e-3)
    assert result.generation_tokens_per_s == pytest.approx(fake_ollama.GENERATION_TOKENS_PER_S, rel=1e-3)
    assert result.note == ""
    sent = next(r for r in ollama.requests if r.path == "/api/generate").json()
    assert sent["options"]["num_predict"] == 64
    assert "num_ctx" not in sent["options"]  # a different num_ctx would reload the model


def test_a_bench_that_loads_the_model_says_so(ollama, make_engine):
    result = make_engine({"spark": ollama}).bench("spark", "llama3.1:8b")
    assert result.load_s == pytest.approx(2.4)
    assert "loaded the model first" in result.note


def test_each_bench_prompt_is_fresh_so_the_prompt_cache_cannot_skip_prefill(ollama, make_engine):
    engine = make_engine({"spark": ollama})
    engine.bench("spark", "llama3.1:8b", prompt_tokens=32, max_tokens=1)
    engine.bench("spark", "llama3.1:8b", prompt_tokens=32, max_tokens=1)
    prompts = [r.json()["prompt"] for r in ollama.requests if r.path == "/api/generate"]
    assert len(prompts) == 2 and prompts[0] != prompts[1]


def test_llama_server_speeds_come_from_its_timings(llama_server, make_engine):
    result = make_engine(llama_cpp={"studio": llama_server}).bench(
        "studio", None, prompt_tokens=128, max_tokens=32
    )
    assert result.kind == "llama_cpp"
    assert (result.prompt_tokens, result.generated_tokens) == (128, 32)
    assert result.prompt_tokens_per_s == pytest.approx(fake_llama.PROMPT_TOKENS_PER_S, rel=1e-3)
    assert result.generation_tokens_per_s == pytest.approx(fake_llama.GENERATION_TOKENS_PER_S, rel=1e-3)
    assert result.model == fake_llama.MODEL_PATH
    sent = next(r for r in llama_server.requests if r.path == "/completion").json()
    assert sent["cache_prompt"] is False and sent["n_predict"] == 32


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
