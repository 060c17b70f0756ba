"""Settings of the inference hosts: named Ollama endpoints and llama.cpp ``llama-server``s."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from homelab_hub.inference.rpc import parse_address, parse_version
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


class _ServerLogConfig(BaseModel):
    """Where a server's log lives (one of three): Ollama and llama-server hosts both have one."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    log_file: str | None = Field(
        default=None,
        description="Server log file the hub can read; gives measured weights / KV / graph per device.",
    )
    log_journald_unit: str | None = Field(
        default=None,
        description="systemd unit whose journal holds the server log (`journalctl -u UNIT`), e.g. ollama or llama-server.",
    )
    log_docker_container: str | None = Field(
        default=None,
        description="Docker container running the server, read with `docker logs`, e.g. ollama or llama-server.",
    )

    @field_validator("log_journald_unit")
    @classmethod
    def _unit_name(cls, value: str | None) -> str | None:
        return _check_name(value, "systemd unit")

    @field_validator("log_docker_container")
    @classmethod
    def _container_name(cls, value: str | None) -> str | None:
        return _check_name(value, "Docker container")

    @model_validator(mode="after")
    def _one_log(self) -> _ServerLogConfig:
        given = [k for k in ("log_file", "log_journald_unit", "log_docker_container") if getattr(self, k)]
        if len(given) > 1:
            raise ValueError(f"set one server log source, not {' and '.join(given)}")
        return self


class OllamaHostConfig(_ServerLogConfig):
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

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str) -> str:
        return _check_url(value)


class LlamaServerHostConfig(_ServerLogConfig):
    url: str = Field(..., description="Base URL of a llama.cpp llama-server, e.g. http://mac-studio:9999.")
    kv_unified: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Whether its slots share one KV pool (--kv-unified). auto: yes for the 4 slots "
        "llama-server picks without -np (builds since late 2025), no otherwise.",
    )
    rpc_protocol: str | None = Field(
        default=None,
        description="RPC protocol its build speaks (major.minor.patch; an rpc-server built from the same commit "
        "prints it as 'Starting RPC server vX.Y.Z'); names both sides of a version mismatch.",
    )

    @field_validator("rpc_protocol")
    @classmethod
    def _protocol(cls, value: str | None) -> str | None:
        if value is not None and parse_version(value) is None:
            raise ValueError(f"a protocol version major.minor.patch such as 3.0.0, got {value!r}")
        return value

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str) -> str:
        return _check_url(value)


class RpcHostConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)

    address: str = Field(
        ...,
        description="rpc-server address HOST:PORT as llama-server's --rpc names it, e.g. 192.168.100.2:50052.",
    )

    @field_validator("address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        parse_address(value)  # ValueError names the expected shape
        return value.strip()


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
    rpc: dict[str, RpcHostConfig] = Field(
        default_factory=dict,
        description="llama.cpp rpc-servers by name, e.g. [inference.rpc.dgx] address = '192.168.100.2:50052'.",
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
        sections: dict[str, list[str]] = {
            "ollama": list(self.ollama),
            "llama_cpp": list(self.llama_cpp),
            "rpc": list(self.rpc),
        }
        seen: dict[str, str] = {}
        for section, names in sections.items():
            for name in names:
                if name in seen:
                    raise ValueError(
                        "host names must be unique across [inference.ollama], [inference.llama_cpp] and "
                        f"[inference.rpc]; [inference.{seen[name]}] and [inference.{section}] both define {name!r}"
                    )
                seen[name] = section
        return self
