"""Plain-language findings about a loaded Ollama model, each naming a fix for its version.

The rules come from the seed's incident, corrected against today's Ollama: qwen2.5vl:7b (5.97 GB
of weights) loaded at its 131,072-token trained context showed 70.8 GB in ``ollama ps``. The KV
formula gives about 7 GiB for that context and one slot, not the 65 GB the seed attributed to the
KV cache: the rest is compute graph, vision buffers, extra slots or Ollama's own estimate, which
only the server log tells apart (`MemoryBreakdown`). The fix that works on every version is a
derived model with ``num_ctx`` baked in; the host-wide default and the reload trap depend on the
version (`advice`).
"""

from __future__ import annotations

from dataclasses import dataclass

from homelab_hub.inference import advice
from homelab_hub.inference.report import Finding, KvCacheEstimate, MemoryBreakdown
from homelab_hub.inference.versions import OllamaVersion

GB = 1e9


def derived_model_name(model: str, num_ctx: int) -> str:
    """``qwen2.5vl:7b`` at 4096 → ``qwen2.5vl:7b-4k`` (the seed's naming); ``llama3`` → ``llama3:latest-4k``."""
    base, _, tag = model.partition(":")
    suffix = f"{num_ctx // 1024}k" if num_ctx % 1024 == 0 else f"ctx{num_ctx}"
    return f"{base}:{tag or 'latest'}-{suffix}"


@dataclass(frozen=True)
class ModelFacts:
    """What the findings look at for one loaded model."""

    model: str
    version: OllamaVersion
    size: int
    size_vram: int
    weights: int | None
    kv: KvCacheEstimate | None
    memory: MemoryBreakdown | None
    expires_in_s: float | None


def model_findings(facts: ModelFacts, *, oversized_factor: float, keep_alive_warn_h: float) -> list[Finding]:
    out: list[Finding] = []
    if facts.kv is not None:
        out.extend(_context_findings(facts, oversized_factor))
    if facts.memory is not None and facts.memory.source == "measured":
        out.extend(_measured_findings(facts))
    elif facts.kv is not None:
        out.extend(_unexplained(facts, facts.kv))
    out.extend(_cpu_offload(facts))
    out.extend(_never_unloads(facts, keep_alive_warn_h))
    return out


def _kv_gb(facts: ModelFacts) -> tuple[float, str]:
    """The KV cache size to quote, measured when the log had it."""
    if facts.memory and facts.memory.source == "measured" and facts.memory.kv_cache_gb is not None:
        return facts.memory.kv_cache_gb, "measured"
    assert facts.kv is not None
    return facts.kv.at_loaded_gb, "estimated"


def _context_findings(facts: ModelFacts, factor: float) -> list[Finding]:
    kv = facts.kv
    assert kv is not None
    out: list[Finding] = []
    model, version = facts.model, facts.version
    derived = derived_model_name(model, kv.sensible_context)
    kv_gb, how = _kv_gb(facts)
    flash = facts.memory.flash_attention if facts.memory else None
    if kv.loaded_context >= factor * kv.sensible_context:
        ratio = kv.loaded_context / kv.sensible_context
        out.append(
            Finding(
                kind="context_oversized",
                message=f"{model} is loaded with a {kv.loaded_context:,}-token context, {ratio:.0f}x the "
                f"{kv.sensible_context:,} its workload uses; its KV cache is {kv_gb:.1f} GB ({how}) instead of "
                f"~{kv.at_sensible_gb:.1f} GB at {kv.sensible_context:,} tokens.",
                fix=" ".join(
                    [
                        advice.derived_fix(model, kv.sensible_context, derived),
                        advice.host_default(version, kv.sensible_context),
                        advice.REQUEST_NOTE,
                    ]
                ),
            )
        )
    if facts.weights and kv_gb * GB > facts.weights:
        out.append(
            Finding(
                kind="kv_exceeds_weights",
                message=f"{model}'s KV cache ({kv_gb:.1f} GB {how} at {kv.loaded_context:,} tokens) is larger than "
                f"its weights ({facts.weights / GB:.1f} GB): most of its memory is reserved context.",
                fix=f"Lower the context: {advice.derived_fix(model, kv.sensible_context, derived)} "
                + advice.kv_quantisation(version, flash),
            )
        )
    return out


