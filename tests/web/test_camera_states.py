"""One camera state with a reason a person can act on, the same in camera_list, /api/health,
doctor, the live grid, the home page and the zone editor (real Chromium, real uvicorn)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from homelab_hub.server.doctor import check_endpoints
from tests.hubclient import hub_config
from tests.support import free_port, wait_until
from tests.web.support import OUTPUT, READER, start_hub


@pytest.fixture(scope="module")
def refused(tmp_path_factory) -> Iterator[tuple[Any, str, str]]:
    """A hub whose one camera's RTSP port is closed (its password must never show)."""
    port = free_port()
    url = f"rtsp://admin:hunter2@127.0.0.1:{port}/live"
    hub = start_hub(
        tmp_path_factory.mktemp("refused"), {"driveway": {"url": url, "interval_s": 2.0, "reader": READER}}
    )
    try:
        yield hub, url, f"offline: connection refused (rtsp://admin:***@127.0.0.1:{port}/live)"
    finally:
        hub.stop()


def listed(hub: Any) -> dict[str, Any]:
    return hub.rest("camera_list").json()["cameras"][0]


def test_a_camera_that_refuses_connections_says_so_in_camera_list_and_health(refused):
    hub, _, want = refused
    wait_until(lambda: listed(hub)["state"] == "offline", 30, "the camera to be offline")
    camera = listed(hub)
    assert f"{camera['state']}: {camera['reason']}" == want
    cameras = hub.get("/api/health").json()["components"]["cameras"]
    assert cameras["detail"] == f"driveway: {want}"
    assert "hunter2" not in str(camera) + str(cameras)


def test_doctor_words_a_refused_camera_as_the_hub_does(refused, tmp_path):
    hub, url, want = refused
    config = hub_config(tmp_path, free_port(), {"cameras": {"driveway": {"url": url}}})
    [finding] = [f for f in check_endpoints(config) if f.name == "camera driveway"]
    assert not finding.ok
    assert finding.detail == want


def test_the_grid_tile_home_page_and_zone_editor_show_the_reason(refused, page):
    hub, _, want = refused
    wait_until(lambda: listed(hub)["state"] == "offline", 30, "the camera to be offline")
    page.goto(hub.url + "/cameras")
    tile = page.locator('#grid .tile[data-camera="driveway"]')
    # The live socket's stalled state carries the same reason (and keeps it on the tile).
    wait_until(lambda: tile.get_attribute("data-state") == "stalled", 30, "the live state")
    assert tile.locator(".reason").inner_text() == want
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "camera-offline-tile.png"), full_page=True)
    page.goto(hub.url + "/")
    assert page.locator('#camera-reasons li[data-camera="driveway"]').inner_text() == f"driveway {want}"
    assert "ok camera:driveway" not in page.locator(".workers").inner_text()
    page.goto(hub.url + "/zones?camera=driveway")
    assert page.locator("#frame-reason").inner_text() == want
