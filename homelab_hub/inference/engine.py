"""The inference engine: the configured hosts, asked concurrently so one slow host never
stalls the answer, a derived-model fix for oversized contexts, and a short benchmark."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from homelab_hub.errors import HubError, InvalidInput, NotFound
from homelab_hub.inference.checks import HostKind, inference_host_check
from homelab_hub.inference.config import InferenceConfig
from homelab_hub.inference.findings import GB, derived_model_name
from homelab_hub.inference.http import HostBadResponse
from homelab_hub.inference.kv_cache import kv_cache_bytes
from homelab_hub.inference.llama_server import LlamaServerHost
from homelab_hub.inference.ollama import OllamaHost, same_model
from homelab_hub.inference.report import (
    BenchResult,
    DerivedModel,
    InferenceSnapshot,
    LlamaServerReport,
    OllamaHostReport,
)

A = TypeVar("A")
T = TypeVar("T")
MAX_BENCH_PROMPT_TOKENS = 32768
MAX_BENCH_TOKENS = 4096
# Common one-token English words: a prompt of N of them is close to N tokens on any tokenizer.
_WORDS = "the cat sat on a mat and the dog ran to the park while it was warm".split()


class InferenceEngine:
    def __init__(self, config: InferenceConfig) -> None:
        self.config = config
        self.ollama = {
            name: OllamaHost(name, cfg, timeout=config.timeout_s, workload_ctx=config.workload_ctx)
            for name, cfg in config.ollama.items()
        }
        self.llama_cpp = {
            name: LlamaServerHost(name, cfg, timeout=config.timeout_s)
            for name, cfg in config.llama_cpp.items()
        }
        self._probe_lock = threading.Lock()
        self._last_probe: dict[str, tuple[bool, str]] = {}

    def close(self) -> None:
        """Release the hosts' pooled connections."""
        for host in self._hosts:
            host.client.close()

    @property
    def _hosts(self) -> list[OllamaHost | LlamaServerHost]:
        return [*self.ollama.values(), *self.llama_cpp.values()]

    @property
    def host_names(self) -> list[str]:
        return sorted([*self.ollama, *self.llama_cpp])

    # --- ollama_ps ---

    def snapshot(self, host: str | None = None) -> InferenceSnapshot:
        """Every host's state (or one named host). Raises NotFound for an unknown host."""
        ollama = self.ollama
        llama = self.llama_cpp
        if host is not None:
            self._require_host(host)
            ollama = {k: v for k, v in ollama.items() if k == host}
            llama = {k: v for k, v in llama.items() if k == host}
        hosts: list[OllamaHost | LlamaServerHost] = [*ollama.values(), *llama.values()]
        reports = _concurrently(self._report, hosts)
        o = [r for r in reports if isinstance(r, OllamaHostReport)]
        lc = [r for r in reports if isinstance(r, LlamaServerReport)]
        return InferenceSnapshot(summary=_summary(o, lc), ollama=o, llama_cpp=lc)

    def _report(self, host: OllamaHost | LlamaServerHost) -> OllamaHostReport | LlamaServerReport:
        return self._ollama_report(host) if isinstance(host, OllamaHost) else self._llama_report(host)

    def _ollama_report(self, host: OllamaHost) -> OllamaHostReport:
        try:
            return host.report(
                oversized_factor=self.config.oversized_ctx_factor,
                keep_alive_warn_h=self.config.keep_alive_warn_h,
            )
        except HubError as exc:
            return OllamaHostReport(host=host.name, url=host.url, state=_state(exc), error=exc.message)

    def _llama_report(self, host: LlamaServerHost) -> LlamaServerReport:
        try:
            return host.report()
        except HubError as exc:
            return LlamaServerReport(host=host.name, url=host.url, state=_state(exc), error=exc.message)

    # --- ollama_set_context ---

    def set_context(
        self, model: str, num_ctx: int, host: str | None = None, name: str | None = None
    ) -> DerivedModel:
        """Create ``model`` with ``num_ctx`` baked in (the seed's Modelfile fix) via /api/create.

        Raises NotFound (unknown host or model), InvalidInput (num_ctx out of range, bad name),
        and HostTimeout/HostDown/HostBadResponse when the host fails.
        """
        model = model.strip()
        if not model:
            raise InvalidInput("model is empty; give an installed model such as 'qwen2.5vl:7b'")
        if num_ctx <= 0:
            raise InvalidInput(f"num_ctx must be a positive number of tokens such as 4096, got {num_ctx}")
        target = self._ollama_host_for(model, host)
        arch = target.architecture(model)
        if num_ctx > arch.trained_context:
            raise InvalidInput(
                f"num_ctx {num_ctx:,} is above {model}'s trained context of {arch.trained_context:,} tokens; "
                f"pick a value between 1 and {arch.trained_context:,}"
            )
        new_name = (name or "").strip() or derived_model_name(model, num_ctx)
        if same_model(new_name, model) or any(c.isspace() for c in new_name):
            raise InvalidInput(f"name {new_name!r} must differ from {model!r} and contain no spaces")
        status = target.create(new_name, model, num_ctx, timeout=self.config.bench_timeout_s)
        kv_type, parallel = target.config.kv_cache_type, target.config.num_parallel
        kv = kv_cache_bytes(arch, num_ctx, kv_cache_type=kv_type, parallel=parallel)
        kv_trained = kv_cache_bytes(arch, arch.trained_context, kv_cache_type=kv_type, parallel=parallel)
        return DerivedModel(
            host=target.name,
            name=new_name,
            from_model=model,
            num_ctx=num_ctx,
            trained_context=arch.trained_context,
            kv_cache_gb=round(kv / GB, 2),
            kv_cache_at_trained_gb=round(kv_trained / GB, 2),
            status=status,
            next_step=f"Use '{new_name}' instead of '{model}' in your clients; '{model}' keeps its memory until it "
            f"unloads (keep_alive, or `ollama stop {model}` on {target.name}).",
        )

    def _ollama_host_for(self, model: str, host: str | None) -> OllamaHost:
        if host is not None:
            self._require_host(host)
            if host not in self.ollama:
                raise InvalidInput(
                    f"host {host!r} is a llama.cpp server; contexts are set on Ollama hosts {sorted(self.ollama)}"
                )
            return self.ollama[host]
        if not self.ollama:
            raise NotFound("no Ollama hosts are configured ([inference.ollama.NAME] url = ...)")
        if len(self.ollama) == 1:
            return next(iter(self.ollama.values()))
        has = _concurrently(lambda h: (h, _has_model(h, model)), list(self.ollama.values()))
        holders = [h for h, ok in has if ok]
        if len(holders) == 1:
            return holders[0]
        if not holders:
            raise NotFound(
                f"model {model!r} is not installed on any Ollama host ({', '.join(sorted(self.ollama))})"
            )
        raise InvalidInput(
            f"model {model!r} is on several hosts ({', '.join(h.name for h in holders)}); pass host"
        )

    # --- inference_bench ---

    def bench(
        self, host: str, model: str | None, prompt_tokens: int = 512, max_tokens: int = 128
    ) -> BenchResult:
        """One short generation; speeds come from the server's own counters.

        Raises NotFound (unknown host or model), InvalidInput (sizes out of range, no model for
        an Ollama host), HostTimeout/HostDown/HostBadResponse when the host fails.
        """
        self._require_host(host)
        if not 1 <= prompt_tokens <= MAX_BENCH_PROMPT_TOKENS:
            raise InvalidInput(f"prompt_tokens must be 1..{MAX_BENCH_PROMPT_TOKENS}, got {prompt_tokens}")
        if not 1 <= max_tokens <= MAX_BENCH_TOKENS:
            raise InvalidInput(f"max_tokens must be 1..{MAX_BENCH_TOKENS}, got {max_tokens}")
        # A fresh prefix defeats the server's prompt cache, so prefill is really measured.
        prompt = f"{uuid.uuid4().hex[:8]} " + " ".join(
            _WORDS[i % len(_WORDS)] for i in range(prompt_tokens - 1)
        )
        started = time.monotonic()
        if host in self.ollama:
            if not model:
                raise InvalidInput(
                    f"host {host!r} is an Ollama host: name the model to measure, e.g. 'llama3.1:8b'"
                )
            data = self.ollama[host].generate(model, prompt, max_tokens, timeout=self.config.bench_timeout_s)
            return _ollama_bench(host, model, data, time.monotonic() - started)
        server = self.llama_cpp[host]
        data = server.completion(prompt, max_tokens, timeout=self.config.bench_timeout_s)
        return _llama_bench(host, model, data, time.monotonic() - started)

    # --- health ---

    def probe(self) -> dict[str, tuple[bool, str]]:
        """Ask every host whether it answers; the result backs /api/health."""
        timeout = self.config.timeout_s

        def check(host: OllamaHost | LlamaServerHost) -> tuple[str, tuple[bool, str]]:
            kind: HostKind = "ollama" if isinstance(host, OllamaHost) else "llama_cpp"
            return host.name, inference_host_check(host.url, kind=kind, timeout=timeout)

        results = dict(_concurrently(check, self._hosts))
        with self._probe_lock:
            self._last_probe = results
        return results

    @property
    def last_probe(self) -> dict[str, tuple[bool, str]]:
        with self._probe_lock:
            return dict(self._last_probe)

    def _require_host(self, host: str) -> None:
        if host not in self.ollama and host not in self.llama_cpp:
            known = ", ".join(self.host_names) or "none configured"
            raise NotFound(f"unknown inference host {host!r}; known hosts: {known}")


