"""Every text the hub prints names only variables the Ollama version it talked to has, and the
cause of a model's context follows that version's precedence.

The variable table below is taken from Ollama's envconfig/config.go history, kept apart from
the code under test so a wrong threshold there fails here.
"""

from __future__ import annotations

import re

import httpx
import pytest

from homelab_hub.inference import advice
from homelab_hub.inference.versions import OllamaVersion

VARIABLE_SINCE = {
    "OLLAMA_KEEP_ALIVE": (0, 1, 23),
    "OLLAMA_NUM_PARALLEL": (0, 1, 33),
    "OLLAMA_MAX_LOADED_MODELS": (0, 1, 33),
    "OLLAMA_FLASH_ATTENTION": (0, 1, 39),
    "OLLAMA_KV_CACHE_TYPE": (0, 5, 0),
    "OLLAMA_CONTEXT_LENGTH": (0, 5, 13),
}
VERSIONS = ["0.3.14", "0.5.4", "0.5.13", "0.6.8", "0.9.6", "0.12.3", "0.15.4", "0.15.5", "0.17.0"]
_VARIABLE = re.compile(r"\bOLLAMA_[A-Z_]+")


def _number(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def _texts(snapshot) -> list[str]:
    out = []
    for host in snapshot.ollama:
        for m in host.models:
            out += [f.message for f in m.findings] + [f.fix for f in m.findings]
            if m.context_cause:
                out.append(m.context_cause.explanation)
    return out


def _request(ollama, model="qwen2.5vl:7b", **options):
    httpx.post(
        f"{ollama.url}/api/generate",
        json={"model": model, "prompt": "hi", "stream": False, "options": {"num_predict": 1, **options}},
        timeout=10,
    ).raise_for_status()


@pytest.mark.parametrize("version", VERSIONS)
def test_every_finding_names_only_variables_that_exist_on_the_version_it_talked_to(
    version, ollama, make_engine
):
    ollama.configure(version=version, total_vram_gib=119.7)
    # Every finding at once: an oversized, never-unloading vision model with a large graph, a
    # model partly on the CPU with four slots, measured (log) and estimated (no log).
    ollama.load("qwen2.5vl:7b", context=131_072, keep_alive_s=None, size=70_800_000_000)
    ollama.load("qwen2.5:32b", context=32_768, cpu_share=0.3, parallel=4, size=60_000_000_000)
    measured = make_engine({"spark": {"url": ollama.url, "log_file": ollama.log_path}}).snapshot()
    estimated = make_engine({"spark": ollama}).snapshot()
    kinds = {f.kind for s in (measured, estimated) for m in s.ollama[0].models for f in m.findings}
    expected = {
        "context_oversized",
        "kv_exceeds_weights",
        "compute_graph_large",
        "cpu_offload",
        "never_unloads",
    }
    if _number(version) >= (0, 10, 0):  # before, /api/ps has no context to estimate from without the log
        expected.add("memory_unexplained")
    assert kinds >= expected
    named = {v for text in _texts(measured) + _texts(estimated) for v in _VARIABLE.findall(text)}
    too_new = sorted(v for v in named if _number(version) < VARIABLE_SINCE.get(v, (99, 0, 0)))
    assert too_new == []
    assert "OLLAMA_NUM_CTX" not in measured.model_dump_json() + estimated.model_dump_json()


@pytest.mark.parametrize(
    ("version", "vram_gib", "context", "source", "words"),
    [
        ("0.5.4", 119.7, 2048, "default", "Ollama 0.5.4's default context of 2,048 tokens"),
        ("0.6.8", 119.7, 4096, "default", "Ollama 0.6.8's default context of 4,096 tokens"),
        ("0.15.4", 119.7, 4096, "default", "Ollama 0.15.4's default context of 4,096 tokens"),
        ("0.15.5", 16.0, 4096, "vram_default", "16.0 GiB of VRAM: 4,096 tokens"),
        ("0.15.5", 32.0, 32768, "vram_default", "32.0 GiB of VRAM: 32,768 tokens"),
        ("0.17.0", 119.7, 131072, "vram_default", "262,144 tokens (4,096 below 24 GiB"),
    ],
)
def test_a_request_without_num_ctx_gets_the_versions_default_and_the_cause_says_which(
    version, vram_gib, context, source, words, ollama, make_engine
):
    ollama.configure(version=version, total_vram_gib=vram_gib)
    _request(ollama)
    m = (
        make_engine({"spark": {"url": ollama.url, "log_file": ollama.log_path}})
        .snapshot()
        .ollama[0]
        .models[0]
    )
    assert m.context_length == context
    assert m.context_cause.source == source
    assert words in m.context_cause.explanation


def test_the_environment_the_server_logged_explains_the_context(ollama, make_engine):
    ollama.configure(version="0.17.0", env={"OLLAMA_CONTEXT_LENGTH": "8192"})
    _request(ollama)
    m = (
        make_engine({"spark": {"url": ollama.url, "log_file": ollama.log_path}})
        .snapshot()
        .ollama[0]
        .models[0]
    )
    assert m.context_length == 8192
    assert m.context_cause.source == "env"
    assert m.context_cause.explanation.startswith("OLLAMA_CONTEXT_LENGTH=8192 in the server's environment")


def test_a_modelfile_num_ctx_and_a_request_num_ctx_are_told_apart(ollama, make_engine):
    engine = make_engine({"spark": {"url": ollama.url, "log_file": ollama.log_path}})
    engine.set_context("qwen2.5vl:7b", 4096)
    _request(ollama, "qwen2.5vl:7b-4k")
    assert engine.snapshot().ollama[0].models[0].context_cause.source == "modelfile"
    _request(ollama, "qwen2.5vl:7b-4k", num_ctx=16384)
    cause = engine.snapshot().ollama[0].models[0].context_cause
    assert cause.source == "request"
    assert cause.explanation == (
        "A client's request asked for num_ctx 16,384 (options.num_ctx of /api/chat or /api/generate); without it "
        "qwen2.5vl:7b-4k would load at 4,096 (its Modelfile's num_ctx 4,096)."
    )


def test_unexplained_memory_names_how_the_version_picks_its_slots(ollama, make_engine):
    ollama.configure(version="0.12.3")
    ollama.load("qwen2.5vl:7b", context=131_072, parallel=4)
    m = make_engine({"spark": ollama}, workload_ctx=131_072).snapshot().ollama[0].models[0]
    finding = next(f for f in m.findings if f.kind == "memory_unexplained")
    assert finding.fix.endswith(
        "Ollama 0.12.3 uses one slot per model unless OLLAMA_NUM_PARALLEL is set; each extra slot holds a full KV "
        "cache, so lower OLLAMA_NUM_PARALLEL if requests rarely overlap."
    )


@pytest.mark.parametrize(
    ("version", "words"),
    [
        ("0.1.32", "Ollama 0.1.32 serves one request per model at a time."),
        ("0.3.14", "Ollama 0.3.14 picks up to 4 slots per model by itself when memory allows"),
        ("0.6.8", "Ollama 0.6.8 picks up to 2 slots per model by itself when memory allows"),
        ("0.10.0", "Ollama 0.10.0 uses one slot per model unless OLLAMA_NUM_PARALLEL is set"),
    ],
)
def test_the_slot_advice_follows_the_versions_parallel_default(version, words):
    assert words in advice.parallel_slots(OllamaVersion.parse(version))


@pytest.mark.parametrize(
    ("version", "with_log", "ending"),
    [
        ("0.3.14", True, "Ollama 0.3.14 cannot quantise the KV cache; Ollama 0.5 and later can."),
        ("0.12.3", False, "takes effect only with flash attention, so set OLLAMA_FLASH_ATTENTION=1 too."),
        ("0.17.0", False, "which Ollama 0.17.0 turns on by itself for models that support it."),
        ("0.17.0", True, "takes effect only with flash attention, which this load runs with."),
    ],
)
def test_the_kv_quantisation_fix_follows_the_version(version, with_log, ending, ollama, make_engine):
    ollama.configure(version=version)
    ollama.load("qwen2.5vl:7b", context=131_072)
    host = {"url": ollama.url, "log_file": ollama.log_path} if with_log else {"url": ollama.url}
    m = make_engine({"spark": host}).snapshot().ollama[0].models[0]
    assert next(f for f in m.findings if f.kind == "kv_exceeds_weights").fix.endswith(ending)


def test_before_0_5_13_there_is_no_host_wide_context_to_advise(ollama, make_engine):
    ollama.configure(version="0.5.7")
    ollama.load("qwen2.5vl:7b", context=131_072)
    host = {"url": ollama.url, "log_file": ollama.log_path}  # /api/ps has no context before 0.10
    m = make_engine({"spark": host}).snapshot().ollama[0].models[0]
    fix = next(f for f in m.findings if f.kind == "context_oversized").fix
    assert (
        "Ollama 0.5.7 has no host-wide context setting (one arrived in 0.5.13): use derived models, or upgrade."
        in fix
    )
