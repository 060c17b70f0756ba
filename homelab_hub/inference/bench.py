"""inference_bench: prompt processing and generation measured apart, like llama-bench's pp and tg.

Two requests per bench: ``pp`` sends ``prompt_tokens`` and asks for one token, so its prompt
speed is prefill alone; ``tg`` sends a one-word prompt and generates ``max_tokens``, so its
generation speed is decode alone (in one request the two mix: a long prompt's cache makes decode
slower than a tg run). This is what the seed's table compares per host (local vs split, pp and
tg), and speeds come from the server's own counters, never from the hub's clock.

The prompt plus the tokens to generate must fit the context the model runs with: Ollama
silently truncates a prompt longer than num_ctx ("truncating input prompt") and llama-server
refuses it, so either way the figures would not measure what was asked. The bench refuses first.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from homelab_hub.clients.http import HostBadResponse
from homelab_hub.clients.ollama import Generation
from homelab_hub.errors import HubError, InvalidInput
from homelab_hub.inference.llama_server import LlamaServerHost
from homelab_hub.inference.ollama import OllamaHost, same_model
from homelab_hub.inference.report import BenchResult
from homelab_hub.inference.versions import OllamaVersion
from homelab_hub.redact import redact_text

MAX_BENCH_PROMPT_TOKENS = 32768
MAX_BENCH_TOKENS = 4096
# Common one-token English words: a prompt of N of them is close to N tokens on any tokenizer.
_WORDS = "the cat sat on a mat and the dog ran to the park while it was warm".split()


def bench_prompt(prompt_tokens: int) -> str:
    # A fresh prefix defeats the server's prompt cache, so prefill is really measured.
    return f"{uuid.uuid4().hex[:8]} " + " ".join(_WORDS[i % len(_WORDS)] for i in range(prompt_tokens - 1))


def check_sizes(prompt_tokens: int, max_tokens: int) -> None:
    """Raises InvalidInput outside 1..MAX (the same bounds as the tool's input schema)."""
    if not 1 <= prompt_tokens <= MAX_BENCH_PROMPT_TOKENS:
        raise InvalidInput(f"prompt_tokens must be 1..{MAX_BENCH_PROMPT_TOKENS}, got {prompt_tokens}")
    if not 1 <= max_tokens <= MAX_BENCH_TOKENS:
        raise InvalidInput(f"max_tokens must be 1..{MAX_BENCH_TOKENS}, got {max_tokens}")


def check_fits(prompt_tokens: int, max_tokens: int, context: int | None, what: str) -> None:
    """Raises InvalidInput when prompt + generation exceed ``context``."""
    if context is None or prompt_tokens + max_tokens <= context:
        return
    room = max(1, context - max_tokens)
    raise InvalidInput(
        f"prompt_tokens {prompt_tokens:,} + max_tokens {max_tokens:,} = {prompt_tokens + max_tokens:,} exceeds "
        f"the {context:,}-token context of {what}; lower them to fit, e.g. prompt_tokens={room} with "
        f"max_tokens={min(max_tokens, context - 1)}"
    )


def ollama_context(host: OllamaHost, model: str) -> tuple[int | None, str]:
    """The context ``model`` runs (or would load) with on ``host``, and where that comes from.
    Raises NotFound for a model that is not installed."""
    for loaded in host.client.ps():
        if same_model(loaded.name, model) and loaded.context_length is not None:
            return loaded.context_length, f"{model} as loaded on {host.name}"
    facts = host.facts(model)  # NotFound for an unknown model, before anything is generated
    if facts.modelfile_ctx:
        ctx = min(facts.modelfile_ctx, facts.architecture.trained_context or facts.modelfile_ctx)
        return ctx, f"{model} (its Modelfile's num_ctx) on {host.name}"
    try:
        version = OllamaVersion.parse(host.client.version())
    except HubError:
        return None, ""
    default = version.fixed_default_context
    if default is not None:
        ctx = min(default, facts.architecture.trained_context or default)
        return ctx, f"{model} at {version.label}'s default context on {host.name}"
    return None, ""  # the VRAM tier decides; the server will say if it truncates


def run_ollama(
    host: OllamaHost, model: str, prompt_tokens: int, max_tokens: int, timeout: float
) -> BenchResult:
    context, what = ollama_context(host, model)
    check_fits(prompt_tokens, max_tokens, context, what)
    started = time.monotonic()
    pp = host.client.generate(model, bench_prompt(prompt_tokens), 1, timeout_s=timeout)
    tg = host.client.generate(model, bench_prompt(1), max_tokens, timeout_s=timeout)
    return _ollama_result(host.name, model, pp, tg, time.monotonic() - started, context)


def run_llama(
    host: LlamaServerHost, model: str | None, prompt_tokens: int, max_tokens: int, timeout: float
) -> BenchResult:
    props = host.props(model, autoload=True)  # measuring a router's model may load it
    if props.get("role") == "router" and not model:
        raise InvalidInput(f"host {host.name!r} is a llama-server router: name the model to measure")
    settings = props.get("default_generation_settings")
    n_ctx = settings.get("n_ctx") if isinstance(settings, dict) else None
    context = n_ctx if isinstance(n_ctx, int) and n_ctx > 0 else None
    check_fits(prompt_tokens, max_tokens, context, f"each slot of {host.name}")
    started = time.monotonic()
    pp = host.completion(bench_prompt(prompt_tokens), 1, timeout=timeout, model=model)
    tg = host.completion(bench_prompt(1), max_tokens, timeout=timeout, model=model)
    return _llama_result(host.name, model, pp, tg, time.monotonic() - started, context)


def _rate(count: Any, seconds: float) -> float | None:
    return round(count / seconds, 2) if isinstance(count, (int, float)) and seconds > 0 else None


def _ollama_result(
    host: str, model: str, pp: Generation, tg: Generation, wall: float, context: int | None
) -> BenchResult:
    ns = 1e9  # Ollama reports durations in nanoseconds
    prompt_n, gen_n = pp.prompt_eval_count, tg.eval_count
    load_s = pp.load_duration_ns / ns
    note = f"the call loaded the model first ({load_s:.1f} s, not in the speeds)" if load_s > 1 else ""
    return BenchResult(
        host=host,
        kind="ollama",
        model=model,
        context=context,
        prompt_tokens=prompt_n,
        prompt_tokens_per_s=_rate(prompt_n, pp.prompt_eval_duration_ns / ns),
        generated_tokens=gen_n,
        generation_tokens_per_s=_rate(gen_n, tg.eval_duration_ns / ns),
        load_s=round(load_s, 3),
        total_s=round(wall, 3),
        note=note,
    )


def _timings(host: str, data: dict[str, Any]) -> dict[str, Any]:
    timings = data.get("timings")
    if not isinstance(timings, dict):
        raise HostBadResponse(f"{host} /completion answered without timings")
    return timings


def _llama_result(
    host: str, model: str | None, pp: dict[str, Any], tg: dict[str, Any], wall: float, context: int | None
) -> BenchResult:
    pp_t, tg_t = _timings(host, pp), _timings(host, tg)
    prompt_n, gen_n = int(pp_t.get("prompt_n") or 0), int(tg_t.get("predicted_n") or 0)
    settings = pp.get("generation_settings")
    reported = pp.get("model") or (settings.get("model") if isinstance(settings, dict) else None)
    return BenchResult(
        host=host,
        kind="llama_cpp",
        model=redact_text(str(model or reported or "?")),
        context=context,
        prompt_tokens=prompt_n,
        prompt_tokens_per_s=_rate(prompt_n, float(pp_t.get("prompt_ms") or 0) / 1000),
        generated_tokens=gen_n,
        generation_tokens_per_s=_rate(gen_n, float(tg_t.get("predicted_ms") or 0) / 1000),
        total_s=round(wall, 3),
    )
