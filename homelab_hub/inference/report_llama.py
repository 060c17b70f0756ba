"""What the engine answers for llama.cpp ``llama-server`` hosts, and the whole snapshot.

One llama-server runs one model, or in router mode (started without ``-m``) several, each
with its own slots and context: every host therefore lists models.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from homelab_hub.inference.report import Answer, Finding, HostState, OllamaHostReport
from homelab_hub.inference.report_rpc import RpcServerReport, SplitReport


class LlamaServerMetrics(Answer):
    prompt_tokens_per_s: float | None = Field(default=None, description="Average prompt throughput.")
    generation_tokens_per_s: float | None = Field(default=None, description="Average generation throughput.")
    prompt_tokens_total: float | None = Field(
        default=None, description="Prompt tokens processed since start."
    )
    generated_tokens_total: float | None = Field(default=None, description="Tokens generated since start.")
    requests_processing: float | None = Field(default=None, description="Requests being processed now.")
    requests_deferred: float | None = Field(default=None, description="Requests waiting for a free slot.")
    peak_tokens: float | None = Field(
        default=None, description="High watermark of context in use (llamacpp:n_tokens_max)."
    )
    kv_cache_usage_ratio: float | None = Field(
        default=None, description="KV-cache use from builds that still export it (removed upstream)."
    )
    kv_cache_tokens: float | None = Field(
        default=None, description="KV-cache tokens from builds that still export it (removed upstream)."
    )


class LlamaModelReport(Answer):
    model: str = Field(..., description="Model file or alias (router mode: the model id).")
    status: str = Field(
        default="loaded", description="loaded, or the router's status (loading, sleeping...)."
    )
    ctx_per_slot: int | None = Field(default=None, description="n_ctx each slot reports (tokens).")
    total_slots: int | None = Field(default=None, description="Parallel slots (-np; 4 when left to auto).")
    kv_unified: bool | None = Field(
        default=None,
        description="Slots share one KV pool (--kv-unified): each then reports the pool as n_ctx.",
    )
    kv_unified_from: Literal["config", "inferred"] | None = Field(
        default=None, description="Whether kv_unified was configured or inferred."
    )
    context_total: int | None = Field(
        default=None, description="KV cells allocated: the pool when unified, else n_ctx x slots."
    )
    kv_used_tokens: int | None = Field(default=None, description="Tokens held in the KV cache now.")
    kv_fill: float | str = Field(
        default="unknown", description="kv_used_tokens / context_total (0..1), or 'unknown'."
    )
    kv_fill_from: Literal["metrics", "slots", "unknown"] = Field(
        default="unknown", description="Where the fill came from: the old metrics gauge, or /slots."
    )
    slots_busy: int | None = Field(default=None, description="Slots processing a request (/slots).")
    metrics: LlamaServerMetrics | None = Field(
        default=None, description="From /metrics; null unless started with --metrics."
    )
    findings: list[Finding] = Field(default_factory=list, description="Problems found, each with its fix.")


class LlamaServerReport(Answer):
    host: str = Field(..., description="Host name from the config.")
    url: str = Field(..., description="Base URL, password and secret parameters masked.")
    state: HostState = Field(
        default=..., description="ok, loading (model still loading), down, timeout or bad_response."
    )
    error: str = Field(default="", description="Why the host is not ok.")
    mode: Literal["single", "router"] = Field(default="single", description="router: started without -m.")
    build: str | None = Field(default=None, description="build_info from /props, e.g. b7079-....")
    models: list[LlamaModelReport] = Field(default_factory=list, description="Models loaded now.")
    notes: list[str] = Field(
        default_factory=list, description="Endpoints that are disabled, and how to enable them."
    )
    log: str = Field(default="", description="Server log read, or why not ('' when none is configured).")
    split: SplitReport | None = Field(
        default=None, description="The model split across machines (--rpc), from the server log."
    )
    findings: list[Finding] = Field(
        default_factory=list, description="Split, RPC and model-file findings, each with its fix."
    )


class InferenceSnapshot(Answer):
    summary: str = Field(..., description="One line: hosts, their states, models loaded, findings.")
    ollama: list[OllamaHostReport] = Field(default_factory=list, description="Ollama hosts.")
    llama_cpp: list[LlamaServerReport] = Field(
        default_factory=list, description="llama.cpp llama-server hosts."
    )
    rpc: list[RpcServerReport] = Field(default_factory=list, description="llama.cpp rpc-servers.")
