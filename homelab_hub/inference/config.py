"""Settings of the inference hosts: named Ollama endpoints and llama.cpp ``llama-server``s."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from homelab_hub.redact import redact_url

KvCacheType = Literal["f16", "q8_0", "q4_0"]
# A systemd unit or Docker container name: plain words only, never something that could be
# read as a flag ("--help") once it sits in an argv list.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}$")


def _check_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(
            f"an http:// or https:// URL such as http://gpu-box:11434, got {redact_url(value)!r}"
        )
    return value.rstrip("/")


def _check_name(value: str | None, what: str) -> str | None:
    if value is not None and not _NAME.match(value):
        raise ValueError(f"a {what} name such as 'ollama' (letters, digits, _ . @ : -), got {value!r}")
    return value


class OllamaHostConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)

    url: str = Field(..., description="Base URL of the Ollama API, e.g. http://gpu-box:11434.")
    workload_ctx: int | None = Field(
        default=None,
        ge=256,
        description="Tokens the requests to this host really use (prompt + answer); default "
        "[inference] workload_ctx. Loaded contexts far above it are flagged.",
    )
    kv_cache_type: KvCacheType = Field(
        default="f16",
        description="The host's OLLAMA_KV_CACHE_TYPE (f16, q8_0 or q4_0; Ollama 0.5+, one setting for every "
        "model); sets bytes per KV element. The server log, when readable, overrides it.",
    )
    num_parallel: int = Field(
        default=1,
        ge=1,
        le=64,
        description="The host's OLLAMA_NUM_PARALLEL (default 1 since Ollama 0.10): each slot holds its own "
        "KV cache. The server log, when readable, overrides it.",
    )
    log_file: str | None = Field(
        default=None,
        description="Ollama server log file the hub can read; gives measured weights / KV / graph per device.",
    )
    log_journald_unit: str | None = Field(
        default=None,
        description="systemd unit whose journal holds the server log (`journalctl -u UNIT`), e.g. ollama.",
    )
    log_docker_container: str | None = Field(
        default=None,
        description="Docker container running Ollama, read with `docker logs`, e.g. ollama.",
    )

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str) -> str:
        return _check_url(value)

    @field_validator("log_journald_unit")
    @classmethod
    def _unit_name(cls, value: str | None) -> str | None:
        return _check_name(value, "systemd unit")

    @field_validator("log_docker_container")
    @classmethod
    def _container_name(cls, value: str | None) -> str | None:
        return _check_name(value, "Docker container")

    @model_validator(mode="after")
    def _one_log(self) -> OllamaHostConfig:
        given = [k for k in ("log_file", "log_journald_unit", "log_docker_container") if getattr(self, k)]
        if len(given) > 1:
            raise ValueError(f"set one server log source, not {' and '.join(given)}")
        return self


class LlamaServerHostConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)

    url: str = Field(..., description="Base URL of a llama.cpp llama-server, e.g. http://mac-studio:9999.")
    kv_unified: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Whether its slots share one KV pool (--kv-unified). auto: yes for the 4 slots "
        "llama-server picks without -np (builds since late 2025), no otherwise.",
    )

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str) -> str:
        return _check_url(value)


class InferenceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)

    ollama: dict[str, OllamaHostConfig] = Field(
        default_factory=dict,
        description="Ollama hosts by name, e.g. [inference.ollama.spark] url = 'http://spark:11434'.",
    )
    llama_cpp: dict[str, LlamaServerHostConfig] = Field(
        default_factory=dict,
        description="llama-server hosts by name, e.g. [inference.llama_cpp.studio] url = 'http://studio:9999'.",
    )
    timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=120,
        description="Per-request timeout when asking a host for its state; a slower host is reported as timed out.",
    )
    bench_timeout_s: float = Field(
        default=180.0,
        gt=0,
        description="Timeout of one inference_bench generation (a cold model may load first).",
    )
    workload_ctx: int = Field(
        default=4096,
        ge=256,
        description="Default tokens a workload uses; the seed's guide: vision 2K-4K, agents 4K-8K, documents 8K-16K.",
    )
    oversized_ctx_factor: float = Field(
        default=4.0,
        gt=1,
        description="A loaded context this many times above workload_ctx is flagged as oversized.",
    )
    keep_alive_warn_h: float = Field(
        default=24.0,
        gt=0,
        description="A model whose unload time is further away than this (keep_alive -1 or hours) is flagged as never unloading.",
    )
    probe_interval_s: float = Field(
        default=60.0,
        ge=5,
        description="How often the background probe reads every host (shown in /api/health and /metrics).",
    )
    log_tail_lines: int = Field(
        default=20_000,
        ge=100,
        le=1_000_000,
        description="Newest lines of an Ollama server log read per look; older loads are not seen.",
    )
    reload_window_s: float = Field(
        default=3600.0,
        ge=60,
        description="Window in which repeated reloads of one model at different contexts are flagged.",
    )
    reload_warn_count: int = Field(
        default=3,
        ge=2,
        description="Loads of one model within reload_window_s that count as reloading back and forth.",
    )

    @model_validator(mode="after")
    def _names_unique(self) -> InferenceConfig:
        both = sorted(set(self.ollama) & set(self.llama_cpp))
        if both:
            raise ValueError(
                f"host names must be unique across [inference.ollama] and [inference.llama_cpp]; both define {both}"
            )
        return self
