"""Prometheus gauges for the inference hosts: the exporter Ollama does not have.

A custom collector that reads the probe worker's last snapshot: a scrape never talks to a host
(a hung Ollama would otherwise hang Prometheus' scrape). The series are listed in `SERIES` and
in the README's inference section; a test parses a live hub's /metrics against that table.
Labels are the host's config name and the model name, never a URL.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from homelab_hub.redact import redact_text

if TYPE_CHECKING:
    from homelab_hub.inference.engine import InferenceEngine
    from homelab_hub.inference.report_llama import InferenceSnapshot
    from homelab_hub.inference.report_rpc import SplitReport

P = "homelab_hub_inference_"
SERIES: dict[str, str] = {
    f"{P}probe_timestamp_seconds": "When the hub's probe last read the inference hosts (Unix time).",
    f"{P}host_up": "1 when the host answered the last probe, else 0 (labels host, kind).",
    f"{P}models_loaded": "Models loaded on the host now.",
    f"{P}model_size_bytes": "Memory Ollama reports for a loaded model (/api/ps size).",
    f"{P}model_vram_bytes": "Part of it in GPU memory.",
    f"{P}model_cpu_ratio": "Share of the model held in system RAM and run on the CPU (0..1).",
    f"{P}model_context_tokens": "Context the model is loaded with, per slot.",
    f"{P}model_kv_cache_estimated_bytes": "KV cache by the formula at the loaded context, all slots.",
    f"{P}model_kv_cache_measured_bytes": "KV cache the server log says the load allocated (when readable).",
    f"{P}model_expires_in_seconds": "Seconds until Ollama unloads the model (keep_alive -1: centuries).",
    f"{P}model_findings": "Findings about the model, by kind.",
    f"{P}llama_slots": "llama-server slots of a model (-np).",
    f"{P}llama_slots_busy": "Slots processing a request now.",
    f"{P}llama_context_tokens": "KV cells allocated: the shared pool when unified, else n_ctx x slots.",
    f"{P}llama_kv_fill_ratio": "Share of the KV cache in use (0..1), when the server tells.",
    f"{P}llama_requests_deferred": "Requests waiting for a free slot.",
    f"{P}llama_prompt_tokens_total": "Prompt tokens the server processed since it started (its counter).",
    f"{P}llama_generated_tokens_total": "Tokens the server generated since it started (its counter).",
    f"{P}llama_device_memory_bytes": "A llama-server load's buffers per device (log; labels machine, buffer).",
    f"{P}llama_device_layers": "Layers of a llama-server's model on each device (log).",
    f"{P}split_link_seconds_per_token": "Layers x rpc round trip: network time each generated token pays.",
    f"{P}rpc_round_trip_seconds": "Round trip of a small command to an rpc-server (or its TCP connect when busy).",
    f"{P}rpc_device_memory_free_bytes": "Free memory of an rpc-server's device (GET_DEVICE_MEMORY).",
    f"{P}rpc_device_memory_total_bytes": "Total memory of an rpc-server's device.",
}


class InferenceCollector(Collector):
    """Yields the gauges of every attached engine's last probe."""

    def __init__(self) -> None:
        self._engines: weakref.WeakSet[InferenceEngine] = weakref.WeakSet()

    def attach(self, engine: InferenceEngine) -> None:
        self._engines.add(engine)

    def detach(self, engine: InferenceEngine) -> None:
        self._engines.discard(engine)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # names depend on what the probe saw; skip the registry's dry run

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        families = _families()
        for engine in list(self._engines):
            last = engine.last_snapshot
            if last is not None:
                _fill(families, *last)
        yield from families.values()


def _families() -> dict[str, GaugeMetricFamily | CounterMetricFamily]:
    labels = {
        "probe_timestamp_seconds": [],
        "host_up": ["host", "kind"],
        "models_loaded": ["host", "kind"],
        "model_findings": ["host", "model", "kind"],
        "llama_device_memory_bytes": ["host", "device", "machine", "buffer"],
        "llama_device_layers": ["host", "device", "machine"],
        "rpc_round_trip_seconds": ["host"],
        "rpc_device_memory_free_bytes": ["host", "device"],
        "rpc_device_memory_total_bytes": ["host", "device"],
    }
    out: dict[str, GaugeMetricFamily | CounterMetricFamily] = {}
    for name, doc in SERIES.items():
        short = name.removeprefix(P)
        label_names = labels.get(short, ["host", "model"])
        if name.endswith("_total"):
            out[short] = CounterMetricFamily(name.removesuffix("_total"), doc, labels=label_names)
        else:
            out[short] = GaugeMetricFamily(name, doc, labels=label_names)
    return out


