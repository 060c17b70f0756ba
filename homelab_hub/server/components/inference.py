"""Wires the inference engine into Services: the hosts, their probe worker, a health check."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homelab_hub.health import ComponentHealth
from homelab_hub.inference.engine import InferenceEngine
from homelab_hub.inference.worker import InferenceProbeWorker
from homelab_hub.server.components.base import Component
from homelab_hub.tools import inference as inference_tools

if TYPE_CHECKING:
    from homelab_hub.server.services import Services


def build(services: Services) -> None:
    """Create the engine; probe hosts in the background only when some are configured."""
    engine = InferenceEngine(services.config.inference)
    services.inference = engine
    if engine.host_names:
        probe = InferenceProbeWorker(engine)
        services.supervisor.add(
            probe.name, lambda: InferenceProbeWorker(engine), heartbeat_timeout=probe.heartbeat_timeout
        )


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
    detail = "; ".join(f"{name}: {why}" for name, why in down.items())
    return ComponentHealth(
        state="down" if len(down) == len(probe) else "degraded", detail=detail[:500], data=data
    )


def close(services: Services) -> None:
    """Release the hosts' connections (the supervisor has already stopped the probe worker)."""
    if services.inference is not None:
        services.inference.close()


COMPONENT = Component(
    name="inference",
    config_section="inference",
    tools=inference_tools.TOOLS,
    build=build,
    close=close,
    health=health,
)
