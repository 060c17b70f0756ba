"""What the inference engine answers: plain models an agent reads as JSON.

Sizes are decimal gigabytes (10^9 bytes, as ``ollama ps`` prints them; Ollama's server log
prints GiB); the per-token KV cost is in KiB. Field descriptions here are free (they are not
sent in tools/list). llama-server answers live in `report_llama`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

HostState = Literal["ok", "loading", "down", "timeout", "bad_response"]
FindingKind = Literal[
    "context_oversized",
    "kv_exceeds_weights",
    "compute_graph_large",
    "cpu_offload",
    "never_unloads",
    "architecture_unknown",
    "memory_unexplained",
    "context_reloads",
    "requests_deferred",
    "kv_cache_full",
    "split_fits_one_host",
    "split_required",
    "rpc_version_mismatch",
    "rpc_server_down",
    "gguf_ollama_metadata",
]
ContextSource = Literal["request", "modelfile", "env", "vram_default", "default", "unknown"]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Finding(Answer):
    kind: FindingKind = Field(..., description="Machine-readable finding type.")
    message: str = Field(..., description="What is wrong, with the numbers.")
    fix: str = Field(..., description="What to do about it, for the server version the host reports.")


class Architecture(Answer):
    family: str = Field(..., description="GGUF general.architecture, e.g. llama, qwen25vl.")
    layers: int = Field(..., description="Transformer blocks (block_count).")
    kv_heads: int = Field(..., description="Key/value heads per layer (head_count_kv).")
    head_dim: int = Field(..., description="Width of one head (key_length, or embedding / heads).")
    trained_context: int = Field(..., description="Context the model was trained for (GGUF context_length).")


class KvCacheEstimate(Answer):
    per_token_kib: float = Field(..., description="KV cache per token of context, per slot, in KiB.")
    kv_cache_type: str = Field(..., description="Element type of the cache (f16, q8_0, q4_0).")
    parallel: int = Field(..., description="Parallel slots, each holding its own cache.")
    loaded_context: int = Field(..., description="Context the model is loaded with (per slot).")
    at_loaded_gb: float = Field(..., description="KV cache at the loaded context, all slots, GB.")
    sensible_context: int = Field(
        default=..., description="Context the workload needs (workload_ctx, capped by training)."
    )
    at_sensible_gb: float = Field(..., description="KV cache at the sensible context, GB.")
    saving_gb: float = Field(..., description="Memory freed by loading at the sensible context, GB.")


class DeviceMemory(Answer):
    device: str = Field(..., description="Backend device as Ollama names it: CUDA0, ROCm0, Metal, CPU.")
    weights_gb: float = Field(..., description="Model weights on it, GB.")
    kv_cache_gb: float = Field(..., description="KV cache on it, GB.")
    compute_graph_gb: float = Field(..., description="Compute graph buffers on it, GB.")


class MemoryBreakdown(Answer):
    source: Literal["measured", "estimate"] = Field(
        default=...,
        description="measured: what the server log says the load allocated; estimate: computed here.",
    )
    basis: str = Field(..., description="Where the numbers come from, or why they are estimates.")
    weights_gb: float | None = Field(default=None, description="Model weights, GB.")
    kv_cache_gb: float | None = Field(default=None, description="KV cache, all slots, GB.")
    compute_graph_gb: float | None = Field(default=None, description="Compute graph; unknown when estimated.")
    total_gb: float | None = Field(default=None, description="Total the load allocated (log), GB.")
    unattributed_gb: float | None = Field(
        default=None, description="Part of the /api/ps size none of the above explains, GB."
    )
    devices: list[DeviceMemory] = Field(default_factory=list, description="Measured split per device.")
    layers_on_gpu: int | None = Field(default=None, description="Layers offloaded to GPUs (log).")
    layers_total: int | None = Field(default=None, description="Layers of the model (log).")
    parallel: int | None = Field(default=None, description="Slots of this load (log).")
    flash_attention: str | None = Field(default=None, description="Flash attention of this load (log).")
    kv_cache_type: str | None = Field(default=None, description="KV element type of this load (log).")


class ContextCause(Answer):
    source: ContextSource = Field(
        default=...,
        description="What set the context, by Ollama's precedence: request, Modelfile, OLLAMA_CONTEXT_LENGTH, "
        "VRAM tier or fixed default, each clamped to the trained context.",
    )
    explanation: str = Field(..., description="The same in words, for this server version.")


class LoadedModel(Answer):
    name: str = Field(..., description="Model name as Ollama lists it.")
    parameter_size: str = Field(default="", description="e.g. 7.6B.")
    quantization: str = Field(default="", description="e.g. Q4_K_M.")
    size_gb: float = Field(..., description="Memory Ollama reports for the loaded model (/api/ps), GB.")
    vram_gb: float = Field(..., description="Part of it in GPU memory, GB.")
    cpu_percent: float = Field(..., description="Share held in system RAM and run on the CPU, percent.")
    weights_gb: float | None = Field(default=None, description="Size of the model file (/api/tags), GB.")
    beyond_weights_gb: float | None = Field(
        default=None, description="size_gb minus the model file: KV cache, compute graph, slots, GB."
    )
    context_length: int | None = Field(default=None, description="Context it is loaded with (tokens).")
    context_from: Literal["api/ps", "server log"] | None = Field(
        default=None, description="Where the loaded context was read (/api/ps has it since Ollama 0.10)."
    )
    context_cause: ContextCause | None = Field(default=None, description="Why it got that context.")
    expires_at: str | None = Field(default=None, description="When Ollama unloads it (ISO 8601).")
    expires_in: str = Field(
        default="", description="The same, as a duration from now; 'never' for keep_alive -1."
    )
    architecture: Architecture | None = Field(default=None, description="From /api/show model_info.")
    kv_cache: KvCacheEstimate | None = Field(
        default=None, description="KV-cache arithmetic; null when the architecture or context is unknown."
    )
    memory: MemoryBreakdown | None = Field(
        default=None, description="Weights / KV / graph, measured or estimated."
    )
    findings: list[Finding] = Field(default_factory=list, description="Problems found, each with its fix.")


class OllamaHostReport(Answer):
    host: str = Field(..., description="Host name from the config.")
    url: str = Field(..., description="Base URL, password and secret parameters masked.")
    state: HostState = Field(..., description="ok, down, timeout or bad_response.")
    error: str = Field(default="", description="Why the host is not ok.")
    version: str | None = Field(default=None, description="Ollama version.")
    log: str = Field(default="", description="Server log read, or why not ('' when none is configured).")
    log_readable: bool = Field(default=False, description="The server log was read for this answer.")
    default_context: int | None = Field(
        default=None, description="Default context the server chose from its VRAM (log, 0.15.5+)."
    )
    server_env: dict[str, str] = Field(
        default_factory=dict,
        description="OLLAMA_* settings the server logged at start (context, slots, cache).",
    )
    models: list[LoadedModel] = Field(default_factory=list, description="Models loaded now (/api/ps).")


class DerivedModel(Answer):
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


class BenchResult(Answer):
    host: str = Field(..., description="Host measured.")
    kind: Literal["ollama", "llama_cpp"] = Field(..., description="Server type.")
    model: str = Field(..., description="Model measured.")
    context: int | None = Field(default=None, description="Context the sizes were checked against.")
    prompt_tokens: int = Field(..., description="Prompt tokens the server evaluated.")
    prompt_tokens_per_s: float | None = Field(
        default=..., description="pp: prompt processing (prefill) speed of a request generating one token."
    )
    generated_tokens: int = Field(..., description="Tokens generated.")
    generation_tokens_per_s: float | None = Field(
        default=..., description="tg: generation (decode) speed of a request with a one-word prompt."
    )
    load_s: float | None = Field(
        default=None, description="Model load time included in this call (Ollama), s."
    )
    total_s: float = Field(..., description="Wall time of the call as the hub saw it, s.")
    devices: str = Field(
        default="",
        description="Where the model ran, from the server log: e.g. Metal (studio) + RPC0[...] (dgx).",
    )
    note: str = Field(default="", description="Caveats, e.g. the call loaded the model first.")
