"""Measured memory from the Ollama server log: a file, journalctl or docker logs; estimates
clearly labelled when the log cannot be read."""

from __future__ import annotations

import pytest

from homelab_hub.inference.ollama_log import parse_log, parse_size
from tests.inference.support import path_with, stub_command

SEED_SIZE = 70_800_000_000  # what `ollama ps` showed the seed: 70.8 GB


def _model(engine, name="qwen2.5vl:7b"):
    report = engine.snapshot().ollama[0]
    return report, next(m for m in report.models if m.name == name)


@pytest.fixture
def seed_case(ollama):
    """The seed's incident on today's Ollama: qwen2.5vl:7b on a DGX Spark, no num_ctx anywhere,
    keep_alive -1, 70.8 GB in /api/ps; the model does not get flash attention."""
    ollama.configure(version="0.17.0", total_vram_gib=119.7, flash_attention=False)
    ollama.load("qwen2.5vl:7b", context=131_072, keep_alive_s=None, size=SEED_SIZE)
    return ollama


def test_the_seeds_case_with_a_readable_log_is_measured_per_device(seed_case, make_engine):
    host, m = _model(make_engine({"spark": {"url": seed_case.url, "log_file": seed_case.log_path}}))
    assert host.log == f"file {seed_case.log_path}"
    assert host.log_readable is True
    assert host.default_context == 262_144
    mem = m.memory
    assert mem.source == "measured"
    assert mem.basis.startswith(f"server log (file {seed_case.log_path}), load at ")
    assert [d.device for d in mem.devices] == ["CUDA0", "CPU"]
    assert mem.kv_cache_gb == 7.52  # 7.0 GiB: the formula's 56 KiB x 131,072, not the seed's 65 GB
    assert m.kv_cache.at_loaded_gb == mem.kv_cache_gb
    assert mem.weights_gb == 6.0
    assert mem.compute_graph_gb == pytest.approx(57.3, abs=0.1)
    assert (mem.layers_on_gpu, mem.layers_total, mem.parallel) == (29, 29, 1)
    assert mem.flash_attention == "Disabled"
    assert sorted(f.kind for f in m.findings) == [
        "compute_graph_large",
        "context_oversized",
        "kv_exceeds_weights",
        "never_unloads",
    ]


def test_the_seeds_context_is_explained_by_the_vram_tier_clamped_to_the_trained_context(
    seed_case, make_engine
):
    _, m = _model(make_engine({"spark": {"url": seed_case.url, "log_file": seed_case.log_path}}))
    assert m.context_cause.source == "vram_default"
    assert m.context_cause.explanation == (
        "No request, Modelfile or OLLAMA_CONTEXT_LENGTH sets it, so Ollama 0.17.0 picks the default from 119.7 GiB "
        "of VRAM: 262,144 tokens (4,096 below 24 GiB, 32,768 up to 48 GiB, 262,144 above), clamped to "
        "qwen2.5vl:7b's trained 131,072. On a 120 GB DGX Spark or a Mac Studio that reaches the model's maximum."
    )


def test_a_load_without_flash_attention_says_so_in_the_graph_and_cache_fixes(seed_case, make_engine):
    _, m = _model(make_engine({"spark": {"url": seed_case.url, "log_file": seed_case.log_path}}))
    graph = next(f for f in m.findings if f.kind == "compute_graph_large")
    assert graph.message == (
        "qwen2.5vl:7b's compute graph takes 57.4 GB at 131,072 tokens, more than its weights (6.0 GB) and its KV "
        "cache (7.5 GB) (measured, server log)."
    )
    assert graph.fix.endswith(
        "This load ran without flash attention: Ollama 0.17.0 enables it by itself only for models that support it "
        "(or OLLAMA_FLASH_ATTENTION=0 is set on the host)."
    )
    cache = next(f for f in m.findings if f.kind == "kv_exceeds_weights")
    assert cache.fix.endswith(
        "takes effect only with flash attention, which this load ran without (the model may not support it)."
    )


def test_the_log_is_read_through_journalctl_with_an_argv_list(seed_case, make_engine, tmp_path, monkeypatch):
    argv = stub_command(tmp_path, "journalctl", seed_case.log_path)
    monkeypatch.setenv("PATH", path_with(tmp_path))
    host, m = _model(make_engine({"spark": {"url": seed_case.url, "log_journald_unit": "ollama"}}))
    assert host.log == "journalctl -u ollama"
    assert m.memory.source == "measured"
    assert argv.read_text().split("\n") == ["-u", "ollama", "--no-pager", "-o", "cat", "-n", "20000"]


def test_the_log_is_read_through_docker_logs(seed_case, make_engine, tmp_path, monkeypatch):
    argv = stub_command(tmp_path, "docker", seed_case.log_path)
    monkeypatch.setenv("PATH", path_with(tmp_path))
    engine = make_engine(
        {"spark": {"url": seed_case.url, "log_docker_container": "ollama"}}, log_tail_lines=500
    )
    host, m = _model(engine)
    assert host.log == "docker logs ollama"
    assert m.memory.kv_cache_gb == 7.52
    assert argv.read_text().split("\n") == ["logs", "--tail", "500", "ollama"]


