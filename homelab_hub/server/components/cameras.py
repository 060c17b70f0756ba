"""Wires the cameras engine into Services: its one door (a `CameraService` over the manager,
the alert store and the review), the shared pipeline deps, the transcriber (one supervised
worker for every camera with audio), the daily alert review (another), and their health."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import TYPE_CHECKING

from homelab_hub.cameras import schema
from homelab_hub.cameras.audio.speech import SpeechModel
from homelab_hub.cameras.audio.transcriber import WORKER_NAME as TRANSCRIBER_WORKER
from homelab_hub.cameras.audio.transcriber import Transcriber, TranscriberWorker
from homelab_hub.cameras.detect.pipeline import PipelineDeps
from homelab_hub.cameras.review.worker import WORKER_NAME as REVIEW_WORKER
from homelab_hub.cameras.review.worker import ReviewWorker
from homelab_hub.cameras.service import CameraService
from homelab_hub.cameras.stream.manager import CameraManager
from homelab_hub.cameras.zones.store import ZoneStore
from homelab_hub.errors import ConfigError
from homelab_hub.health import ComponentHealth
from homelab_hub.remote.bridge import RemoteCameras
from homelab_hub.server import cli_camera
from homelab_hub.server.components.base import Component
from homelab_hub.tools import alerts as alerts_tools
from homelab_hub.tools import cameras as cameras_tools
from homelab_hub.tools import review as review_tools
from homelab_hub.tools import zones as zones_tools

if TYPE_CHECKING:
    from homelab_hub.config import HubConfig
    from homelab_hub.services import Services

log = logging.getLogger(__name__)

# Motion is still recorded (as unverified) while the model is away: degraded, not down.
_VISION_FAILURES_DEGRADE = 3


def build(services: Services) -> None:
    """Create the camera manager (one supervised worker per enabled camera), the transcriber
    when a camera has audio, and the daily review when it is on."""
    config = services.config
    deps = PipelineDeps.from_config(config, services.db, services.notifier)
    transcriber, audio_error = _transcriber(services.config, deps, None)
    remote = _remote(services, deps)
    try:
        manager = CameraManager(
            services.config.cameras, deps=deps, supervisor=services.supervisor, transcriber=transcriber,
            remote=remote,
        )  # fmt: skip
    except Exception:
        deps.close()
        if remote is not None:
            remote.close()
        raise
    manager.audio_error = audio_error
    if transcriber is not None:
        services.supervisor.add(TRANSCRIBER_WORKER, lambda: TranscriberWorker(transcriber))
    services.cameras = CameraService(
        services.db, manager, cameras=config.cameras, review=config.vision.review,
        vision_url=config.vision.url, alerts=deps.alerts,  # the hub's one: pipelines and review share it
    )  # fmt: skip
    services.cameras.remote = remote
    if not services.config.cameras:
        services.off["cameras"] = "no cameras are configured; add a [cameras.NAME] section with url = '…'"
    _schedule_review(services, services.config)


def _remote(services: Services, deps: PipelineDeps) -> RemoteCameras | None:
    """Cameras on `homelab-hub worker`s, over the hub's broker link (None without [broker])."""
    link = services.link
    if link is None:
        return None
    zone_store = ZoneStore(services.db)
    remote = RemoteCameras(
        link,
        alerts=deps.alerts,
        bus=services.notifier,
        zones=lambda n, c: list(zone_store.load(n, list(c.zones)).zones),
    )
    link.subscribe_connect(remote.on_connect)
    remote.start()
    config = services.config
    remote.set_cameras(config.cameras, vision=config.vision, transcriber=config.transcriber)
    return remote


def _transcriber(
    config: HubConfig, deps: PipelineDeps, previous: Transcriber | None
) -> tuple[Transcriber | None, str]:
    """The transcriber when a camera wants audio, else None; a missing model is the error
    returned (and logged): the cameras then read video only."""
    if not _wants_audio(config):
        return None, ""
    if previous is not None and previous.config == config.transcriber:
        model = previous.model  # the same weights: no reload
    else:
        try:
            model = SpeechModel(config.transcriber)
        except ConfigError as exc:
            log.error("%s; cameras read video only", exc.message)
            return None, exc.message
    return Transcriber(config.transcriber, model, alerts=deps.alerts, bus=deps.bus), ""


def _wants_audio(config: HubConfig) -> bool:
    return any(c.enabled and c.audio.enabled for c in config.cameras.values())


