"""What the inference engine answers: plain models an agent reads as JSON.

Sizes are decimal gigabytes (10^9 bytes, as ``ollama ps`` prints them); the per-token KV cost
is in KiB. Field descriptions here are free (they are not sent in tools/list).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

HostState = Literal["ok", "loading", "down", "timeout", "bad_response"]
FindingKind = Literal[
    "context_oversized",
    "kv_exceeds_weights",
    "cpu_offload",
    "never_unloads",
    "architecture_unknown",
    "requests_deferred",
    "kv_cache_full",
    "memory_unexplained",
]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Finding(_Answer):
    kind: FindingKind = Field(..., description="Machine-readable finding type.")
    message: str = Field(..., description="What is wrong, with the numbers.")
    fix: str = Field(..., description="What to do about it.")


class Architecture(_Answer):
    family: str = Field(..., description="GGUF general.architecture, e.g. llama, qwen25vl.")
    layers: int = Field(..., description="Transformer blocks (block_count).")
    kv_heads: int = Field(..., description="Key/value heads per layer (head_count_kv).")
    head_dim: int = Field(..., description="Width of one head (key_length, or embedding / heads).")
    trained_context: int = Field(..., description="Context the model was trained for (GGUF context_length).")


class KvCacheEstimate(_Answer):
    per_token_kib: float = Field(..., description="KV cache per token of context, per slot, in KiB.")
    kv_cache_type: str = Field(..., description="Element type of the cache (f16, q8_0, q4_0).")
    parallel: int = Field(..., description="Parallel slots, each holding its own cache.")
    loaded_context: int = Field(..., description="Context the model is loaded with.")
    at_loaded_gb: float = Field(..., description="KV cache at the loaded context, GB.")
    sensible_context: int = Field(
        default=..., description="Context the workload needs (workload_ctx, capped by training)."
    )
    at_sensible_gb: float = Field(..., description="KV cache at the sensible context, GB.")
    saving_gb: float = Field(..., description="Memory freed by loading at the sensible context, GB.")


class LoadedModel(_Answer):
    name: str = Field(..., description="Model name as Ollama lists it.")
    parameter_size: str = Field(default="", description="e.g. 7.6B.")
    quantization: str = Field(default="", description="e.g. Q4_K_M.")
    size_gb: float = Field(..., description="Memory the loaded model holds (weights + KV cache + graph), GB.")
    vram_gb: float = Field(..., description="Part of it in GPU memory, GB.")
    cpu_percent: float = Field(..., description="Share held in system RAM and run on the CPU, percent.")
    weights_gb: float | None = Field(default=None, description="Size of the weights on disk (/api/tags), GB.")
    beyond_weights_gb: float | None = Field(
        default=None,
        description="Memory held beyond the weights, observed (KV cache, compute buffers, slots), GB.",
    )
    context_length: int | None = Field(
        default=None, description="Context the model was loaded with (tokens)."
    )
    expires_at: str | None = Field(default=None, description="When Ollama unloads it (ISO 8601).")
    expires_in: str = Field(
        default="", description="The same, as a duration from now; 'never' for keep_alive -1."
    )
    architecture: Architecture | None = Field(default=None, description="From /api/show model_info.")
    kv_cache: KvCacheEstimate | None = Field(
        default=None, description="KV-cache estimate; null when the architecture is unknown."
    )
    findings: list[Finding] = Field(default_factory=list, description="Problems found, each with its fix.")


class OllamaHostReport(_Answer):
    host: str = Field(..., description="Host name from the config.")
    url: str = Field(..., description="Base URL.")
    state: HostState = Field(..., description="ok, down, timeout or bad_response.")
    error: str = Field(default="", description="Why the host is not ok.")
    version: str | None = Field(default=None, description="Ollama version.")
    models: list[LoadedModel] = Field(default_factory=list, description="Models loaded now (/api/ps).")


class LlamaServerMetrics(_Answer):
    prompt_tokens_per_s: float | None = Field(
        default=None, description="Average prompt throughput since start."
    )
    generation_tokens_per_s: float | None = Field(
        default=None, description="Average generation throughput since start."
    )
    prompt_tokens_total: float | None = Field(
        default=None, description="Prompt tokens processed since start."
    )
    generated_tokens_total: float | None = Field(default=None, description="Tokens generated since start.")
    kv_cache_usage_ratio: float | None = Field(default=None, description="KV-cache use, 1 = full.")
    requests_processing: float | None = Field(default=None, description="Requests being processed now.")
    requests_deferred: float | None = Field(default=None, description="Requests waiting for a free slot.")


class LlamaServerReport(_Answer):
    host: str = Field(..., description="Host name from the config.")
    url: str = Field(..., description="Base URL.")
    state: HostState = Field(
        default=..., description="ok, loading (model still loading), down, timeout or bad_response."
    )
    error: str = Field(default="", description="Why the host is not ok.")
    model: str | None = Field(default=None, description="Model file or alias the server runs.")
    ctx_per_slot: int | None = Field(default=None, description="Context of each slot (tokens).")
    total_slots: int | None = Field(default=None, description="Parallel slots (--parallel).")
    context_total: int | None = Field(
        default=None, description="ctx_per_slot × total_slots: what -c allocated."
    )
    slots_busy: int | None = Field(
        default=None, description="Slots processing a request now (/slots); null if disabled."
    )
    metrics: LlamaServerMetrics | None = Field(
        default=None, description="From /metrics; null unless started with --metrics."
    )
    notes: list[str] = Field(
        default_factory=list, description="Endpoints that are disabled, and how to enable them."
    )
    findings: list[Finding] = Field(default_factory=list, description="Problems found, each with its fix.")


class InferenceSnapshot(_Answer):
    summary: str = Field(..., description="One line: hosts, their states, models loaded, findings.")
    ollama: list[OllamaHostReport] = Field(default_factory=list, description="Ollama hosts.")
    llama_cpp: list[LlamaServerReport] = Field(
        default_factory=list, description="llama.cpp llama-server hosts."
    )


class DerivedModel(_Answer):
    host: str = Field(..., description="Ollama host it was created on.")
    name: str = Field(..., description="The new model's name: use it instead of the original.")
    from_model: str = Field(..., description="The model it derives from.")
    num_ctx: int = Field(..., description="Context baked into the new model.")
    trained_context: int = Field(..., description="The original's trained context.")
    kv_cache_gb: float = Field(..., description="Expected KV cache of the new model, GB.")
    kv_cache_at_trained_gb: float = Field(
        default=..., description="KV cache the original needs at its trained context, GB."
    )
    status: str = Field(..., description="Ollama's final create status.")
    next_step: str = Field(..., description="What to change so the saving takes effect.")


class BenchResult(_Answer):
    host: str = Field(..., description="Host measured.")
    kind: Literal["ollama", "llama_cpp"] = Field(..., description="Server type.")
    model: str = Field(..., description="Model measured.")
    prompt_tokens: int = Field(..., description="Prompt tokens the server evaluated.")
    prompt_tokens_per_s: float | None = Field(
        default=..., description="Prompt processing (prefill) speed from the server's counters."
    )
    generated_tokens: int = Field(..., description="Tokens generated.")
    generation_tokens_per_s: float | None = Field(
        default=..., description="Generation (decode) speed from the server's counters."
    )
    load_s: float | None = Field(
        default=None, description="Model load time included in this call (Ollama), s."
    )
    total_s: float = Field(..., description="Wall time of the call as the hub saw it, s.")
    note: str = Field(default="", description="Caveats, e.g. the call loaded the model first.")
