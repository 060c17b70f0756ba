"""Why a model got its context, and whether clients make Ollama reload it back and forth.

Ollama's precedence for a model's context: the request's ``options.num_ctx``, else the
Modelfile's ``PARAMETER num_ctx``, else OLLAMA_CONTEXT_LENGTH (0.5.13+), else the version's
default (2048; 4096 from 0.6.7; from 0.15.5 a tier of total VRAM), each clamped to the model's
trained context. The loaded context is matched against that chain from the top.
"""

from __future__ import annotations

from dataclasses import dataclass

from homelab_hub.inference import advice
from homelab_hub.inference.report import ContextCause, Finding
from homelab_hub.inference.versions import VRAM_TIERS, OllamaVersion

_TIERS_TEXT = "4,096 below 24 GiB, 32,768 up to 48 GiB, 262,144 above"


@dataclass(frozen=True)
class ContextInputs:
    model: str
    version: OllamaVersion
    loaded: int
    trained: int | None
    modelfile_ctx: int | None
    env_ctx: int | None  # OLLAMA_CONTEXT_LENGTH from the server log; None when unset or unknown
    log_read: bool  # the server config line was seen, so env_ctx None means unset
    logged_default: int | None  # "vram-based default context" from the log
    total_vram: int | None


def _clamp(value: int, trained: int | None) -> int:
    return min(value, trained) if trained else value


def context_cause(i: ContextInputs) -> ContextCause:
    """The first rule of Ollama's precedence that explains ``i.loaded``."""
    clamp = lambda n: _clamp(n, i.trained)  # noqa: E731
    trained = f", clamped to {i.model}'s trained {i.trained:,}" if i.trained else ""
    if i.modelfile_ctx:
        if clamp(i.modelfile_ctx) == i.loaded:
            return ContextCause(
                source="modelfile",
                explanation=f"{i.model}'s Modelfile sets PARAMETER num_ctx {i.modelfile_ctx:,}.",
            )
        return _request(i, clamp(i.modelfile_ctx), f"its Modelfile's num_ctx {i.modelfile_ctx:,}")
    # Before 0.15.5 the server config line prints the default (2048 or 4096) when the variable
    # is unset, so that value alone does not show that someone set it.
    env_set = i.env_ctx is not None and i.env_ctx != i.version.fixed_default_context
    if i.env_ctx and env_set and i.version.has_context_env:
        if clamp(i.env_ctx) == i.loaded:
            return ContextCause(
                source="env",
                explanation=f"OLLAMA_CONTEXT_LENGTH={i.env_ctx} in the server's environment (its log at start)"
                f"{trained}.",
            )
        return _request(i, clamp(i.env_ctx), f"OLLAMA_CONTEXT_LENGTH={i.env_ctx}")
    fixed = i.version.fixed_default_context
    if fixed is not None:
        if clamp(fixed) == i.loaded:
            return ContextCause(
                source="default",
                explanation=f"{i.version.label}'s default context of {fixed:,} tokens{trained}.",
            )
        return _request(i, clamp(fixed), f"the default {fixed:,}")
    default = i.logged_default
    if default is None and i.total_vram is not None:
        default = next(ctx for floor, ctx in VRAM_TIERS if i.total_vram >= floor)
    if default is not None:
        if clamp(default) == i.loaded:
            return ContextCause(source="vram_default", explanation=_vram_text(i, default, trained))
        return _request(i, clamp(default), f"the VRAM default {default:,}")
    if i.loaded in {clamp(ctx) for _, ctx in VRAM_TIERS} and not i.log_read:
        return ContextCause(
            source="vram_default",
            explanation=f"Most likely {i.version.label}'s VRAM-based default ({_TIERS_TEXT}){trained}, or "
            f"OLLAMA_CONTEXT_LENGTH={i.loaded}: the hub cannot see this host's VRAM or environment without its "
            "server log.",
        )
    return ContextCause(
        source="unknown",
        explanation="A request's num_ctx or OLLAMA_CONTEXT_LENGTH; configure the server log to tell which.",
    )


def _vram_text(i: ContextInputs, default: int, trained: str) -> str:
    vram = f"{i.total_vram / 1024**3:.1f} GiB of VRAM" if i.total_vram else "its VRAM"
    reached = (
        " On a 120 GB DGX Spark or a Mac Studio that reaches the model's maximum."
        if (i.trained and default >= i.trained)
        else ""
    )
    return (
        f"No request, Modelfile or OLLAMA_CONTEXT_LENGTH sets it, so {i.version.label} picks the default from "
        f"{vram}: {default:,} tokens ({_TIERS_TEXT}){trained}.{reached}"
    )


def _request(i: ContextInputs, default: int, what: str) -> ContextCause:
    asked = (
        f"A client's request asked for num_ctx {i.loaded:,} (options.num_ctx of /api/chat or /api/generate); "
        f"without it {i.model} would load at {default:,} ({what})"
    )
    if i.log_read or not i.version.has_context_env or i.modelfile_ctx:
        return ContextCause(source="request", explanation=asked + ".")
    return ContextCause(
        source="unknown",
        explanation=f"{asked}, unless OLLAMA_CONTEXT_LENGTH={i.loaded} is set on the host: the hub cannot see "
        "its environment without the server log.",
    )


def reload_finding(
    model: str, version: OllamaVersion, contexts: list[int], window_s: float, seen_by: str
) -> Finding:
    """Repeated loads of one model at different contexts: clients disagree on num_ctx."""
    sizes = ", ".join(f"{c:,}" for c in sorted(set(contexts)))
    minutes = window_s / 60
    span = f"{minutes / 60:.0f} h" if minutes >= 60 else f"{minutes:.0f} min"
    return Finding(
        kind="context_reloads",
        message=f"{model} was loaded {len(contexts)} times in the last {span} at contexts of {sizes} tokens "
        f"({seen_by}): its clients disagree on num_ctx, and every switch reloads it.",
        fix=advice.REQUEST_NOTE
        + " Give every client one context: bake it into a model with ollama_set_context and use that name from "
        "both the /v1 and the /api clients, or drop num_ctx from the /api clients' options. "
        + advice.host_default(version, min(contexts)),
    )
