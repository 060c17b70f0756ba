"""Wires the cameras engine into Services: shared pipeline deps, the manager, the transcriber,
their health."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import TYPE_CHECKING

from homelab_hub.cameras import schema
from homelab_hub.cameras.manager import CameraManager
from homelab_hub.cameras.pipeline import PipelineDeps
from homelab_hub.cameras.speech import SpeechModel
from homelab_hub.cameras.transcriber import WORKER_NAME, Transcriber, TranscriberWorker
from homelab_hub.errors import ConfigError
from homelab_hub.health import ComponentHealth
from homelab_hub.server import cli_camera
from homelab_hub.server.components.base import Component
from homelab_hub.tools import alerts as alerts_tools
from homelab_hub.tools import cameras as cameras_tools
from homelab_hub.tools import zones as zones_tools

if TYPE_CHECKING:
    from homelab_hub.config import HubConfig
    from homelab_hub.server.services import Services

log = logging.getLogger(__name__)

# Motion is still recorded (as unverified) while the model is away: degraded, not down.
_VISION_FAILURES_DEGRADE = 3


def build(services: Services) -> None:
    """Create the camera manager (one supervised worker per enabled camera) and, when a camera
    has audio, the transcriber (one supervised worker for all of them)."""
    deps = PipelineDeps.from_config(services.config, services.db, services.notifier)
    transcriber, audio_error = _transcriber(services.config, deps, None)
    try:
        manager = CameraManager(
            services.config.cameras, deps=deps, supervisor=services.supervisor, transcriber=transcriber
        )
    except Exception:
        deps.close()
        raise
    manager.audio_error = audio_error
    if transcriber is not None:
        services.supervisor.add(WORKER_NAME, lambda: TranscriberWorker(transcriber))
    services.cameras = manager
    if not services.config.cameras:
        services.off["cameras"] = "no cameras are configured; add a [cameras.NAME] section with url = '…'"


def _transcriber(
    config: HubConfig, deps: PipelineDeps, previous: Transcriber | None
) -> tuple[Transcriber | None, str]:
    """The transcriber when a camera wants audio, else None; a missing model is the error
    returned (and logged): the cameras then read video only."""
    if not any(c.enabled and c.audio.enabled for c in config.cameras.values()):
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


def health(services: Services) -> ComponentHealth:
    manager = services.cameras
    if manager is None:
        return ComponentHealth(state="disabled", detail="the cameras engine is not running")
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
    a changed [transcriber] (or the first camera with audio) restarts the cameras with audio."""
    manager = services.cameras
    if manager is None:
        return
    old = services.config
    new_deps = None
    if config.vision != old.vision or config.notify != old.notify:
        new_deps = PipelineDeps.from_config(config, services.db, services.notifier)
    if (
        new_deps is not None
        or config.transcriber != old.transcriber
        or _wants_audio(config) != _wants_audio(old)
    ):
        services.supervisor.remove(WORKER_NAME)
        transcriber, manager.audio_error = _transcriber(config, new_deps or manager.deps, manager.transcriber)  # type: ignore[arg-type]
        manager.set_transcriber(transcriber)
        if transcriber is not None:
            services.supervisor.add(WORKER_NAME, lambda: TranscriberWorker(transcriber))
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


def _wants_audio(config: HubConfig) -> bool:
    return any(c.enabled and c.audio.enabled for c in config.cameras.values())


def close(services: Services) -> None:
    """Stop the camera workers and the transcriber, then release the shared pipeline deps."""
    manager = services.cameras
    if manager is None:
        return
    services.supervisor.remove(WORKER_NAME)
    manager.close()
    if manager.deps is not None:
        manager.deps.close()
    services.cameras = None


COMPONENT = Component(
    name="cameras",
    config_section="cameras",
    migrations=schema.MIGRATIONS,
    tools=[*cameras_tools.TOOLS, *zones_tools.TOOLS, *alerts_tools.TOOLS],
    resources=(),
    register_cli=cli_camera.register,
    build=build,
    close=close,
    reload=reload,
    health=health,
)
