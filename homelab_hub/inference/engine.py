"""The inference engine: the configured hosts, asked concurrently so one slow host never
stalls the answer, a derived-model fix for oversized contexts, and a short benchmark.

Every URL and error text it returns or logs has passed through `homelab_hub.redact`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from homelab_hub.clients.http import HostBadResponse
from homelab_hub.errors import HubError, InvalidInput, NotFound
from homelab_hub.inference import bench as _bench
from homelab_hub.inference.config import InferenceConfig
from homelab_hub.inference.context import reload_finding
from homelab_hub.inference.findings import GB, derived_model_name
from homelab_hub.inference.kv_cache import kv_cache_bytes
from homelab_hub.inference.llama_log import LlamaLoad
from homelab_hub.inference.llama_server import LlamaServerHost
from homelab_hub.inference.ollama import OllamaHost, ReportSettings, same_model
from homelab_hub.inference.report import BenchResult, DerivedModel, OllamaHostReport
from homelab_hub.inference.report_llama import InferenceSnapshot, LlamaServerReport
from homelab_hub.inference.report_rpc import RpcServerReport, rpc_report
from homelab_hub.inference.rpc import RpcProbe, RpcProber
from homelab_hub.inference.split import RpcHost, analyse
from homelab_hub.inference.versions import OllamaVersion
from homelab_hub.redact import redact_text

log = logging.getLogger(__name__)

A = TypeVar("A")
T = TypeVar("T")
MAX_BENCH_PROMPT_TOKENS = _bench.MAX_BENCH_PROMPT_TOKENS
MAX_BENCH_TOKENS = _bench.MAX_BENCH_TOKENS
# Below 256 tokens a model cannot hold a system prompt; the upper bound is far above any
# trained context shipped today (the model's own trained context is checked as well).
MIN_NUM_CTX = 256
MAX_NUM_CTX = 16_777_216
MAX_NAME = 200
Report = OllamaHostReport | LlamaServerReport


class InferenceEngine:
    def __init__(self, config: InferenceConfig) -> None:
        self.config = config
        self.ollama = {
            name: OllamaHost(
                name,
                cfg,
                timeout=config.timeout_s,
                workload_ctx=config.workload_ctx,
                log_lines=config.log_tail_lines,
            )
            for name, cfg in config.ollama.items()
        }
        self.llama_cpp = {
            name: LlamaServerHost(name, cfg, timeout=config.timeout_s, log_lines=config.log_tail_lines)
            for name, cfg in config.llama_cpp.items()
        }
        self.rpc = dict(config.rpc)
        self._rpc_prober = RpcProber()
        self._lock = threading.Lock()
        self._last_probe: dict[str, tuple[bool, str]] = {}
        self._last_snapshot: tuple[float, InferenceSnapshot] | None = None
        # (host, model) -> recent (monotonic time, context) observations, for reloads the probe sees.
        self._contexts: dict[tuple[str, str], deque[tuple[float, int]]] = {}
        self._settings = ReportSettings(
            oversized_factor=config.oversized_ctx_factor,
            keep_alive_warn_h=config.keep_alive_warn_h,
            reload_window_s=config.reload_window_s,
            reload_warn_count=config.reload_warn_count,
        )

    def close(self) -> None:
        """Release the hosts' pooled connections."""
        for host in self._hosts:
            host.client.close()

    @property
    def _hosts(self) -> list[OllamaHost | LlamaServerHost]:
        return [*self.ollama.values(), *self.llama_cpp.values()]

    @property
    def host_names(self) -> list[str]:
        return sorted([*self.ollama, *self.llama_cpp, *self.rpc])

    # --- ollama_ps ---

    def snapshot(self, host: str | None = None) -> InferenceSnapshot:
        """Every host's state (or one named host). Raises NotFound for an unknown host."""
        hosts = self._hosts
        rpc_names = sorted(self.rpc)
        if host is not None:
            self._require_host(host)
            hosts = [h for h in hosts if h.name == host]
            if host in self.rpc:
                rpc_names = [host]
            elif host not in self.llama_cpp:
                rpc_names = []
        jobs: list[Callable[[], Any]] = [partial(self._report, h) for h in hosts]
        jobs += [
            partial(self._rpc_prober.probe, self.rpc[n].address, self.config.timeout_s) for n in rpc_names
        ]
        results = _concurrently(lambda job: job(), jobs)
        reports: list[Report] = [r for r, _ in results[: len(hosts)]]
        loads = {r.host: load for r, load in results[: len(hosts)] if load is not None}
        probes = {n: p for n, p in zip(rpc_names, results[len(hosts) :], strict=True)}
        ollama = [r for r in reports if isinstance(r, OllamaHostReport)]
        llama = [r for r in reports if isinstance(r, LlamaServerReport)]
        rpc = self._attach_splits(llama, loads, probes)
        if host is not None and host in self.llama_cpp:
            rpc = [r for r in rpc if host in r.used_by]
        self._note_contexts(ollama)
        return InferenceSnapshot(
            summary=_summary(ollama, llama, rpc), ollama=ollama, llama_cpp=llama, rpc=rpc
        )

    def _report(self, host: OllamaHost | LlamaServerHost) -> tuple[Report, LlamaLoad | None]:
        load: LlamaLoad | None = None
        report: Report
        try:
            report = host.report(self._settings) if isinstance(host, OllamaHost) else host.report()
        except HubError as exc:
            cls = OllamaHostReport if isinstance(host, OllamaHost) else LlamaServerReport
            report = cls(host=host.name, url=host.url, state=_state(exc), error=redact_text(exc.message))
        if isinstance(host, LlamaServerHost) and isinstance(report, LlamaServerReport):
            load, report.log = host.load()  # read even when the server is down: why it died
        return report, load

    def _attach_splits(
        self, llama: list[LlamaServerReport], loads: dict[str, LlamaLoad], probes: dict[str, RpcProbe]
    ) -> list[RpcServerReport]:
        by_address = {self.rpc[n].address: RpcHost(n, p) for n, p in probes.items()}
        used_by: dict[str, list[str]] = {}
        for report in llama:
            load = loads.get(report.host)
            if load is None:
                continue
            for endpoint in load.rpc_endpoints:
                if endpoint in by_address:
                    used_by.setdefault(by_address[endpoint].name, []).append(report.host)
            metrics = report.models[0].metrics if report.models else None
            report.split, report.findings = analyse(
                report.host,
                load,
                by_address,
                decode_tokens_per_s=metrics.generation_tokens_per_s if metrics else None,
                client_protocol=self.llama_cpp[report.host].config.rpc_protocol,
            )
        return [rpc_report(n, p, sorted(used_by.get(n, []))) for n, p in sorted(probes.items())]

    def _note_contexts(self, reports: list[OllamaHostReport]) -> None:
        """Record each loaded context; flag models whose context keeps changing between looks."""
        now, window = time.monotonic(), self.config.reload_window_s
        with self._lock:
            for report in reports:
                version = OllamaVersion.parse(report.version)
                for model in report.models:
                    if model.context_length is None:
                        continue
                    seen = self._contexts.setdefault((report.host, model.name), deque(maxlen=64))
                    if not seen or seen[-1][1] != model.context_length:
                        seen.append((now, model.context_length))
                    while seen and now - seen[0][0] > window:
                        seen.popleft()
                    contexts = [c for _, c in seen]
                    logged = any(f.kind == "context_reloads" for f in model.findings)
                    if (
                        len(contexts) >= self.config.reload_warn_count
                        and len(set(contexts)) >= 2
                        and not logged
                    ):
                        model.findings.append(
                            reload_finding(model.name, version, contexts, window, "seen by the hub's probe")
                        )

    # --- ollama_set_context ---

    def set_context(
        self, model: str, num_ctx: int, host: str | None = None, name: str | None = None
    ) -> DerivedModel:
        """Create ``model`` with ``num_ctx`` baked in (the seed's Modelfile fix) via /api/create.

        Raises NotFound (unknown host or model), InvalidInput (num_ctx out of range, bad name),
        and HostTimeout/HostDown/HostBadResponse when the host fails.
        """
        model = model.strip()
        if not model or len(model) > MAX_NAME:
            raise InvalidInput(
                f"model must be 1..{MAX_NAME} characters, such as 'qwen2.5vl:7b', got {model[:40]!r}"
            )
        if not MIN_NUM_CTX <= num_ctx <= MAX_NUM_CTX:
            raise InvalidInput(
                f"num_ctx must be {MIN_NUM_CTX}..{MAX_NUM_CTX:,} tokens, such as 4096, got {num_ctx}"
            )
        target = self._ollama_host_for(model, host)
        arch = target.architecture(model)
        if num_ctx > arch.trained_context:
            raise InvalidInput(
                f"num_ctx {num_ctx:,} is above {model}'s trained context of {arch.trained_context:,} tokens; "
                f"pick a value between {MIN_NUM_CTX} and {arch.trained_context:,}"
            )
        new_name = (name or "").strip() or derived_model_name(model, num_ctx)
        if len(new_name) > MAX_NAME or same_model(new_name, model) or any(c.isspace() for c in new_name):
            raise InvalidInput(
                f"name {new_name[:40]!r} must differ from {model!r}, contain no spaces and be at most {MAX_NAME} characters"
            )
        version = OllamaVersion.parse(target.client.version())
        status = target.client.create(
            new_name, model, num_ctx, timeout_s=self.config.bench_timeout_s, modelfile=not version.create_from
        )
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
            next_step=f"Use '{new_name}' instead of '{model}' in every client (those on /v1 and on /api alike); "
            f"'{model}' keeps its memory until it unloads (keep_alive, or `ollama stop {model}` on {target.name}).",
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
        """pp (``prompt_tokens``, one token out) and tg (``max_tokens`` from a one-word prompt) as
        two requests, like llama-bench; speeds come from the server's own counters.

        Raises NotFound (unknown host or model), InvalidInput (sizes out of range or above the
        loaded context, no model for an Ollama host or a router), HostTimeout/HostDown/
        HostBadResponse when the host fails.
        """
        self._require_host(host)
        if host in self.rpc:
            raise InvalidInput(
                f"host {host!r} is an rpc-server: it has no API to generate with; bench the llama-server "
                "that uses it (--rpc) and the same model on one machine to compare"
            )
        _bench.check_sizes(prompt_tokens, max_tokens)
        timeout = self.config.bench_timeout_s
        if host in self.ollama:
            if not model:
                raise InvalidInput(
                    f"host {host!r} is an Ollama host: name the model to measure, e.g. 'llama3.1:8b'"
                )
            return _bench.run_ollama(self.ollama[host], model, prompt_tokens, max_tokens, timeout)
        result = _bench.run_llama(self.llama_cpp[host], model, prompt_tokens, max_tokens, timeout)
        load, _ = self.llama_cpp[host].load()
        if load is not None and load.devices:
            names = {self.rpc[n].address: n for n in self.rpc}
            result.devices = " + ".join(
                f"{d.name} ({names.get(d.endpoint, d.endpoint) if d.endpoint else host})"
                for d in load.devices.values()
                if d.model and not d.is_cpu
            )
        return result

    # --- the probe: health and /metrics read its last results ---

    def probe(self) -> dict[str, tuple[bool, str]]:
        """Read every host once; the result backs /api/health and the /metrics gauges."""
        started = time.time()
        snapshot = self.snapshot()
        reports: list[Report] = [*snapshot.ollama, *snapshot.llama_cpp]
        results = {r.host: _probe_result(r) for r in reports}
        results |= {r.host: _rpc_probe_result(r) for r in snapshot.rpc}
        with self._lock:
            before, self._last_probe = self._last_probe, results
            self._last_snapshot = (started, snapshot)
        for name, (ok, detail) in sorted(results.items()):
            if name not in before or before[name][0] != ok:
                log.log(
                    logging.INFO if ok else logging.WARNING,
                    "inference host %s %s: %s",
                    name,
                    "up" if ok else "down",
                    detail,
                )
        return results

    @property
    def last_probe(self) -> dict[str, tuple[bool, str]]:
        with self._lock:
            return dict(self._last_probe)

    @property
    def last_snapshot(self) -> tuple[float, InferenceSnapshot] | None:
        """When the probe last read the hosts (epoch seconds) and what it saw."""
        with self._lock:
            return self._last_snapshot

    def _require_host(self, host: str) -> None:
        if host not in self.ollama and host not in self.llama_cpp and host not in self.rpc:
            known = ", ".join(self.host_names) or "none configured"
            raise NotFound(f"unknown inference host {host!r}; known hosts: {known}")


