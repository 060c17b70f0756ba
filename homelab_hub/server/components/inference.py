"""Wires the inference engine into Services: the hosts, their probe worker, a health check and
the ``homelab_hub_inference_*`` gauges on the hub's /metrics."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from homelab_hub.health import ComponentHealth
from homelab_hub.inference.engine import InferenceEngine
from homelab_hub.inference.prometheus import InferenceCollector
from homelab_hub.inference.worker import InferenceProbeWorker
from homelab_hub.metrics import REGISTRY
from homelab_hub.server import cli_inference
from homelab_hub.server.components.base import Component
from homelab_hub.tools import inference as inference_tools

if TYPE_CHECKING:
    from homelab_hub.services import Services

# One collector per process (the registry is global); each running hub attaches its engine.
_COLLECTOR = InferenceCollector()
_REGISTERED = threading.Lock()
_registered = False


def _register_collector() -> None:
    global _registered
    with _REGISTERED:
        if not _registered:
            REGISTRY.register(_COLLECTOR)
            _registered = True


def build(services: Services) -> None:
    """Create the engine; probe hosts in the background only when some are configured."""
    engine = InferenceEngine(services.config.inference)
    services.inference = engine
    if engine.host_names:
        probe = InferenceProbeWorker(engine)
        services.supervisor.add(
            probe.name, lambda: InferenceProbeWorker(engine), heartbeat_timeout=probe.heartbeat_timeout
        )
        _register_collector()
        _COLLECTOR.attach(engine)


def health(services: Services) -> ComponentHealth:
    engine = services.inference
    if engine is None or not engine.host_names:
        return ComponentHealth(state="disabled", detail="no inference hosts configured")
    probe = engine.last_probe
    if not probe:
        return ComponentHealth(state="starting", detail="first probe of the inference hosts pending")
    down = {name: detail for name, (ok, detail) in sorted(probe.items()) if not ok}
    data = {"hosts": len(probe), "down": sorted(down)}
    if not down:
        return ComponentHealth(state="ok", detail=f"{len(probe)} host(s) answering", data=data)
    # Details come from the engine, already redacted (no passwords or tokens of host URLs).
    detail = "; ".join(f"{name}: {why}" for name, why in down.items())
    return ComponentHealth(
        state="down" if len(down) == len(probe) else "degraded", detail=detail[:500], data=data
    )


def close(services: Services) -> None:
    """Release the hosts' connections (the supervisor has already stopped the probe worker)."""
    if services.inference is not None:
        _COLLECTOR.detach(services.inference)
        services.inference.close()


COMPONENT = Component(
    name="inference",
    tools=inference_tools.TOOLS,
    register_cli=cli_inference.register,
    build=build,
    close=close,
    health=health,
)
