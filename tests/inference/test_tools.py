"""The three inference tools, through the handlers and over the real MCP and REST surfaces."""

from __future__ import annotations

import pytest

from homelab_hub.config import load_config
from homelab_hub.errors import Forbidden
from homelab_hub.server.components import all_tools
from homelab_hub.server.lifecycle import build_services, close_services
from homelab_hub.tools.inference import (
    BenchInput,
    OllamaPsInput,
    SetContextInput,
    inference_bench,
    ollama_ps,
    ollama_set_context,
)
from homelab_hub.tools.registry import Identity, ToolContext
from tests.inference.support import hub_overrides, inference_config
from tests.support import wait_until


@pytest.fixture
def services(tmp_path, ollama, llama_server):
    config = load_config(
        None,
        storage={"url": f"sqlite:///{tmp_path}/hub.db"},
        **hub_overrides(inference_config({"spark": ollama}, {"studio": llama_server})),
    )
    services = build_services(config, start_workers=False)
    yield services
    close_services(services)


@pytest.fixture
def hub_with_hosts(hub_factory, ollama, llama_server, garbage):
    hub = hub_factory(
        hub_overrides(inference_config({"spark": ollama, "closet": garbage}, {"studio": llama_server}))
    )
    return hub, hub.create_token("agent-a"), hub.create_token("boss", admin=True)


def test_ollama_ps_handler_answers_through_services(services, ollama):
    ollama.load("qwen2.5vl:7b", context=131_072)
    out = ollama_ps(ToolContext(services, Identity("agent-a")), OllamaPsInput())
    assert out.ollama[0].models[0].kv_cache.loaded_context == 131_072
    assert out.llama_cpp[0].host == "studio"
    assert out.llama_cpp[0].models[0].context_total == 4096


def test_set_context_needs_an_admin(services, ollama):
    args = SetContextInput(model="qwen2.5vl:7b", num_ctx=4096)
    spec = next(t for t in all_tools() if t.name == "ollama_set_context")
    with pytest.raises(Forbidden):
        spec.check_permission(Identity("agent-a"))
    out = ollama_set_context(ToolContext(services, Identity("boss", "admin")), args)
    assert out.name == "qwen2.5vl:7b-4k"


def test_bench_handler_answers_through_services(services):
    out = inference_bench(ToolContext(services, Identity("agent-a")), BenchInput(host="studio", max_tokens=8))
    assert out.generated_tokens == 8


def test_health_reports_a_host_that_answers_garbage_as_degraded(hub_with_hosts):
    hub, token, _ = hub_with_hosts
    hub.services.inference.probe()
    # Health answers from a report rebuilt four times a second: wait for the probe to reach it.
    # Details are for callers with a credential; without one, health says states only.
    wait_until(
        lambda: hub.get("/api/health").json()["components"]["inference"] == {"state": "degraded"},
        timeout=10,
        what="the probe's outcome in /api/health",
    )
    inference = hub.get("/api/health", token=token).json()["components"]["inference"]
    assert inference["state"] == "degraded"
    assert inference["data"] == {"hosts": 3, "down": ["closet"]}
    assert inference["detail"].startswith("closet: closet (http://127.0.0.1:")
    assert "answered malformed JSON" in inference["detail"]


@pytest.mark.parametrize("transport", ["http", "sse"])
def test_ollama_ps_over_mcp_matches_rest(hub_with_hosts, ollama, transport):
    hub, token, _ = hub_with_hosts
    ollama.load("qwen2.5vl:7b", context=131_072, keep_alive_s=None)
    rest = hub.rest("ollama_ps", {}, token=token)
    assert rest.status_code == 200, rest.text
    result = hub.mcp_call("ollama_ps", {}, token=token, transport=transport)
    assert not result.is_error, result.content[0].text
    answer = result.structured_content
    for body in (answer, rest.json()):
        model = (
            body["ollama"][0]["models"][0]
            if body["ollama"][0]["host"] == "spark"
            else body["ollama"][1]["models"][0]
        )
        assert sorted(f["kind"] for f in model["findings"]) == [
            "context_oversized",
            "kv_exceeds_weights",
            "never_unloads",
        ]
        assert {h["host"]: h["state"] for h in body["ollama"]} == {"spark": "ok", "closet": "bad_response"}
        assert body["llama_cpp"][0]["models"][0]["ctx_per_slot"] == 4096


