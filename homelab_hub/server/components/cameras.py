"""Wires the cameras engine into Services: shared pipeline deps, the manager, its health."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homelab_hub.cameras.manager import CameraManager
from homelab_hub.cameras.pipeline import PipelineDeps

if TYPE_CHECKING:
    from homelab_hub.server.services import Services


def build(services: Services) -> None:
    """Create the camera manager (one supervised worker per enabled camera) and its health check."""
    from homelab_hub.server.services import ComponentHealth

    deps = PipelineDeps.from_config(services.config, services.db, services.notifier)
    try:
        manager = CameraManager(services.config.cameras, deps=deps, supervisor=services.supervisor)
    except Exception:
        deps.close()
        raise
    services.cameras = manager

    def health() -> ComponentHealth:
        state, detail, data = manager.health()
        return ComponentHealth(state=state, detail=detail, data=data)

    services.health_checks["cameras"] = health


def close(services: Services) -> None:
    """Stop the camera workers, then release the shared pipeline deps."""
    manager = services.cameras
    if manager is None:
        return
    manager.close()
    if manager.deps is not None:
        manager.deps.close()
    services.cameras = None
