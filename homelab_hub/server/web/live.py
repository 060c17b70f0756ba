"""Live cameras over HTTP: every camera over one WebSocket (``/ws/cameras``), the MJPEG and
snapshot fallbacks (``/api/cameras/{name}/mjpeg``, ``/api/cameras/{name}/snapshot.jpg``).

The WebSocket speaks JSON text for commands and state, binary for frames:

- client → server: ``{"cmd": "subscribe", "cameras": ["gate"], "fps": 2, "width": 640}`` and
  ``{"cmd": "unsubscribe", "cameras": ["gate"]}``;
- server → client: binary frames (1 byte N, N bytes of the camera name, the JPEG), and text
  ``{"type": "state", "camera": "gate", "state": "stalled", "reason": "offline: connection refused (rtsp://…)"}``
  (``reason``: the camera's state as camera_list says it; absent while streaming), ``{"type": "ack", ...}``,
  ``{"type": "error", "message": ...}``. A bad command gets an error message, never a
  closed socket.

uvicorn serves WebSockets only with the ``websockets`` (or ``wsproto``) package installed; the
hub declares it. The handshake is the library's (the seed lost hours to a hand-written one
with a wrong GUID that Python clients accepted and browsers refused).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import anyio.to_thread
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from homelab_hub.cameras.service import CameraService
from homelab_hub.cameras.stream.live import MAX_FPS, MIN_FPS, Viewer, split_message
from homelab_hub.errors import HubError, InvalidInput
from homelab_hub.lazy import lazy_module
from homelab_hub.server.access import AGENT, Access, declare
from homelab_hub.server.auth import IDENTITY_KEY
from homelab_hub.server.dispatch import validation_message
from homelab_hub.server.streams import CLOSE_CREDENTIAL_ENDED, current_lease

cv2 = lazy_module("cv2")

if TYPE_CHECKING:
    from homelab_hub.services import Services

log = logging.getLogger(__name__)

MAX_CAMERAS_PER_COMMAND = 64
LIVE = Access("agent", stream=True)
MJPEG_BOUNDARY = "hhframe"


class LiveCommand(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cmd: Literal["subscribe", "unsubscribe"]
    cameras: list[str] = Field(..., max_length=MAX_CAMERAS_PER_COMMAND)
    fps: float = Field(2.0, ge=MIN_FPS, le=MAX_FPS)
    width: int = Field(640, ge=160, le=3840)


class FrameQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    width: int | None = Field(None, ge=16, le=3840)
    fps: float = Field(2.0, ge=MIN_FPS, le=MAX_FPS)
    annotated: bool = False


class LiveRoutes:
    def __init__(self, get_services: Callable[[], Services]) -> None:
        self.get_services = get_services

    def routes(self) -> list[Route | WebSocketRoute]:
        return [
            declare(LIVE, WebSocketRoute("/ws/cameras", self.cameras_ws)),
            declare(LIVE, Route("/api/cameras/{name}/mjpeg", self.mjpeg, methods=["GET"])),
            declare(AGENT, Route("/api/cameras/{name}/snapshot.jpg", self.snapshot, methods=["GET"])),
        ]

    def _manager(self) -> CameraService:
        services = self.get_services()
        return services.require(services.cameras, "cameras")

    # -- the one WebSocket ------------------------------------------------------------------
    async def cameras_ws(self, websocket: WebSocket) -> None:
        if IDENTITY_KEY not in websocket.scope.get("state", {}):
            await websocket.close(code=4401)  # the guard lets no such request through; belt and braces
            return
        manager = self._manager()
        await websocket.accept()
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        viewer = Viewer(_waker(loop, wake))
        sender = asyncio.create_task(self._send(websocket, viewer, wake))
        await websocket.send_json({"type": "hello", "cameras": manager.names(), "max_fps": MAX_FPS})
        lease = current_lease(websocket.scope)
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if lease is not None and not lease.alive():
                    # The credential ended since the last sweep: no command runs on it.
                    reason = "the credential that opened this stream was revoked or signed out"
                    await websocket.close(code=CLOSE_CREDENTIAL_ENDED, reason=reason)
                    break
                reply = self._command(manager, viewer, message)
                for item in reply:
                    await websocket.send_json(item)
        except WebSocketDisconnect:
            pass
        finally:
            sender.cancel()
            manager.live.drop(viewer)

    def _command(
        self, manager: CameraService, viewer: Viewer, message: Mapping[str, Any]
    ) -> list[dict[str, object]]:
        if message.get("bytes") is not None:
            return [_error('binary messages are not commands; send JSON text like {"cmd": "subscribe", ...}')]
        text = message.get("text")
        try:
            raw = json.loads(text) if isinstance(text, str) else None
        except (ValueError, RecursionError):
            return [_error('that message is not JSON; send {"cmd": "subscribe", "cameras": [...]}')]
        try:
            command = LiveCommand.model_validate(raw)
        except ValidationError as exc:
            return [_error(f"bad command: {validation_message(exc, 'field')}")]
        replies: list[dict[str, object]] = []
        done: list[str] = []
        for camera in command.cameras:
            try:
                if command.cmd == "subscribe":
                    manager.live.subscribe(viewer, camera, fps=command.fps, width=command.width)
                else:
                    manager.live.unsubscribe(viewer, camera)
            except HubError as exc:
                replies.append(_error(exc.to_dict()["message"], camera=camera))
            else:
                done.append(camera)
        replies.insert(
            0,
            {"type": "ack", "cmd": command.cmd, "cameras": done, "fps": command.fps, "width": command.width},
        )
        return replies

    @staticmethod
    async def _send(websocket: WebSocket, viewer: Viewer, wake: asyncio.Event) -> None:
        # One sender per client: a client that reads slowly holds only its own sender, and
        # its slots keep just the latest frame per camera meanwhile.
        try:
            while True:
                await wake.wait()
                wake.clear()
                states, frames = viewer.take()
                for camera, state, reason in states:
                    said = {"type": "state", "camera": camera, "state": state}
                    if reason:
                        said["reason"] = reason
                    await websocket.send_json(said)
                for _, message in frames:
                    await websocket.send_bytes(message)
        except (WebSocketDisconnect, RuntimeError):
            return  # the client went away; the receiving side cleans up

    # -- fallbacks --------------------------------------------------------------------------
    async def mjpeg(self, request: Request) -> Response:
        """``multipart/x-mixed-replace``: one JPEG part per frame, for clients without the
        WebSocket (it costs one of the browser's few connections per camera)."""
        name = request.path_params["name"]
        query = _query(request)
        manager = self._manager()
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        viewer = Viewer(_waker(loop, wake))
        manager.live.subscribe(viewer, name, fps=query.fps, width=query.width or 640)

        async def parts() -> AsyncIterator[bytes]:
            try:
                while True:
                    await wake.wait()
                    wake.clear()
                    for _, message in viewer.take()[1]:
                        _, jpeg = split_message(message)
                        yield (
                            (
                                f"--{MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                            ).encode()
                            + jpeg
                            + b"\r\n"
                        )
            finally:
                manager.live.drop(viewer)

        return StreamingResponse(
            parts(),
            media_type=f"multipart/x-mixed-replace; boundary={MJPEG_BOUNDARY}",
            headers={"Cache-Control": "no-store"},
        )

    async def snapshot(self, request: Request) -> Response:
        """The same frame ``camera_snapshot`` returns, as a JPEG (scaled to ``width``)."""
        name = request.path_params["name"]
        query = _query(request)
        manager = self._manager()
        shot = await anyio.to_thread.run_sync(lambda: manager.snapshot_jpeg(name, annotated=query.annotated))
        jpeg = shot.jpeg
        if query.width and query.width < shot.width:
            jpeg = await anyio.to_thread.run_sync(_scaled, jpeg, query.width)
        return Response(
            jpeg,
            media_type="image/jpeg",
            headers={"Cache-Control": "no-store", "X-Frame-Time": f"{shot.ts:.3f}"},
        )


def _waker(loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> Callable[[], None]:
    """Sets ``event`` from any thread (the encoders'), without blocking them."""

    def wake() -> None:
        loop.call_soon_threadsafe(event.set)

    return wake


def _scaled(jpeg: bytes, width: int) -> bytes:
    frame = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if frame is None:
        return jpeg
    h, w = frame.shape[:2]
    small = cv2.resize(frame, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return buf.tobytes() if ok else jpeg


def _query(request: Request) -> FrameQuery:
    try:
        return FrameQuery.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise InvalidInput(validation_message(exc, "parameter")) from exc


def _error(message: str, camera: str | None = None) -> dict[str, object]:
    out: dict[str, object] = {"type": "error", "message": message}
    if camera is not None:
        out["camera"] = camera
    return out
