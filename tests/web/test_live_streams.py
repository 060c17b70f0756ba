"""Live streams through a real hub: they stay up (the camera WebSocket used to be cut at 30 s
by the listener's body timer), they are capped per agent and in all so that health and the
admin keep answering, they end when their credential ends (token revoke, sign-out), and a
WebSocket message larger than a command is refused.

The two-minute hold is the issue's check for the 30 s cut, with the WebSocket, an MJPEG
stream and an SSE MCP session held at once in one test; HOMELAB_HUB_STREAM_HOLD_S shortens
it (never below 35 s, or it would not cross the old cut). benchmarks/live_soak.py holds a
grid for as long as asked (10 minutes for the issue's soak)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from homelab_hub.server.token_store import TokenStore
from tests.hubclient import mcp_session
from tests.support import wait_until
from tests.web.support import camera_lab, start_hub

HOLD_S = max(35.0, float(os.environ.get("HOMELAB_HUB_STREAM_HOLD_S", "120")))
# A revoked credential ends its streams at the next credential refresh (every 2 s) and the
# issue asks for 3 s; the deadline leaves room for a loaded CI machine.
ENDED_WITHIN_S = 6.0
CAPS = {"max_streams_per_agent": 3, "max_streams": 4}


@pytest.fixture(scope="module")
def open_lab(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """A tokenless hub (loopback browsers act as 'local') with one camera."""
    tmp = tmp_path_factory.mktemp("streams-open")
    with camera_lab(tmp, rtsp=0, files=1) as cams:
        hub = start_hub(tmp, cams["cameras"])
        try:
            yield {"hub": hub}
        finally:
            hub.stop()


@pytest.fixture(scope="module")
def token_lab(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """A hub with tokens and small stream caps, one camera."""
    tmp = tmp_path_factory.mktemp("streams-tokens")
    with camera_lab(tmp, rtsp=0, files=1) as cams:
        hub = start_hub(tmp, cams["cameras"], server=CAPS)
        try:
            yield {"hub": hub, "admin": hub.create_token("boss", admin=True)}
        finally:
            hub.stop()


class StreamReader(threading.Thread):
    """Reads a streaming GET (MJPEG parts, or SSE events), counting ``marker``, until stopped
    or the stream ends."""

    def __init__(self, url: str, token: str | None = None, marker: bytes = b"--hhframe") -> None:
        super().__init__(daemon=True)
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.marker = marker
        self.parts = 0
        self.status = 0
        self.ended = threading.Event()
        self.stop = threading.Event()
        self.start()

    def run(self) -> None:
        try:
            with httpx.stream("GET", self.url, headers=self.headers, timeout=httpx.Timeout(30, read=60)) as r:
                self.status = r.status_code
                for chunk in r.iter_bytes():
                    self.parts += chunk.count(self.marker)
                    if self.stop.is_set():
                        return
        except httpx.HTTPError:
            pass
        finally:
            self.ended.set()


def sse_reader(hub: Any, token: str) -> StreamReader:
    """GET /sse held open with plain HTTP (its first event names the message endpoint)."""
    return StreamReader(hub.url + "/sse", token, marker=b"event:")


def ws_connect(hub: Any, token: str) -> ClientConnection:
    url = hub.url.replace("http://", "ws://") + "/ws/cameras"
    conn = connect(url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10)
    assert json.loads(conn.recv(timeout=10))["type"] == "hello"
    return conn


def closed_code(conn: ClientConnection, timeout: float) -> int | None:
    """The close code once the hub closes the socket (frames in between are read), or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn.recv(timeout=max(0.05, deadline - time.monotonic()))
        except TimeoutError:
            return None
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd is not None else 1006
    return None