def _fill(f: dict[str, GaugeMetricFamily | CounterMetricFamily], at: float, snap: InferenceSnapshot) -> None:
    f["probe_timestamp_seconds"].add_metric([], at)
    for host in snap.ollama:
        f["host_up"].add_metric([host.host, "ollama"], 1.0 if host.state == "ok" else 0.0)
        if host.state != "ok":
            continue
        f["models_loaded"].add_metric([host.host, "ollama"], len(host.models))
        for m in host.models:
            key = [host.host, redact_text(m.name)]
            f["model_size_bytes"].add_metric(key, m.size_gb * 1e9)
            f["model_vram_bytes"].add_metric(key, m.vram_gb * 1e9)
            f["model_cpu_ratio"].add_metric(key, m.cpu_percent / 100)
            if m.context_length is not None:
                f["model_context_tokens"].add_metric(key, m.context_length)
            if m.kv_cache is not None:
                f["model_kv_cache_estimated_bytes"].add_metric(key, m.kv_cache.at_loaded_gb * 1e9)
            mem = m.memory
            if mem is not None and mem.source == "measured" and mem.kv_cache_gb is not None:
                f["model_kv_cache_measured_bytes"].add_metric(key, mem.kv_cache_gb * 1e9)
            if m.expires_at is not None:
                seconds = _expires_in(m.expires_at)
                if seconds is not None:
                    f["model_expires_in_seconds"].add_metric(key, max(0.0, seconds))
            kinds: dict[str, int] = {}
            for finding in m.findings:
                kinds[finding.kind] = kinds.get(finding.kind, 0) + 1
            for kind, count in sorted(kinds.items()):
                f["model_findings"].add_metric([*key, kind], count)
    for rpc in snap.rpc:
        # busy: it answers TCP but serves its llama-server, which is an rpc-server at work.
        f["host_up"].add_metric([rpc.host, "rpc"], 1.0 if rpc.state in ("ok", "busy") else 0.0)
        if rpc.round_trip_ms is not None:
            f["rpc_round_trip_seconds"].add_metric([rpc.host], rpc.round_trip_ms / 1000)
        for d in rpc.devices:
            f["rpc_device_memory_free_bytes"].add_metric([rpc.host, str(d.index)], d.free_gb * 1e9)
            f["rpc_device_memory_total_bytes"].add_metric([rpc.host, str(d.index)], d.total_gb * 1e9)
    for server in snap.llama_cpp:
        f["host_up"].add_metric([server.host, "llama_cpp"], 1.0 if server.state == "ok" else 0.0)
        if server.split is not None:
            _fill_split(f, server.host, server.split)
        if server.state != "ok":
            continue
        loaded = [m for m in server.models if m.status == "loaded"]
        f["models_loaded"].add_metric([server.host, "llama_cpp"], len(loaded))
        for lm in loaded:
            key = [server.host, redact_text(lm.model)]
            if lm.total_slots is not None:
                f["llama_slots"].add_metric(key, lm.total_slots)
            if lm.slots_busy is not None:
                f["llama_slots_busy"].add_metric(key, lm.slots_busy)
            if lm.context_total is not None:
                f["llama_context_tokens"].add_metric(key, lm.context_total)
            if isinstance(lm.kv_fill, float):
                f["llama_kv_fill_ratio"].add_metric(key, lm.kv_fill)
            metrics = lm.metrics
            if metrics is None:
                continue
            if metrics.requests_deferred is not None:
                f["llama_requests_deferred"].add_metric(key, metrics.requests_deferred)
            if metrics.prompt_tokens_total is not None:
                f["llama_prompt_tokens_total"].add_metric(key, metrics.prompt_tokens_total)
            if metrics.generated_tokens_total is not None:
                f["llama_generated_tokens_total"].add_metric(key, metrics.generated_tokens_total)


def _fill_split(f: dict[str, GaugeMetricFamily | CounterMetricFamily], host: str, split: SplitReport) -> None:
    for d in split.devices:
        device = redact_text(d.device)
        for buffer, gb in (("model", d.model_gb), ("kv", d.kv_cache_gb), ("compute", d.compute_gb)):
            f["llama_device_memory_bytes"].add_metric([host, device, d.machine, buffer], gb * 1e9)
        if d.layers is not None:
            f["llama_device_layers"].add_metric([host, device, d.machine], d.layers)
    if split.link_ms_per_token is not None:
        model = redact_text(split.model)
        f["split_link_seconds_per_token"].add_metric([host, model], split.link_ms_per_token / 1000)


def _expires_in(expires_at: str) -> float | None:
    try:
        when = datetime.fromisoformat(expires_at)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - datetime.now(UTC)).total_seconds()
