"""Settings of the inference hosts: named Ollama endpoints and llama.cpp ``llama-server``s."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

KvCacheType = Literal["f16", "q8_0", "q4_0"]


def _check_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"an http:// or https:// URL such as http://gpu-box:11434, got {value!r}")
    return value.rstrip("/")


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
        description="The host's OLLAMA_KV_CACHE_TYPE (f16, q8_0 or q4_0); sets bytes per KV element.",
    )
    num_parallel: int = Field(
        default=1,
        ge=1,
        description="The host's OLLAMA_NUM_PARALLEL: each parallel slot holds its own KV cache.",
    )

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str) -> str:
        return _check_url(value)


class LlamaServerHostConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)

    url: str = Field(..., description="Base URL of a llama.cpp llama-server, e.g. http://mac-studio:9999.")

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
        description="How often the background probe checks that each host answers (shown in /api/health).",
    )

    @model_validator(mode="after")
    def _names_unique(self) -> InferenceConfig:
        both = sorted(set(self.ollama) & set(self.llama_cpp))
        if both:
            raise ValueError(
                f"host names must be unique across [inference.ollama] and [inference.llama_cpp]; both define {both}"
            )
        return self