def _schedule_review(services: Services, config: HubConfig) -> None:
    """The daily review worker, when cameras exist and [vision.review].daily is on."""
    if not (config.cameras and config.vision.review.daily):
        services.supervisor.remove(REVIEW_WORKER)
        return

    cameras = services.cameras
    assert cameras is not None  # scheduled by build and reload, after the service exists
    timeout_s = config.vision.review.timeout_s

    def worker() -> ReviewWorker:
        return ReviewWorker(
            config=lambda: services.config, review=cameras.review, bus=services.notifier, timeout_s=timeout_s
        )

    # A run beats between batches, and one batch may take the whole model timeout.
    services.supervisor.add(REVIEW_WORKER, worker, heartbeat_timeout=timeout_s * 2 + 60)


def health(services: Services) -> ComponentHealth:
    if services.cameras is None:
        return ComponentHealth(state="disabled", detail="the cameras engine is not running")
    manager = services.cameras.manager
    cameras = manager.health()
    current = manager.deps
    if current is None or not services.config.cameras:
        return cameras
    vision = current.vision_health()
    transcriber = manager.transcriber
    data = {
        **cameras.data,
        "vision": asdict(vision) if vision is not None else {"enabled": False},
        "transcriber": transcriber.status().public()
        if transcriber is not None
        else {"enabled": False, "error": manager.audio_error},
    }
    if (
        vision is not None
        and vision.consecutive_failures >= _VISION_FAILURES_DEGRADE
        and cameras.state == "ok"
    ):
        return ComponentHealth(
            state="degraded", detail=f"vision model failing: {vision.last_error}", data=data
        )
    if manager.audio_error and cameras.state == "ok":
        return ComponentHealth(state="degraded", detail=f"audio off: {manager.audio_error}", data=data)
    return cameras.model_copy(update={"data": data})


def reload(services: Services, config: HubConfig) -> None:
    """Apply a changed config (SIGHUP): only cameras whose section changed are restarted, unless
    the shared [vision] or [notify] settings changed, which rebuilds every camera's pipeline;
    a changed [transcriber] (or the first camera with audio) replaces the transcriber; the
    review's settings reschedule its worker and restart no camera."""
    service = services.cameras
    if service is None:
        return
    manager = service.manager
    old = services.config
    service.configure(cameras=config.cameras, review=config.vision.review, vision_url=config.vision.url)
    if config.vision.review != old.vision.review or bool(config.cameras) != bool(old.cameras):
        _schedule_review(services, config)
    same_vision = config.vision.model_dump(exclude={"review"}) == old.vision.model_dump(exclude={"review"})
    new_deps = None
    if not same_vision or config.notify != old.notify:
        new_deps = PipelineDeps.from_config(config, services.db, services.notifier, alerts=service.alerts)
    if (
        new_deps is not None
        or config.transcriber != old.transcriber
        or _wants_audio(config) != _wants_audio(old)
    ):
        services.supervisor.remove(TRANSCRIBER_WORKER)
        deps = new_deps or manager.deps
        assert deps is not None  # the manager was built with deps
        transcriber, manager.audio_error = _transcriber(config, deps, manager.transcriber)
        manager.set_transcriber(transcriber)
        if transcriber is not None:
            services.supervisor.add(TRANSCRIBER_WORKER, lambda: TranscriberWorker(transcriber))
    if service.remote is not None:
        service.remote.set_cameras(config.cameras, vision=config.vision, transcriber=config.transcriber)
    if new_deps is None:
        manager.reload(config.cameras)
        return
    old_deps = manager.deps
    manager.reload(config.cameras, deps=new_deps)
    if old_deps is not None:
        try:
            old_deps.close()
        except Exception:  # the new deps are in place; a failed close only leaks
            log.exception("closing the previous camera pipeline deps failed")


def close(services: Services) -> None:
    """Stop the review, the camera workers and the transcriber, then release the shared deps."""
    services.supervisor.remove(REVIEW_WORKER)
    service = services.cameras
    if service is None:
        return
    manager = service.manager
    services.supervisor.remove(TRANSCRIBER_WORKER)
    manager.close()
    if service.remote is not None:
        service.remote.close()
    service.close()
    if manager.deps is not None:
        manager.deps.close()
    services.cameras = None


COMPONENT = Component(
    name="cameras",
    migrations=schema.MIGRATIONS,
    tools=[*cameras_tools.TOOLS, *zones_tools.TOOLS, *alerts_tools.TOOLS, *review_tools.TOOLS],
    resources=(),
    register_cli=cli_camera.register,
    build=build,
    close=close,
    reload=reload,
    health=health,
)