def _probe_result(report: Report) -> tuple[bool, str]:
    if report.state != "ok":
        return False, report.error or f"{report.host} is {report.state}"
    if isinstance(report, OllamaHostReport):
        return True, f"Ollama {report.version} answers at {report.url}, {len(report.models)} model(s) loaded"
    return True, f"llama-server answers at {report.url}, {len(report.models)} model(s)"


def _rpc_probe_result(report: RpcServerReport) -> tuple[bool, str]:
    if report.state == "busy":
        return True, f"rpc-server {report.address} accepts connections; busy serving a client"
    if report.state != "ok":
        return False, report.error or f"{report.host} is {report.state}"
    return True, f"rpc-server {report.address} speaks RPC {report.protocol}, {len(report.devices)} device(s)"


def _has_model(host: OllamaHost, model: str) -> bool:
    try:
        return any(same_model(m.name, model) for m in host.client.tags())
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


def _summary(
    ollama: list[OllamaHostReport], llama: list[LlamaServerReport], rpc: list[RpcServerReport]
) -> str:
    if not ollama and not llama and not rpc:
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
        findings = sum(len(m.findings) for r in llama for m in r.models) + sum(len(r.findings) for r in llama)
        parts.append(
            f"{len(llama)} llama-server(s)"
            + (f" ({', '.join(bad)})" if bad else "")
            + f", {findings} finding(s)"
        )
    if rpc:
        bad = [f"{r.host} {r.state}" for r in rpc if r.state not in ("ok", "busy")]
        parts.append(f"{len(rpc)} rpc-server(s)" + (f" ({', '.join(bad)})" if bad else ""))
    return "; ".join(parts)