def _measured_findings(facts: ModelFacts) -> list[Finding]:
    mem = facts.memory
    assert mem is not None
    graph, weights, kv = mem.compute_graph_gb or 0.0, mem.weights_gb or 0.0, mem.kv_cache_gb or 0.0
    if graph < 1.0 or graph < weights or graph < kv:
        return []
    context = f" at {facts.kv.loaded_context:,} tokens" if facts.kv else ""
    lower = ""
    if facts.kv is not None:
        derived = derived_model_name(facts.model, facts.kv.sensible_context)
        lower = advice.derived_fix(facts.model, facts.kv.sensible_context, derived) + " "
    return [
        Finding(
            kind="compute_graph_large",
            message=f"{facts.model}'s compute graph takes {graph:.1f} GB{context}, more than its weights "
            f"({weights:.1f} GB) and its KV cache ({kv:.1f} GB) (measured, server log).",
            fix="The graph grows with the context and batch: a smaller context shrinks it. "
            + lower
            + advice.flash_attention(facts.version, mem.flash_attention),
        )
    ]


def _unexplained(facts: ModelFacts, kv: KvCacheEstimate) -> list[Finding]:
    if not facts.weights or facts.size - facts.weights <= 2 * kv.at_loaded_gb * GB + GB:
        return []
    beyond = (facts.size - facts.weights) / GB
    return [
        Finding(
            kind="memory_unexplained",
            message=f"{facts.model} holds {beyond:.1f} GB beyond its {facts.weights / GB:.1f} GB model file, well "
            f"above the ~{kv.at_loaded_gb:.1f} GB KV estimate for {kv.parallel} slot(s) at "
            f"{kv.loaded_context:,} tokens (estimate: the server log was not read).",
            fix="The rest is compute graph, vision buffers, extra slots or Ollama's own estimate; give the hub "
            "the server log ([inference.ollama.NAME] log_file, log_journald_unit or log_docker_container) to "
            "see the measured split. " + advice.parallel_slots(facts.version),
        )
    ]


def _cpu_offload(facts: ModelFacts) -> list[Finding]:
    if facts.size <= 0 or facts.size_vram >= facts.size:
        return []
    cpu_gb = (facts.size - facts.size_vram) / GB
    share = 100 * (facts.size - facts.size_vram) / facts.size
    where = "entirely" if facts.size_vram == 0 else f"{share:.0f}% ({cpu_gb:.1f} GB)"
    mem = facts.memory
    layers = ""
    if mem and mem.layers_on_gpu is not None and mem.layers_total:
        layers = f" ({mem.layers_on_gpu}/{mem.layers_total} layers on the GPU)"
    kv_hint = f" (its KV cache alone is {_kv_gb(facts)[0]:.1f} GB)" if facts.kv else ""
    return [
        Finding(
            kind="cpu_offload",
            message=f"{facts.model} runs {where} from system RAM on the CPU{layers}; generation slows by up to an "
            "order of magnitude.",
            fix=f"Free GPU memory so every layer fits: lower its context{kv_hint}, unload other models "
            "(keep_alive 0 or `ollama stop`), or use a smaller quantisation.",
        )
    ]


def _never_unloads(facts: ModelFacts, keep_alive_warn_h: float) -> list[Finding]:
    if facts.expires_in_s is None or facts.expires_in_s <= keep_alive_warn_h * 3600:
        return []
    span = _duration(facts.expires_in_s)
    span = "forever" if span == "ever" else f"for {span}"
    return [
        Finding(
            kind="never_unloads",
            message=f"{facts.model} stays loaded {span} (keep_alive -1 or a long OLLAMA_KEEP_ALIVE): its "
            f"{facts.size / GB:.1f} GB are held permanently.",
            fix="If it need not stay resident, set OLLAMA_KEEP_ALIVE=5m on the host (or keep_alive per request); "
            "if it must, give it a small context with ollama_set_context so the permanent cost is small.",
        )
    ]


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