def test_the_grid_websocket_an_mjpeg_stream_and_an_sse_session_stay_up_for_two_minutes(open_lab, page):
    hub = open_lab["hub"]
    sockets: list[Any] = []
    frames = [0]

    def on_socket(ws: Any) -> None:
        sockets.append(ws)
        ws.on("framereceived", lambda payload: frames.__setitem__(0, frames[0] + 1))

    page.on("websocket", on_socket)
    page.goto(hub.url + "/cameras")
    mjpeg = StreamReader(f"{hub.url}/api/cameras/cam1/mjpeg?fps=1&width=320")
    sse_result: dict[str, Any] = {}
    sse_done = threading.Event()
    hold_over = threading.Event()

    def sse_session() -> None:
        async def hold() -> None:
            async with mcp_session(hub.url, "sse") as session:
                sse_result["tools_before"] = len((await session.list_tools()).tools)
                while not hold_over.is_set():
                    await anyio.sleep(0.5)
                result = await session.call_tool("hub_status", {})
                sse_result["after"] = result.is_error

        try:
            anyio.run(hold)
        except BaseException as exc:
            sse_result["error"] = repr(exc)
        finally:
            sse_done.set()

    threading.Thread(target=sse_session, daemon=True).start()
    try:
        deadline = time.monotonic() + HOLD_S
        while time.monotonic() < deadline:
            page.wait_for_timeout(1000)  # the grid is held, events flow meanwhile
        frames_before, parts_before = frames[0], mjpeg.parts
        wait_until(
            lambda: (page.wait_for_timeout(200), frames[0] > frames_before)[1],
            20,
            "grid frames still flowing",
        )
        wait_until(lambda: mjpeg.parts > parts_before, 20, "MJPEG parts still flowing")
    finally:
        hold_over.set()
        mjpeg.stop.set()
    assert sse_done.wait(30), "the SSE session did not finish its last call"
    assert "error" not in sse_result, sse_result
    assert sse_result == {"tools_before": sse_result["tools_before"], "after": False}
    assert len(sockets) == 1, f"{len(sockets)} WebSocket opens in {HOLD_S:.0f} s"
    assert not sockets[0].is_closed()
    assert not mjpeg.ended.is_set() or mjpeg.stop.is_set()
    assert page.errors == []


def test_an_agent_over_its_stream_quota_gets_429_and_health_and_the_admin_keep_answering(token_lab):
    hub = token_lab["hub"]
    agent = hub.create_token("greedy")
    held_mjpeg = StreamReader(f"{hub.url}/api/cameras/cam1/mjpeg?fps=0.2&width=320", agent)
    held_sse = sse_reader(hub, agent)
    held_ws = ws_connect(hub, agent)
    try:
        wait_until(
            lambda: held_mjpeg.status == 200 and held_sse.status == 200, 20, "the agent's streams to open"
        )
        over = httpx.get(f"{hub.url}/api/cameras/cam1/mjpeg?fps=0.2", headers=_bearer(agent), timeout=30)
        assert over.status_code == 429
        assert over.json()["error"]["code"] == "too_many_streams"
        assert "'greedy'" in over.json()["error"]["message"]
        with ws_connect_raw(hub, agent) as refused:
            with pytest.raises(ConnectionClosed) as closed:
                refused.recv(timeout=10)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1013
        assert "max_streams_per_agent" in closed.value.rcvd.reason
        assert httpx.get(hub.url + "/api/health", timeout=30).status_code in (200, 503)
        admin = hub.rest("hub_status", token=token_lab["admin"])
        assert admin.status_code == 200
        # The hub's total (4): the admin gets one more, then 429 too.
        admin_stream = StreamReader(f"{hub.url}/api/cameras/cam1/mjpeg?fps=0.2", token_lab["admin"])
        wait_until(lambda: admin_stream.status == 200, 20, "the admin's stream to open")
        full = httpx.get(
            f"{hub.url}/api/cameras/cam1/mjpeg?fps=0.2", headers=_bearer(token_lab["admin"]), timeout=30
        )
        assert full.status_code == 429
        assert "max_streams" in full.json()["error"]["message"]
        admin_stream.stop.set()
    finally:
        held_ws.close()
        held_mjpeg.stop.set()
        held_sse.stop.set()
    # Streams given back are counted out: the agent may open one again.
    wait_until(
        lambda: hub.app.state.hub.streams.count("greedy") < 3, 20, "the agent's streams to be released"
    )
    again = ws_connect(hub, agent)
    again.close()
    TokenStore(hub.services.db).revoke("greedy")


