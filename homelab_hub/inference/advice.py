"""Fix texts for one Ollama version: every variable named here exists on that version.

The rules (see `versions`): OLLAMA_CONTEXT_LENGTH from 0.5.13 (never "OLLAMA_NUM_CTX", which
Ollama never had), OLLAMA_KV_CACHE_TYPE from 0.5.0 and only with flash attention, flash
attention automatic where supported from 0.12.4, OLLAMA_NUM_PARALLEL defaulting to 1 from 0.10.0.
"""

from __future__ import annotations

from homelab_hub.inference.versions import CONTEXT_LENGTH_ENV, OllamaVersion

# Ollama reloads a model whose loaded options differ from a request's (server/sched.go
# needsReload compares the runner options, num_ctx included). The OpenAI-compatible /v1 API
# has no num_ctx, so its requests always ask for the default.
REQUEST_NOTE = (
    "A request that sends options.num_ctx makes Ollama reload the model at that size; clients on the "
    "OpenAI-compatible /v1 API cannot send num_ctx and get the default, so mixing them with /api/chat "
    "calls that do reloads the model back and forth."
)


def _v(version: OllamaVersion) -> str:
    return ".".join(map(str, version.number)) if version.number else "newer"


def derived_fix(model: str, num_ctx: int, derived: str) -> str:
    return (
        f"ollama_set_context(model='{model}', num_ctx={num_ctx}) creates '{derived}' (a Modelfile with "
        f"PARAMETER num_ctx {num_ctx}); point every client at it."
    )


def host_default(version: OllamaVersion, num_ctx: int) -> str:
    """How to make ``num_ctx`` the host's default for models without their own."""
    if not version.has_context_env:
        since = ".".join(map(str, CONTEXT_LENGTH_ENV))
        return (
            f"{version.label} has no host-wide context setting (one arrived in {since}): use derived models, "
            "or upgrade."
        )
    return (
        f"For a host-wide default, set OLLAMA_CONTEXT_LENGTH={num_ctx} in the Ollama server's environment "
        f'(systemd: `sudo systemctl edit ollama`, add [Service] Environment="OLLAMA_CONTEXT_LENGTH={num_ctx}", '
        f"then `sudo systemctl restart ollama`; Docker: -e OLLAMA_CONTEXT_LENGTH={num_ctx})."
    )


def kv_quantisation(version: OllamaVersion, flash_attention: str | None) -> str:
    """How to halve the KV cache on this version, or that it cannot."""
    if not version.has_kv_cache_type:
        return f"{version.label} cannot quantise the KV cache; Ollama 0.5 and later can."
    text = (
        "OLLAMA_KV_CACHE_TYPE=q8_0 on the host about halves the KV cache; it applies to every model the "
        "host serves and takes effect only with flash attention"
    )
    if flash_attention and flash_attention.lower() in ("disabled", "false"):
        return text + ", which this load ran without (the model may not support it)."
    if flash_attention and flash_attention.lower() in ("enabled", "true"):
        return text + ", which this load runs with."
    if version.flash_attention_auto:
        return text + f", which Ollama {_v(version)} turns on by itself for models that support it."
    return text + ", so set OLLAMA_FLASH_ATTENTION=1 too."


def parallel_slots(version: OllamaVersion) -> str:
    """What decides the number of slots (each a full KV cache) on this version."""
    auto = version.auto_parallel_max
    if auto is not None:
        return (
            f"{version.label} picks up to {auto} slots per model by itself when memory allows, and every slot "
            "holds a full KV cache: set OLLAMA_NUM_PARALLEL=1 on the host if requests do not overlap."
        )
    if not version.has_num_parallel:
        return f"{version.label} serves one request per model at a time."
    return (
        f"Ollama {_v(version)} uses one slot per model unless OLLAMA_NUM_PARALLEL is set; each extra slot holds "
        "a full KV cache, so lower OLLAMA_NUM_PARALLEL if requests rarely overlap."
    )


def flash_attention(version: OllamaVersion, state: str | None) -> str:
    """Flash attention keeps the attention scores out of the compute graph at long contexts."""
    off = (state or "").lower() in ("disabled", "false")
    if version.flash_attention_auto:
        if off:
            return (
                f"This load ran without flash attention: Ollama {_v(version)} enables it by itself only for "
                "models that support it (or OLLAMA_FLASH_ATTENTION=0 is set on the host)."
            )
        return f"Ollama {_v(version)} enables flash attention by itself where the model supports it."
    return f"On {version.label}, OLLAMA_FLASH_ATTENTION=1 on the host enables flash attention for models that support it."
