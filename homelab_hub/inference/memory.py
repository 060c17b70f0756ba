"""A loaded model's memory split: measured from the server log's load lines, or estimated.

Measured means what Ollama logged for the load (per device: model weights, KV cache, compute
graph, and the total). Estimated means the model file's size from /api/tags plus the KV
formula, with the compute graph unknown; whatever /api/ps reports beyond that is shown as
unattributed rather than guessed.
"""

from __future__ import annotations

from homelab_hub.inference.ollama_log import LoadRecord
from homelab_hub.inference.report import DeviceMemory, MemoryBreakdown

GB = 1e9


def _gb(n: int | float | None) -> float | None:
    return None if n is None else round(n / GB, 2)


def measured(load: LoadRecord, size: int, source: str) -> MemoryBreakdown:
    weights = sum(d.weights for d in load.devices.values())
    kv = sum(d.kv for d in load.devices.values())
    graph = sum(d.graph for d in load.devices.values())
    total = load.total or weights + kv + graph
    when = f", load at {load.at.isoformat(timespec='seconds')}" if load.at else ""
    return MemoryBreakdown(
        source="measured",
        basis=f"server log ({source}){when}",
        weights_gb=_gb(weights),
        kv_cache_gb=_gb(kv),
        compute_graph_gb=_gb(graph),
        total_gb=_gb(total),
        unattributed_gb=_gb(max(0, size - total)),
        devices=[
            DeviceMemory(
                device=name,
                weights_gb=_gb(use.weights) or 0.0,
                kv_cache_gb=_gb(use.kv) or 0.0,
                compute_graph_gb=_gb(use.graph) or 0.0,
            )
            for name, use in sorted(load.devices.items(), key=lambda kv_: (kv_[0] == "CPU", kv_[0]))
        ],
        layers_on_gpu=load.layers_gpu,
        layers_total=load.layers_total,
        parallel=load.parallel,
        flash_attention=load.flash_attention,
        kv_cache_type=load.kv_cache_type or None,
    )


def estimated(
    size: int, weights: int | None, kv_bytes: int | None, why: str, load: LoadRecord | None = None
) -> MemoryBreakdown:
    known = (weights or 0) + (kv_bytes or 0)
    return MemoryBreakdown(
        source="estimate",
        basis=f"estimate: {why}",
        weights_gb=_gb(weights),
        kv_cache_gb=_gb(kv_bytes),
        unattributed_gb=_gb(max(0, size - known)) if weights is not None else None,
        layers_on_gpu=load.layers_gpu if load else None,
        layers_total=load.layers_total if load else None,
        parallel=load.parallel if load else None,
        flash_attention=load.flash_attention if load else None,
        kv_cache_type=(load.kv_cache_type or None) if load else None,
    )
