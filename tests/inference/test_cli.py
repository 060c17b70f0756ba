"""``homelab-hub inference ps|bench|set-context``: the tools' answers at a terminal."""

from __future__ import annotations

import json

import pytest

from homelab_hub.server.cli import main


@pytest.fixture
def config_file(tmp_path, ollama, llama_server):
    path = tmp_path / "hub.toml"
    path.write_text(
        f'[inference]\ntimeout_s = 2\n[inference.ollama.spark]\nurl = "{ollama.url}"\nlog_file = "{ollama.log_path}"\n'
        f'[inference.llama_cpp.studio]\nurl = "{llama_server.url}"\n',
        encoding="utf-8",
    )
    return str(path)


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["inference", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_ps_prints_a_table_with_the_measured_memory_and_the_findings(capsys, config_file, ollama):
    ollama.load("qwen2.5vl:7b", context=131_072, keep_alive_s=None, size=70_800_000_000)
    code, out, _ = _run(capsys, "ps", "--config", config_file)
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == f"spark  ok  Ollama 0.17.0  {ollama.url}  (log: file {ollama.log_path})"
    assert lines[1].split() == ["MODEL", "SIZE", "VRAM", "CPU", "CONTEXT", "KV", "CACHE", "UNTIL"]
    assert lines[2].split() == [
        "qwen2.5vl:7b",
        "70.8",
        "GB",
        "70.8",
        "GB",
        "0%",
        "131,072",
        "7.5",
        "GB",
        "measured",
        "never",
    ]
    assert any(
        line.startswith("    memory (measured): weights 6.0 GB, KV 7.5 GB, graph 57.4 GB") for line in lines
    )
    assert "      CUDA0: weights 5.7 GB, KV 7.5 GB, graph 57.3 GB" in lines
    assert any(
        line.startswith("    ! context_oversized: qwen2.5vl:7b is loaded with a 131,072-token context")
        for line in lines
    )
    assert lines[-1] == "1 Ollama host(s), 1 model(s) loaded, 4 finding(s); 1 llama-server(s), 0 finding(s)"


def test_ps_json_is_the_tools_answer(capsys, config_file, ollama):
    ollama.load("qwen2.5vl:7b", context=131_072, keep_alive_s=None)
    code, out, _ = _run(capsys, "ps", "--host", "spark", "--json", "--config", config_file)
    answer = json.loads(out)
    assert code == 0
    assert [h["host"] for h in answer["ollama"]] == ["spark"]
    assert answer["llama_cpp"] == []
    assert answer["ollama"][0]["models"][0]["memory"]["source"] == "measured"
    assert answer["ollama"][0]["models"][0]["context_cause"]["source"] == "vram_default"


def test_bench_prints_the_servers_speeds(capsys, config_file):
    code, out, _ = _run(
        capsys,
        "bench",
        "--host",
        "studio",
        "--prompt-tokens",
        "64",
        "--max-tokens",
        "8",
        "--config",
        config_file,
    )
    assert code == 0
    assert "pp (prompt)      64 tokens at 318.0 tok/s" in out.splitlines()
    assert "tg (generation)  8 tokens at 53.0 tok/s" in out.splitlines()


def test_set_context_creates_the_derived_model_and_says_what_to_do(capsys, config_file, ollama):
    code, out, _ = _run(capsys, "set-context", "qwen2.5vl:7b", "4096", "--config", config_file)
    assert code == 0
    assert out.splitlines()[0] == "created   qwen2.5vl:7b-4k on spark (success)"
    assert out.splitlines()[-1].startswith(
        "next: Use 'qwen2.5vl:7b-4k' instead of 'qwen2.5vl:7b' in every client"
    )
    assert "qwen2.5vl:7b-4k" in ollama.installed


def test_errors_are_one_clear_line_and_exit_1(capsys, config_file):
    code, out, err = _run(capsys, "bench", "--host", "nas", "--config", config_file)
    assert code == 1
    assert out == ""
    assert err == "homelab-hub: unknown inference host 'nas'; known hosts: spark, studio\n"
    code, _, err = _run(
        capsys, "bench", "--host", "studio", "--prompt-tokens", "4000", "--config", config_file
    )
    assert code == 1
    assert err.startswith(
        "homelab-hub: prompt_tokens 4,000 + max_tokens 128 = 4,128 exceeds the 4,096-token context"
    )
