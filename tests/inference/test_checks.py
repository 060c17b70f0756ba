"""Dependency checks the watchdog reuses: (ok, detail), never an exception."""

from __future__ import annotations

from homelab_hub.inference.checks import inference_host_check, ollama_model_check
from tests.support import free_port


def test_an_installed_model_passes_and_a_missing_one_lists_what_is_there(ollama):
    ok, detail = ollama_model_check(ollama.url, "llama3.1:8b")
    assert ok, detail
    ok, detail = ollama_model_check(ollama.url, "mistral")
    assert not ok
    assert "mistral not installed" in detail
    assert "qwen2.5vl:7b" in detail


def test_require_loaded_looks_at_what_is_in_memory(ollama):
    ok, detail = ollama_model_check(ollama.url, "llama3.1:8b", require_loaded=True)
    assert not ok
    assert "not loaded" in detail
    ollama.load("llama3.1:8b", cpu_share=0.5)
    ok, detail = ollama_model_check(ollama.url, "llama3.1:8b", require_loaded=True)
    assert ok
    assert "50% GPU" in detail


def test_a_name_without_a_tag_matches_latest(ollama):
    ollama.installed["nomic-embed-text:latest"] = dict(ollama.installed["llama3.1:8b"])
    assert ollama_model_check(ollama.url, "nomic-embed-text")[0]


def test_a_dead_slow_or_garbled_host_fails_the_checks_without_raising(slow, garbage):
    dead = f"http://127.0.0.1:{free_port()}"
    ok, detail = ollama_model_check(dead, "llama3.1:8b", timeout=1.0)
    assert not ok
    assert "unreachable" in detail
    ok, detail = ollama_model_check(slow.url, "llama3.1:8b", timeout=0.3)
    assert not ok
    assert "did not answer within 0.3 s" in detail
    ok, detail = inference_host_check(garbage.url, timeout=1.0)
    assert not ok
    assert "malformed JSON" in detail


def test_host_checks_know_ollama_and_llama_server(ollama, llama_server):
    assert inference_host_check(ollama.url) == (True, f"Ollama 0.17.0 answers at {ollama.url}")
    assert inference_host_check(llama_server.url, kind="llama_cpp")[0]
    llama_server.reset(loading=True)
    ok, detail = inference_host_check(llama_server.url, kind="llama_cpp")
    assert not ok
    assert "Loading model" in detail


def test_the_probe_worker_beats_with_the_hosts_that_are_down(ollama, garbage, make_engine):
    import threading
    import time

    from homelab_hub.inference.worker import InferenceProbeWorker
    from homelab_hub.workers import WorkerContext

    engine = make_engine({"spark": ollama, "closet": garbage})
    ctx = WorkerContext(stop=threading.Event())
    thread = threading.Thread(target=InferenceProbeWorker(engine).run, args=(ctx,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while "hosts_down" not in ctx.snapshot()[1] and time.monotonic() < deadline:
        ctx.wait(0.05)
    ctx.stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert ctx.snapshot()[1] == {"hosts": 2, "hosts_down": ["closet"]}
    assert engine.last_probe["spark"][0] is True