def _has_model(host: OllamaHost, model: str) -> bool:
    try:
        return any(same_model(str(m["name"]), model) for m in host.installed())
    except HubError:
        return False


def _concurrently(fn: Callable[[A], T], items: list[A]) -> list[T]:
    """``fn`` over ``items`` in threads: a host that hangs delays only its own answer."""
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(items)), thread_name_prefix="inference") as pool:
        return list(pool.map(fn, items))


def _state(exc: HubError) -> Any:
    return getattr(exc, "state", "bad_response" if isinstance(exc, HostBadResponse) else "down")


def _summary(ollama: list[OllamaHostReport], llama: list[LlamaServerReport]) -> str:
    if not ollama and not llama:
        return "no inference hosts configured ([inference.ollama.NAME] or [inference.llama_cpp.NAME])"
    parts = []
    if ollama:
        bad = [f"{r.host} {r.state}" for r in ollama if r.state != "ok"]
        loaded = sum(len(r.models) for r in ollama)
        findings = sum(len(m.findings) for r in ollama for m in r.models)
        parts.append(
            f"{len(ollama)} Ollama host(s)"
            + (f" ({', '.join(bad)})" if bad else "")
            + f", {loaded} model(s) loaded, {findings} finding(s)"
        )
    if llama:
        bad = [f"{r.host} {r.state}" for r in llama if r.state != "ok"]
        findings = sum(len(r.findings) for r in llama)
        parts.append(
            f"{len(llama)} llama-server(s)"
            + (f" ({', '.join(bad)})" if bad else "")
            + f", {findings} finding(s)"
        )
    return "; ".join(parts)