def test_a_missing_log_is_an_estimate_with_the_reason_not_an_error(seed_case, make_engine, tmp_path):
    missing = tmp_path / "nope.log"
    host, m = _model(make_engine({"spark": {"url": seed_case.url, "log_file": str(missing)}}))
    assert host.state == "ok"
    assert host.log_readable is False
    assert host.log == f"file {missing}: {missing} does not exist"
    assert m.memory.source == "estimate"
    assert (
        m.memory.basis
        == f"estimate: the server log could not be read (file {missing}: {missing} does not exist)"
    )
    assert m.memory.compute_graph_gb is None
    assert m.memory.unattributed_gb == pytest.approx(70.8 - 5.97 - 7.52, abs=0.02)
    assert "memory_unexplained" in [f.kind for f in m.findings]


def test_a_log_tool_that_is_not_installed_is_an_estimate_with_the_reason(
    seed_case, make_engine, tmp_path, monkeypatch
):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on it
    host, m = _model(make_engine({"spark": {"url": seed_case.url, "log_journald_unit": "ollama"}}))
    assert (
        host.log
        == "journalctl -u ollama: journalctl is not installed on the hub's machine (for journalctl -u ollama)"
    )
    assert m.memory.source == "estimate"


def test_no_log_configured_says_how_to_configure_one(seed_case, make_engine):
    host, m = _model(make_engine({"spark": seed_case}))
    assert host.log == ""
    assert m.memory.basis == (
        "estimate: no server log configured for this host ([inference.ollama.NAME] log_file, "
        "log_journald_unit or log_docker_container)"
    )


def test_a_server_before_0_10_gives_the_context_and_buffers_through_its_llama_runner_lines(
    ollama, make_engine
):
    ollama.configure(version="0.9.6", total_vram_gib=24.0, env={"OLLAMA_NUM_PARALLEL": "2"})
    ollama.load("llama3.1:8b", context=8192)  # 2 slots: --ctx-size 16384 --parallel 2
    _, m = _model(make_engine({"spark": {"url": ollama.url, "log_file": ollama.log_path}}), "llama3.1:8b")
    assert m.context_length == 8192
    assert m.context_from == "server log"
    assert m.memory.source == "measured"
    assert m.memory.parallel == 2
    assert m.memory.kv_cache_gb == round(2 * 1024**3 / 1e9, 2)  # 8,192 x 128 KiB x 2 slots
    assert m.kv_cache.parallel == 2


def test_a_server_before_0_10_without_a_log_leaves_the_context_unknown(ollama, make_engine):
    ollama.configure(version="0.9.6")
    ollama.load("llama3.1:8b", context=8192)
    _, m = _model(make_engine({"spark": ollama}), "llama3.1:8b")
    assert m.context_length is None
    assert m.kv_cache is None
    assert m.context_cause is None
    assert m.memory.source == "estimate"


def test_sizes_parse_as_ollama_prints_them():
    assert parse_size("7.0 GiB") == 7 * 1024**3
    assert parse_size("292.4 MiB") == round(292.4 * 1024**2)
    assert parse_size("0 B") == 0
    assert parse_size("70.8 GB") == 70_800_000_000
    assert parse_size("lots") is None


def test_a_restart_forgets_earlier_loads_and_discovery_runners_are_not_loads():
    lines = [
        'time=2026-03-30T17:00:00.000Z level=INFO source=routes.go:1 msg="Listening on [::]:11434 (version 0.16.0)"',
        'time=2026-03-30T17:00:01.000Z level=INFO source=server.go:1 msg="starting runner" cmd="/usr/bin/ollama runner '
        "--ollama-engine --model /m/blobs/sha256-" + "a" * 64 + ' --port 1"',
        'time=2026-03-30T18:00:00.000Z level=INFO source=routes.go:1 msg="Listening on [::]:11434 (version 0.17.0)"',
        'time=2026-03-30T18:00:00.100Z level=INFO source=server.go:1 msg="starting runner" cmd="/usr/bin/ollama runner --ollama-engine --port 2"',
        'time=2026-03-30T18:00:00.200Z level=INFO source=routes.go:1 msg="vram-based default context" '
        'total_vram="23.4 GiB" default_num_ctx=32768',
    ]
    log = parse_log(lines, "file x")
    assert log.version == "0.17.0"
    assert log.loads == []
    assert log.default_context == 32768
    assert log.total_vram == round(23.4 * 1024**3)


def test_a_log_load_that_does_not_match_what_is_in_memory_is_not_taken_as_measured(seed_case, make_engine):
    blob = next(iter(seed_case.loaded))
    seed_case.loaded[blob]["context_length"] = 8192  # reloaded since, and the log tail missed it
    _, m = _model(make_engine({"spark": {"url": seed_case.url, "log_file": seed_case.log_path}}))
    assert m.memory.source == "estimate"
    assert m.memory.basis == (
        f"estimate: the newest load of this model in the server log (file {seed_case.log_path}) is not the one "
        "/api/ps shows"
    )
    assert m.context_length == 8192
