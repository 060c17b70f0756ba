"""Wires the cameras engine into Services: shared pipeline deps, the manager, its health, and
the daily alert review (a supervised worker)."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import TYPE_CHECKING

from homelab_hub.cameras import schema
from homelab_hub.cameras.manager import CameraManager
from homelab_hub.cameras.pipeline import PipelineDeps
from homelab_hub.cameras.review import AlertReview
from homelab_hub.cameras.review_worker import WORKER_NAME, ReviewWorker
from homelab_hub.health import ComponentHealth
from homelab_hub.server import cli_camera
from homelab_hub.server.components.base import Component
from homelab_hub.tools import alerts as alerts_tools
from homelab_hub.tools import cameras as cameras_tools
from homelab_hub.tools import review as review_tools
from homelab_hub.tools import zones as zones_tools

if TYPE_CHECKING:
    from homelab_hub.config import HubConfig
    from homelab_hub.server.services import Services

log = logging.getLogger(__name__)

# Motion is still recorded (as unverified) while the model is away: degraded, not down.
_VISION_FAILURES_DEGRADE = 3


def build(services: Services) -> None:
    """Create the camera manager (one supervised worker per enabled camera)."""
    deps = PipelineDeps.from_config(services.config, services.db, services.notifier)
    try:
        manager = CameraManager(services.config.cameras, deps=deps, supervisor=services.supervisor)
    except Exception:
        deps.close()
        raise
    services.cameras = manager
    if not services.config.cameras:
        services.off["cameras"] = "no cameras are configured; add a [cameras.NAME] section with url = '…'"
    _schedule_review(services, services.config)


def _schedule_review(services: Services, config: HubConfig) -> None:
    """The daily review worker, when cameras exist and [vision.review].daily is on."""
    if not (config.cameras and config.vision.review.daily):
        services.supervisor.remove(WORKER_NAME)
        return

    def review() -> AlertReview:
        current = services.config
        return AlertReview(
            services.db, config=current.vision.review, cameras=current.cameras, manager=services.cameras
        )

    timeout_s = config.vision.review.timeout_s

    def worker() -> ReviewWorker:
        return ReviewWorker(
            config=lambda: services.config, review=review, bus=services.notifier, timeout_s=timeout_s
        )

    # A run beats between batches, and one batch may take the whole model timeout.
    services.supervisor.add(WORKER_NAME, worker, heartbeat_timeout=timeout_s * 2 + 60)


def health(services: Services) -> ComponentHealth:
    manager = services.cameras
    if manager is None:
        return ComponentHealth(state="disabled", detail="the cameras engine is not running")
    cameras = manager.health()
    current = manager.deps
    if current is None or not services.config.cameras:
        return cameras
    vision = current.vision_health()
    data = {**cameras.data, "vision": asdict(vision) if vision is not None else {"enabled": False}}
    if (
        vision is not None
        and vision.consecutive_failures >= _VISION_FAILURES_DEGRADE
        and cameras.state == "ok"
    ):
        return ComponentHealth(
            state="degraded", detail=f"vision model failing: {vision.last_error}", data=data
        )
    return cameras.model_copy(update={"data": data})


def reload(services: Services, config: HubConfig) -> None:
    """Apply a changed config (SIGHUP): only cameras whose section changed are restarted, unless
    the shared [vision] or [notify] settings changed, which rebuilds every camera's pipeline."""
    manager = services.cameras
    if manager is None:
        return
    old = services.config
    if config.vision.review != old.vision.review or bool(config.cameras) != bool(old.cameras):
        _schedule_review(services, config)
    # The review's settings are not the pipelines': changing them restarts no camera.
    same_vision = config.vision.model_dump(exclude={"review"}) == old.vision.model_dump(exclude={"review"})
    if same_vision and config.notify == old.notify:
        manager.reload(config.cameras)
        return
    old_deps = manager.deps
    manager.reload(config.cameras, deps=PipelineDeps.from_config(config, services.db, services.notifier))
    if old_deps is not None:
        try:
            old_deps.close()
        except Exception:  # the new deps are in place; a failed close only leaks
            log.exception("closing the previous camera pipeline deps failed")


def close(services: Services) -> None:
    """Stop the camera workers, then release the shared pipeline deps."""
    services.supervisor.remove(WORKER_NAME)
    manager = services.cameras
    if manager is None:
        return
    manager.close()
    if manager.deps is not None:
        manager.deps.close()
    services.cameras = None


COMPONENT = Component(
    name="cameras",
    config_section="cameras",
    migrations=schema.MIGRATIONS,
    tools=[*cameras_tools.TOOLS, *zones_tools.TOOLS, *alerts_tools.TOOLS, *review_tools.TOOLS],
    resources=(),
    register_cli=cli_camera.register,
    build=build,
    close=close,
    reload=reload,
    health=health,
)
