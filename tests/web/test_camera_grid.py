"""The live grid in real Chromium, through a real uvicorn hub: eight cameras (more than the
browser's six connections per host) over exactly one WebSocket, the MJPEG and snapshot
fallback when the WebSocket is blocked, and the way back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import wait_until
from tests.web.support import OUTPUT, camera_lab, frames_in, start_hub

CAMERAS = 8


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("grid")
    with camera_lab(tmp, rtsp=4, files=4) as cams:
        hub = start_hub(tmp, cams["cameras"])
        viewer = hub.create_token("viewer")
        try:
            yield {"hub": hub, "token": viewer, **cams}
        finally:
            hub.stop()


def sign_in(page: Any, hub: Any, token: str, next_path: str = "/cameras") -> None:
    page.goto(f"{hub.url}{next_path}")
    page.wait_for_url("**/login**")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_path}")


def test_every_camera_shows_fresh_frames_over_one_websocket(lab, page):
    hub = lab["hub"]
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    sign_in(page, hub, lab["token"])
    names = sorted(lab["cameras"])
    assert len(names) == CAMERAS
    # Fresh: every tile has shown several frames, and keeps counting.
    wait_until(lambda: all(frames_in(page, n) >= 3 for n in names), timeout=45, what="frames in all 8 tiles")
    before = {n: frames_in(page, n) for n in names}
    wait_until(lambda: all(frames_in(page, n) > before[n] for n in names), timeout=20, what="newer frames")
    for name in names:
        assert page.locator(f'#grid .tile[data-camera="{name}"]').get_attribute("data-state") == "streaming"
    assert sockets == [f"ws://127.0.0.1:{hub.config.server.port}/ws/cameras"]
    assert page.errors == []
    OUTPUT.mkdir(parents=True, exist_ok=True)
    shot = OUTPUT / "cameras-grid.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot of the live grid: {shot}")


def test_a_click_opens_one_camera_large_at_a_higher_width(lab, page):
    hub = lab["hub"]
    sign_in(page, hub, lab["token"])
    wait_until(lambda: frames_in(page, "cam2") >= 2, timeout=30, what="frames in cam2")
    page.click('#grid .tile[data-camera="cam2"]')
    wait_until(lambda: frames_in(page, "cam2", "#large") >= 2, timeout=20, what="frames in the large view")
    widths = {s.width for s in hub.services.cameras.live.stats() if s.camera == "cam2" and s.subscribers}
    assert widths == {1280}


def test_a_blocked_websocket_falls_back_to_mjpeg_and_snapshots_then_returns(lab, page):
    hub = lab["hub"]
    blocked = {"on": True}

    def handle(ws: Any) -> None:
        if blocked["on"]:
            ws.close()
        else:
            ws.connect_to_server()

    page.route_web_socket("**/ws/cameras", handle)
    sign_in(page, hub, lab["token"])
    names = sorted(lab["cameras"])

    def vias() -> list[str | None]:
        return [page.locator(f'#grid .tile[data-camera="{n}"]').get_attribute("data-via") for n in names]

    wait_until(lambda: None not in vias(), timeout=40, what="every tile to fall back")
    via = vias()
    assert via.count("mjpeg") == 4
    assert via.count("snapshot") == CAMERAS - 4
    mjpeg = names[via.index("mjpeg")]
    snapshot = names[via.index("snapshot")]
    for name in (mjpeg, snapshot):
        src = page.locator(f'#grid .tile[data-camera="{name}"] img').get_attribute("src")
        assert src is not None
        assert src.startswith(f"/api/cameras/{name}/")
    assert page.locator("#link-state").inner_text() == "fallback"
    # Unblocked, the page's background retries reach the hub and the tiles return to it.
    blocked["on"] = False
    wait_until(lambda: vias() == [None] * CAMERAS, timeout=40, what="the tiles to leave the fallback")
    wait_until(
        lambda: all(frames_in(page, n) >= 2 for n in names), timeout=40, what="frames over the WebSocket"
    )
    assert page.locator("#link-state").inner_text() == "live"