def _rate(count: Any, seconds: float) -> float | None:
    return round(count / seconds, 2) if isinstance(count, (int, float)) and seconds > 0 else None


def _ollama_bench(host: str, model: str, data: dict[str, Any], wall: float) -> BenchResult:
    ns = 1e9  # Ollama reports durations in nanoseconds
    prompt_n, gen_n = int(data.get("prompt_eval_count") or 0), int(data.get("eval_count") or 0)
    load_s = float(data.get("load_duration") or 0) / ns
    note = f"the call loaded the model first ({load_s:.1f} s, not in the speeds)" if load_s > 1 else ""
    return BenchResult(
        host=host,
        kind="ollama",
        model=model,
        prompt_tokens=prompt_n,
        prompt_tokens_per_s=_rate(prompt_n, float(data.get("prompt_eval_duration") or 0) / ns),
        generated_tokens=gen_n,
        generation_tokens_per_s=_rate(gen_n, float(data.get("eval_duration") or 0) / ns),
        load_s=round(load_s, 3),
        total_s=round(wall, 3),
        note=note,
    )


def _llama_bench(host: str, model: str | None, data: dict[str, Any], wall: float) -> BenchResult:
    timings = data.get("timings")
    if not isinstance(timings, dict):
        raise HostBadResponse(f"{host} /completion answered without timings")
    prompt_n, gen_n = int(timings.get("prompt_n") or 0), int(timings.get("predicted_n") or 0)
    return BenchResult(
        host=host,
        kind="llama_cpp",
        model=model or str(data.get("model") or data.get("generation_settings", {}).get("model") or "?"),
        prompt_tokens=prompt_n,
        prompt_tokens_per_s=_rate(prompt_n, float(timings.get("prompt_ms") or 0) / 1000),
        generated_tokens=gen_n,
        generation_tokens_per_s=_rate(gen_n, float(timings.get("predicted_ms") or 0) / 1000),
        total_s=round(wall, 3),
    )