def test_set_context_over_mcp_and_rest_is_admin_only(hub_with_hosts, ollama):
    hub, token, admin = hub_with_hosts
    args = {"model": "qwen2.5vl:7b", "num_ctx": 4096, "host": "spark"}
    refused = hub.rest("ollama_set_context", args, token=token)
    assert refused.status_code == 403
    assert hub.mcp_call("ollama_set_context", args, token=token).is_error
    assert not any(r.path == "/api/create" for r in ollama.requests)
    made = hub.rest("ollama_set_context", args, token=admin)
    assert made.status_code == 200, made.text
    assert made.json()["name"] == "qwen2.5vl:7b-4k"
    result = hub.mcp_call("ollama_set_context", {**args, "name": "vision-4k"}, token=admin)
    assert not result.is_error, result.content[0].text
    assert result.structured_content["name"] == "vision-4k"


SET_CONTEXT_BAD_INPUT = [
    (
        {"model": "qwen2.5vl:7b", "num_ctx": 0},
        400,
        "argument 'num_ctx': Input should be greater than or equal to 256",
    ),
    ({"model": "qwen2.5vl:7b", "num_ctx": 262_144, "host": "spark"}, 400, "trained context of 131,072"),
    ({"model": "nope:1b", "num_ctx": 4096, "host": "spark"}, 404, "not installed"),
    ({"model": "qwen2.5vl:7b", "num_ctx": 4096, "host": "nas"}, 404, "unknown inference host"),
    ({"model": "qwen2.5vl:7b", "num_ctx": "big"}, 400, "num_ctx"),
]


def test_set_context_bad_input_gets_a_clear_error_over_both_surfaces_and_creates_nothing(
    hub_with_hosts, ollama
):
    hub, _, admin = hub_with_hosts
    for args, status, words in SET_CONTEXT_BAD_INPUT:
        rest = hub.rest("ollama_set_context", args, token=admin)
        assert rest.status_code == status, (args, rest.text)
        assert words in rest.json()["error"]["message"]
        assert "Traceback" not in rest.text
        result = hub.mcp_call("ollama_set_context", args, token=admin)
        assert result.is_error
        assert words in result.content[0].text, (args, result.content[0].text)
    assert not any(r.path == "/api/create" for r in ollama.requests)


def test_inference_bench_over_mcp_and_rest(hub_with_hosts, ollama):
    hub, token, _ = hub_with_hosts
    rest = hub.rest(
        "inference_bench", {"host": "spark", "model": "llama3.1:8b", "max_tokens": 16}, token=token
    )
    assert rest.status_code == 200, rest.text
    assert rest.json()["generation_tokens_per_s"] == pytest.approx(53.0, rel=1e-3)
    result = hub.mcp_call("inference_bench", {"host": "studio", "prompt_tokens": 64}, token=token)
    assert not result.is_error, result.content[0].text
    assert result.structured_content["prompt_tokens_per_s"] == pytest.approx(318.0, rel=1e-3)
    bad = hub.rest("inference_bench", {"host": "nas"}, token=token)
    assert bad.status_code == 404
    assert (
        bad.json()["error"]["message"] == "unknown inference host 'nas'; known hosts: closet, spark, studio"
    )
    too_big = hub.rest(
        "inference_bench", {"host": "studio", "prompt_tokens": 4000, "max_tokens": 128}, token=token
    )
    assert too_big.status_code == 400
    assert too_big.json()["error"]["message"].startswith(
        "prompt_tokens 4,000 + max_tokens 128 = 4,128 exceeds the 4,096-token context of each slot of studio"
    )


def test_every_bound_the_engine_enforces_is_in_the_published_schema(hub_with_hosts):
    hub, token, _ = hub_with_hosts
    tools = {t.name: t.input_schema for t in hub.mcp(lambda s: s.list_tools(), token=token).tools}
    bench = tools["inference_bench"]["properties"]
    assert (bench["prompt_tokens"]["minimum"], bench["prompt_tokens"]["maximum"]) == (1, 32768)
    assert (bench["max_tokens"]["minimum"], bench["max_tokens"]["maximum"]) == (1, 4096)
    assert bench["host"]["maxLength"] == 64
    assert bench["model"]["maxLength"] == 200
    ctx = tools["ollama_set_context"]["properties"]
    assert (ctx["num_ctx"]["minimum"], ctx["num_ctx"]["maximum"]) == (256, 16_777_216)
    assert ctx["name"]["maxLength"] == 200
    assert tools["ollama_ps"]["properties"]["host"]["maxLength"] == 64


def test_inference_tool_descriptions_stay_short():
    for spec in all_tools():
        if spec.name in {"ollama_ps", "ollama_set_context", "inference_bench"}:
            assert len(spec.description) <= 140, spec.name
            for name, field in spec.input_model.model_fields.items():
                assert len(field.description or "") <= 60, (spec.name, name)