def test_revoking_a_token_ends_its_websocket_mjpeg_and_sse_streams(token_lab):
    hub = token_lab["hub"]
    streams = hub.app.state.hub.streams
    wait_until(lambda: streams.count() == 0, 30, "earlier tests' streams to be released")
    agent = hub.create_token("leaver")
    mjpeg = StreamReader(f"{hub.url}/api/cameras/cam1/mjpeg?fps=2&width=320", agent)
    sse = sse_reader(hub, agent)
    conn = ws_connect(hub, agent)
    conn.send(json.dumps({"cmd": "subscribe", "cameras": ["cam1"], "fps": 2, "width": 320}))
    wait_until(
        lambda: mjpeg.parts > 0 and sse.status == 200,
        30,
        f"the streams to flow ({mjpeg.status}, {sse.status})",
    )
    # As `homelab-hub token revoke` does from another process: the database only.
    TokenStore(hub.services.db).revoke("leaver")
    assert closed_code(conn, ENDED_WITHIN_S) == 4401
    assert mjpeg.ended.wait(ENDED_WITHIN_S), "the MJPEG stream kept running after the revoke"
    assert sse.ended.wait(ENDED_WITHIN_S), "the SSE stream kept running after the revoke"


def test_signing_out_ends_the_grid_websocket_of_every_tab_of_that_session(token_lab, chromium):
    hub = token_lab["hub"]
    context = chromium.new_context()
    try:
        grid = context.new_page()
        sockets: list[Any] = []
        grid.on("websocket", lambda ws: sockets.append(ws))
        grid.goto(hub.url + "/login?next=/cameras")
        grid.fill("#token", token_lab["admin"])
        with grid.expect_navigation():
            grid.click("button[type=submit]")
        wait_until(lambda: (grid.wait_for_timeout(100), len(sockets) >= 1)[1], 20, "the grid's WebSocket")
        frames = [0]
        sockets[0].on("framereceived", lambda payload: frames.__setitem__(0, frames[0] + 1))
        wait_until(lambda: (grid.wait_for_timeout(100), frames[0] > 0)[1], 30, "frames on the grid")
        other = context.new_page()
        other.goto(hub.url + "/")
        with other.expect_navigation():
            other.click("form[action='/logout'] button")
        wait_until(
            lambda: (grid.wait_for_timeout(100), sockets[0].is_closed())[1],
            ENDED_WITHIN_S,
            "the signed-out grid's WebSocket to close",
        )
    finally:
        context.close()


def test_a_websocket_message_larger_than_a_command_closes_the_socket_with_1009(token_lab):
    hub = token_lab["hub"]
    conn = ws_connect(hub, token_lab["admin"])
    try:
        conn.send(json.dumps({"cmd": "subscribe", "cameras": ["x" * 60_000]}))
        assert closed_code(conn, 10) == 1009
    finally:
        conn.close()
    # A command still works on a fresh socket, and the hub answers.
    with ws_connect(hub, token_lab["admin"]) as fresh:
        fresh.send(json.dumps({"cmd": "subscribe", "cameras": ["cam1"], "fps": 1, "width": 320}))
        assert json.loads(fresh.recv(timeout=10))["type"] == "ack"
    assert httpx.get(hub.url + "/api/health", timeout=30).status_code in (200, 503)


def ws_connect_raw(hub: Any, token: str) -> ClientConnection:
    url = hub.url.replace("http://", "ws://") + "/ws/cameras"
    return connect(url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
