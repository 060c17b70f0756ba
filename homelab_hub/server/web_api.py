"""JSON (and image) endpoints for the zone editor and alert review pages, thin over the engines.

Reads only: the pages change things through the tools (``POST /api/tools/alert_review`` and
``POST /api/tools/zone_edit``), so a decision made on a page and one made by an agent are the
same call. The draft mask is a POST as well as a GET because a draft zone set may not fit in
a URL; it saves nothing. Every route sits under /api/, behind the guard (token, or session
cookie plus CSRF header); errors are HubErrors, answered in the JSON envelope by the app.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from homelab_hub.cameras.detect.activity import camera_activity
from homelab_hub.cameras.review.groups import AlertReview, ReviewGroup, check_hours
from homelab_hub.cameras.review.suppress import preview
from homelab_hub.cameras.review.zone import exclusion_zone
from homelab_hub.cameras.service import CameraService
from homelab_hub.cameras.zones.mask import draft_mask
from homelab_hub.errors import InvalidInput, NotFound, Unavailable
from homelab_hub.server.access import AGENT, declare_all
from homelab_hub.server.auth import identity_of
from homelab_hub.server.rest import read_json
from homelab_hub.services import Services

_MAX_QUERY_ZONES_CHARS = 60_000
MAX_ID = 2**63 - 1  # a signed 64-bit column, in SQLite and MySQL alike


def routes(get_services: Callable[[], Services]) -> list[Route]:
    """The pages' read endpoints; ``get_services`` is the app's (raises Unavailable while starting)."""
    api = _WebApi(get_services)
    routes = [
        Route("/api/review/groups", api.groups, methods=["GET"]),
        Route("/api/review/groups/{group_id:int}", api.group, methods=["GET"]),
        Route("/api/review/groups/{group_id:int}/exclusion-zone", api.exclusion_zone, methods=["GET"]),
        Route("/api/review/preview", api.preview, methods=["GET"]),
        Route("/api/review/suppressions", api.suppressions, methods=["GET"]),
        Route("/api/alerts/{alert_id:int}/image.jpg", api.alert_image, methods=["GET"]),
        Route("/api/cameras/{name}/activity", api.activity, methods=["GET"]),
        Route("/api/cameras/{name}/draft-mask.png", api.draft_mask, methods=["GET", "POST"]),
    ]
    return declare_all(AGENT, routes)


def path_id(request: Request, name: str) -> int:
    """A numeric id from the path (a ``{name:int}`` parameter), within the database's range.
    Raises InvalidInput: 2**64 as an alert id used to reach the database and come back a 500."""
    value = int(request.path_params[name])
    if not 0 < value <= MAX_ID:
        raise InvalidInput(f"{name} {str(value)[:30]} is out of range; ids are 1..{MAX_ID}")
    return value


class _WebApi:
    def __init__(self, get_services: Callable[[], Services]) -> None:
        self.get_services = get_services

    def _cameras(self) -> CameraService:
        services = self.get_services()
        return services.require(services.cameras, "cameras")

    def _review(self) -> AlertReview:
        return self._cameras().review()

    async def groups(self, request: Request) -> Response:
        identity_of(request)
        hours = _int(request, "hours", 24)
        camera = request.query_params.get("camera") or None
        state = request.query_params.get("state") or None
        window = await anyio.to_thread.run_sync(lambda: self._review().window(hours, camera, state))
        body = _plain(window)
        body["groups"] = [_group(g) for g in window.groups]
        for group in body["unverified"]:
            group["sample_images"] = [f"/api/alerts/{i}/image.jpg" for i in group["sample_alert_ids"]]
        return JSONResponse(body)

    async def group(self, request: Request) -> Response:
        identity_of(request)
        group_id = path_id(request, "group_id")
        hours = _int(request, "hours", 24)
        found = await anyio.to_thread.run_sync(lambda: self._review().group(group_id, hours))
        return JSONResponse(_group(found))

    async def exclusion_zone(self, request: Request) -> Response:
        identity_of(request)
        group_id = path_id(request, "group_id")
        name = request.query_params.get("name") or None
        draft = await anyio.to_thread.run_sync(lambda: exclusion_zone(self._review(), group_id, name=name))
        body = _plain(draft)
        body["drafted"] = [z.model_dump(mode="json") for z in draft.drafted]
        body["zones"] = {
            **_plain(draft.zones),
            "zones": [z.model_dump(mode="json") for z in draft.zones.zones],
        }
        return JSONResponse(body)

    async def preview(self, request: Request) -> Response:
        identity_of(request)
        pattern = request.query_params.get("pattern", "")
        if not pattern:
            raise InvalidInput("preview needs ?pattern=, e.g. ?pattern=car+on+the+road")
        camera = request.query_params.get("camera") or None
        hours = _int(request, "hours", 24)
        seen = await anyio.to_thread.run_sync(
            lambda: preview(self._review(), pattern, camera=camera, hours=hours)
        )
        return JSONResponse(_plain(seen))

    async def suppressions(self, request: Request) -> Response:
        identity_of(request)
        camera = request.query_params.get("camera") or None
        everything = request.query_params.get("all") in ("1", "true", "yes")
        cameras = self._cameras()
        found = await anyio.to_thread.run_sync(
            lambda: cameras.suppressions(camera=camera, include_inactive=everything)
        )
        now = time.time()
        return JSONResponse({"suppressions": [{**_plain(s), "active": s.active(now)} for s in found]})

    async def alert_image(self, request: Request) -> Response:
        identity_of(request)
        alert_id = path_id(request, "alert_id")
        cameras = self._cameras()
        data = await anyio.to_thread.run_sync(lambda: _alert_jpeg(cameras, alert_id))
        # Alert images never change once written.
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})

    async def activity(self, request: Request) -> Response:
        identity_of(request)
        camera = request.path_params["name"]
        hours = _int(request, "hours", 24)
        if not 1 <= hours <= 24:
            raise InvalidInput(f"hours {hours} is outside 1..24 (motion history is kept for a day)")
        cameras = self._cameras()

        def build() -> Any:
            cameras.review().check_camera(camera)
            motion = cameras.pipeline(camera).activity if camera in cameras.names() else None
            now = time.time()
            alerts = cameras.recent_alerts(camera=camera, since=now - hours * 3600, limit=500)
            return camera_activity(camera, hours, motion=motion, alerts=alerts, now=now)

        report = await anyio.to_thread.run_sync(build)
        return JSONResponse(_plain(report))

    async def draft_mask(self, request: Request) -> Response:
        identity_of(request)
        camera = request.path_params["name"]
        if request.method == "POST":
            body = await read_json(request)
            if not isinstance(body, dict):
                raise InvalidInput("the draft mask takes a JSON object {zones: [...], width?, height?}")
        else:
            raw = request.query_params.get("zones", "[]")
            if len(raw) > _MAX_QUERY_ZONES_CHARS:
                raise InvalidInput("zones in the query are too long; POST them as JSON instead")
            try:
                zones = json.loads(raw)
            except ValueError as exc:
                raise InvalidInput(f"?zones= is not JSON: {exc}") from exc
            body = {"zones": zones, "width": request.query_params.get("width"),
                    "height": request.query_params.get("height")}  # fmt: skip
        cameras = self._cameras()

        def render() -> Any:
            editor = cameras.zones()
            zones = body.get("zones")
            if not isinstance(zones, list):
                raise InvalidInput(
                    f"zones must be a list of {{name, kind, points}}, got {type(zones).__name__}"
                )
            checked = editor.check_draft(camera, zones)  # NotFound first, then each zone's problem
            width, height = _size(body, cameras, camera)
            config = cameras.camera_config(camera)
            detect = config.motion.detect_width if config is not None else 640
            return draft_mask(checked.zones, width, height, detect)

        mask = await anyio.to_thread.run_sync(render)
        headers = {
            "X-Mask-Width": str(mask.width),
            "X-Mask-Height": str(mask.height),
            "X-Ignored-Share": f"{mask.ignored_share:.4f}",
            "Cache-Control": "no-store",
        }
        return Response(mask.png, media_type="image/png", headers=headers)


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidInput(f"?{name}={raw[:40]!r} is not a whole number") from exc
    if name == "hours":
        check_hours(value)
    return value


def _size(body: dict[str, Any], cameras: CameraService, camera: str) -> tuple[int, int]:
    width, height = body.get("width"), body.get("height")
    if width not in (None, "") and height not in (None, ""):
        try:
            return int(str(width)), int(str(height))
        except ValueError as exc:
            raise InvalidInput(
                f"width and height must be whole numbers of pixels, got {width!r}x{height!r}"
            ) from exc
    size = cameras.frame_size(camera)
    if size is None:
        raise Unavailable(f"camera {camera!r} has no frame yet; pass width and height of the frame drawn on")
    return size


def _alert_jpeg(cameras: CameraService, alert_id: int) -> bytes:
    alert = cameras.alert(alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} does not exist")
    if not alert.image_path:
        raise NotFound(f"alert {alert_id} has no image any more (retention removed it)")
    path = Path(alert.image_path)
    config = cameras.configured(alert.camera)
    if config is not None:
        root = os.path.normpath(os.path.abspath(config.alerts.image_dir))
        if os.path.commonpath([root, os.path.normpath(os.path.abspath(path))]) != root:
            raise NotFound(f"alert {alert_id}'s image is outside camera {alert.camera!r}'s image directory")
    if path.suffix.lower() != ".jpg" or not path.is_file():
        raise NotFound(f"alert {alert_id}'s image is gone from the disk")
    return path.read_bytes()


def _plain(record: Any) -> dict[str, Any]:
    return dataclasses.asdict(record)


def _group(group: ReviewGroup) -> dict[str, Any]:
    body = _plain(group)
    body["sample_images"] = [f"/api/alerts/{i}/image.jpg" for i in group.sample_alert_ids]
    return body
