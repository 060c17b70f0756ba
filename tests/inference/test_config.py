"""The [inference] section: named hosts, checked at start with the key path and value."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from homelab_hub.config import load_config
from homelab_hub.errors import ConfigError
from homelab_hub.inference.config import OllamaHostConfig


def test_hosts_are_read_from_the_file_and_the_environment(tmp_path, monkeypatch):
    file = tmp_path / "hub.toml"
    file.write_text(
        '[inference.ollama.spark]\nurl = "http://spark:11434/"\nkv_cache_type = "q8_0"\nnum_parallel = 4\n'
        '[inference.llama_cpp.studio]\nurl = "http://studio:9999"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("HOMELAB_HUB_INFERENCE__WORKLOAD_CTX", "8192")
    config = load_config(file).inference
    assert config.ollama["spark"].url == "http://spark:11434"
    assert (config.ollama["spark"].kv_cache_type, config.ollama["spark"].num_parallel) == ("q8_0", 4)
    assert config.llama_cpp["studio"].url == "http://studio:9999"
    assert config.workload_ctx == 8192


def test_a_url_without_a_scheme_fails_with_its_key_path():
    with pytest.raises(ConfigError, match=r"inference\.ollama\.spark\.url.*'spark:11434'.*http://"):
        load_config(None, inference={"ollama": {"spark": {"url": "spark:11434"}}})


def test_an_unknown_kv_cache_type_or_key_fails():
    with pytest.raises(ConfigError, match="kv_cache_type"):
        load_config(None, inference={"ollama": {"spark": {"url": "http://s:1", "kv_cache_type": "q5"}}})
    with pytest.raises(ConfigError, match="unknown setting"):
        load_config(None, inference={"ollama": {"spark": {"url": "http://s:1", "ctx": 4096}}})


def test_one_name_for_an_ollama_and_a_llama_server_host_is_refused():
    with pytest.raises(ConfigError, match=r"unique.*both define 'box'"):
        load_config(
            None,
            inference={
                "ollama": {"box": {"url": "http://box:11434"}},
                "llama_cpp": {"box": {"url": "http://box:9999"}},
            },
        )


def test_a_server_log_source_is_one_of_file_journal_or_docker():
    config = load_config(
        None, inference={"ollama": {"spark": {"url": "http://s:1", "log_journald_unit": "ollama"}}}
    )
    assert config.inference.ollama["spark"].log_journald_unit == "ollama"
    with pytest.raises(ConfigError, match="set one server log source, not log_file and log_docker_container"):
        load_config(
            None,
            inference={
                "ollama": {"spark": {"url": "http://s:1", "log_file": "/x", "log_docker_container": "ollama"}}
            },
        )


@pytest.mark.parametrize("name", ["--help", "-n1", "ollama; rm -rf /", "a b"])
def test_unit_and_container_names_that_could_act_as_flags_or_shell_are_refused(name):
    with pytest.raises(ConfigError, match="log_journald_unit"):
        load_config(None, inference={"ollama": {"spark": {"url": "http://s:1", "log_journald_unit": name}}})
    with pytest.raises(ConfigError, match="log_docker_container"):
        load_config(
            None, inference={"ollama": {"spark": {"url": "http://s:1", "log_docker_container": name}}}
        )


def test_the_url_check_does_not_repeat_a_password_in_its_message():
    with pytest.raises(ValidationError) as bad:
        OllamaHostConfig(url="ftp://user:S3cretPw@spark:11434")
    [error] = bad.value.errors()
    assert error["msg"] == (
        "Value error, an http:// or https:// URL such as http://gpu-box:11434, got 'ftp://user:***@spark:11434'"
    )
