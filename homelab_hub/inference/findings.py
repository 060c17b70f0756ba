"""Plain-language findings about a loaded model, each naming its fix.

The rules come from the seed's incident: a 6 GB vision model loaded at its declared
131,072-token context held 70.8 GB, because Ollama allocates the whole KV cache at load,
per-request ``num_ctx`` does not shrink a loaded model, and a pipeline calling every 5 s
keeps it loaded forever. The fix that worked is a derived model with ``num_ctx`` baked in.
"""

from __future__ import annotations

from homelab_hub.inference.report import Finding, KvCacheEstimate

GB = 1e9


def derived_model_name(model: str, num_ctx: int) -> str:
    """``qwen2.5vl:7b`` at 4096 → ``qwen2.5vl:7b-4k`` (the seed's naming); ``llama3`` → ``llama3:latest-4k``."""
    base, _, tag = model.partition(":")
    suffix = f"{num_ctx // 1024}k" if num_ctx % 1024 == 0 else f"ctx{num_ctx}"
    return f"{base}:{tag or 'latest'}-{suffix}"


def model_findings(
    *,
    model: str,
    size: int,
    size_vram: int,
    weights: int | None,
    kv: KvCacheEstimate | None,
    oversized_factor: float,
    expires_in_s: float | None,
    keep_alive_warn_h: float,
) -> list[Finding]:
    out: list[Finding] = []
    if kv is not None:
        out.extend(_context_findings(model, weights, kv, oversized_factor))
        if weights and size - weights > 2 * kv.at_loaded_gb * GB + GB:
            beyond = (size - weights) / GB
            out.append(
                Finding(
                    kind="memory_unexplained",
                    message=f"{model} holds {beyond:.1f} GB beyond its {weights / GB:.1f} GB of weights, well above the "
                    f"~{kv.at_loaded_gb:.1f} GB KV estimate for {kv.parallel} slot(s) at {kv.loaded_context:,} tokens.",
                    fix="If the host runs with OLLAMA_NUM_PARALLEL > 1 (older Ollama picks up to 4 by itself), set "
                    "num_parallel for this host in [inference.ollama.NAME]: every slot holds its own cache. Compute "
                    "buffers also grow with the context, so a smaller num_ctx helps either way.",
                )
            )
    if size > 0 and size_vram < size:
        cpu_gb = (size - size_vram) / GB
        share = 100 * (size - size_vram) / size
        where = "entirely" if size_vram == 0 else f"{share:.0f}% ({cpu_gb:.1f} GB)"
        kv_hint = f" (its KV cache alone is ~{kv.at_loaded_gb:.1f} GB)" if kv else ""
        out.append(
            Finding(
                kind="cpu_offload",
                message=f"{model} runs {where} from system RAM on the CPU; generation slows by up to an order of magnitude.",
                fix=f"Free GPU memory so every layer fits: lower its context{kv_hint}, unload other models "
                "(keep_alive 0 or `ollama stop`), or use a smaller quantisation.",
            )
        )
    if expires_in_s is not None and expires_in_s > keep_alive_warn_h * 3600:
        held = f"{size / GB:.1f} GB"
        span = _duration(expires_in_s)
        span = "forever" if span == "ever" else f"for {span}"
        out.append(
            Finding(
                kind="never_unloads",
                message=f"{model} stays loaded {span} (keep_alive -1 or a long OLLAMA_KEEP_ALIVE): "
                f"its {held}, KV cache included, are held permanently.",
                fix="If it need not stay resident, set OLLAMA_KEEP_ALIVE=5m on the host (or keep_alive per request); "
                "if it must, give it a small context with ollama_set_context so the permanent cost is small.",
            )
        )
    return out


def _context_findings(model: str, weights: int | None, kv: KvCacheEstimate, factor: float) -> list[Finding]:
    out: list[Finding] = []
    derived = derived_model_name(model, kv.sensible_context)
    fix_ctx = (
        f"ollama_set_context(model='{model}', num_ctx={kv.sensible_context}) creates '{derived}'; point your "
        f"clients at it, and set OLLAMA_NUM_CTX={kv.sensible_context} on the host as a default. "
        "A num_ctx in requests does not shrink a model that is already loaded."
    )
    if kv.loaded_context >= factor * kv.sensible_context:
        ratio = kv.loaded_context / kv.sensible_context
        out.append(
            Finding(
                kind="context_oversized",
                message=f"{model} is loaded with a {kv.loaded_context:,}-token context, {ratio:.0f}× the "
                f"{kv.sensible_context:,} its workload uses; its KV cache is ~{kv.at_loaded_gb:.1f} GB "
                f"instead of ~{kv.at_sensible_gb:.1f} GB ({kv.saving_gb:.1f} GB wasted).",
                fix=fix_ctx,
            )
        )
    if weights and kv.at_loaded_gb * GB > weights:
        out.append(
            Finding(
                kind="kv_exceeds_weights",
                message=f"{model}'s KV cache (~{kv.at_loaded_gb:.1f} GB at {kv.loaded_context:,} tokens) is larger "
                f"than its weights ({weights / GB:.1f} GB): most of its memory is reserved context.",
                fix=f"Lower the context: ollama_set_context(model='{model}', num_ctx={kv.sensible_context}); "
                "or set OLLAMA_KV_CACHE_TYPE=q8_0 with OLLAMA_FLASH_ATTENTION=1 on the host to about halve the cache.",
            )
        )
    return out


def _duration(seconds: float) -> str:
    if seconds > 50 * 365 * 86400:
        return "ever"
    if seconds >= 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    whole = round(seconds)
    if whole >= 60:
        return f"{whole // 60}m {whole % 60}s"
    return f"{whole}s"


def duration_text(seconds: float | None) -> str:
    """A model's time to unload, for people: '4m 12s', '3 days', 'never'."""
    if seconds is None:
        return ""
    if seconds <= 0:
        return "now"
    text = _duration(seconds)
    return "never" if text == "ever" else text
