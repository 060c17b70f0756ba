"""zone_edit and alerts_recent: through the handlers, and through MCP and REST on a real hub."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from homelab_hub.cameras.alerts.store import AlertStore
from homelab_hub.cameras.settings import AlertsConfig
from homelab_hub.cameras.zones.store import ZoneStore
from homelab_hub.config import load_config
from homelab_hub.errors import Conflict, InvalidInput, NotFound
from homelab_hub.server.lifecycle import build_services, close_services
from homelab_hub.services import Services
from homelab_hub.tools.alerts import AlertsRecentInput, alerts_recent
from homelab_hub.tools.registry import Identity, ToolContext
from homelab_hub.tools.zones import ZoneEditInput, zone_edit
from tests.support import wait_until

# The hubs of camera tests run without memory: loading its embedding model in the
# background makes each hub's stop wait for it (about 10 s here), and cameras never use it.
NO_MEMORY = {"enabled": False}
ROAD = {"name": "road", "kind": "exclude", "points": [[0, 0], [1, 0], [1, 0.3], [0, 0.3]]}


def cameras_config(tmp_path: Path) -> dict:
    clip = tmp_path / "none.mp4"  # never read: workers are not started in the handler tests
    return {
        "gate": {"url": str(clip), "zones": [{"name": "post", "points": [[0.9, 0.9], [1, 0.9], [1, 1]]}]},
        "yard": {"url": str(clip)},
    }


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    config = load_config(
        None,
        storage={"url": f"sqlite:///{tmp_path}/hub.db"},
        logging={"file": None},
        cameras=cameras_config(tmp_path),
        vision={"url": "http://127.0.0.1:9"},
        memory=NO_MEMORY,
    )
    svc = build_services(config, start_workers=False)
    yield svc
    close_services(svc)


def call(services: Services, **args):
    return zone_edit(ToolContext(services, Identity("root", "admin")), ZoneEditInput(**args))


def test_zones_start_from_config_and_edits_persist_and_apply_live(services: Services) -> None:
    listed = call(services, camera="gate")
    assert listed.source == "config"
    assert [z.name for z in listed.zones] == ["post"]
    added = call(services, camera="gate", action="add", zone=ROAD)
    assert added.applied
    assert [z.name for z in added.zones] == ["post", "road"]
    live = services.cameras.pipeline("gate").detector.zones
    assert [z.name for z in live] == ["post", "road"]
    updated = call(services, camera="gate", action="update", zone={"name": "road", "kind": "include"})
    assert updated.zones[1].kind == "include"
    assert updated.zones[1].points == ROAD["points"]
    removed = call(services, camera="gate", action="remove", zone={"name": "post"})
    assert [z.name for z in removed.zones] == ["road"]
    stored = ZoneStore(services.db).load("gate", [])
    assert stored.source == "database"
    assert [(z.name, z.kind) for z in stored.zones] == [("road", "include")]
    assert [z.name for z in services.cameras.pipeline("gate").detector.zones] == ["road"]
    assert call(services, camera="yard").zones == []  # other cameras untouched


def test_bad_zone_edits_get_clear_errors_and_change_nothing(services: Services) -> None:
    with pytest.raises(
        InvalidInput, match="zone 'road' on camera 'gate': polygon needs at least 3 points, got 2"
    ):
        call(services, camera="gate", action="add", zone={"name": "road", "points": [[0, 0], [1, 1]]})
    with pytest.raises(InvalidInput, match="crosses itself"):
        call(
            services,
            camera="gate",
            action="add",
            zone={"name": "road", "points": [[0, 0], [1, 1], [1, 0], [0, 1]]},
        )
    with pytest.raises(Conflict, match="already exists"):
        call(services, camera="gate", action="add", zone={"name": "post", "points": ROAD["points"]})
    with pytest.raises(
        NotFound, match="zone 'lawn' on camera 'gate' does not exist; zones of this camera: 'post'"
    ):
        call(services, camera="gate", action="remove", zone={"name": "lawn"})
    with pytest.raises(InvalidInput, match="needs a zone"):
        call(services, camera="gate", action="add")
    with pytest.raises(NotFound, match="unknown camera 'garage'"):
        call(services, camera="garage")
    assert call(services, camera="gate").source == "config"


def test_alerts_recent_lists_newest_first_and_filters(services: Services, tmp_path: Path) -> None:
    store = AlertStore(services.db)
    cfg = AlertsConfig(image_dir=tmp_path / "alerts")
    now = time.time()
    for camera, ts in (("gate", now - 100), ("gate", now - 10), ("yard", now - 5)):
        store.record(camera=camera, ts=ts, frame_bgr=np.zeros((90, 160, 3), np.uint8), boxes=[(1, 2, 30, 40)],
                     description=f"a fox in the {camera}", verdict="ALERT", model="m", latency_s=0.2,
                     full_frame=False, config=cfg)  # fmt: skip
    ctx = ToolContext(services, Identity("agent-a"))
    everything = alerts_recent(ctx, AlertsRecentInput())
    assert [a.camera for a in everything.alerts] == ["yard", "gate", "gate"]
    assert everything.count == 3
    assert everything.alerts[0].boxes == [[1, 2, 30, 40]]
    assert everything.alerts[0].time.endswith("+00:00")
    assert alerts_recent(ctx, AlertsRecentInput(camera="gate", limit=1)).alerts[0].ts == pytest.approx(
        now - 10
    )
    assert alerts_recent(ctx, AlertsRecentInput(since=now - 50)).count == 2
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 50))
    assert alerts_recent(ctx, AlertsRecentInput(since=iso)).count == 2
    with pytest.raises(InvalidInput, match="neither epoch seconds nor an ISO time"):
        alerts_recent(ctx, AlertsRecentInput(since="yesterday-ish"))
    with pytest.raises(NotFound, match="unknown camera 'garage'"):
        alerts_recent(ctx, AlertsRecentInput(camera="garage"))


# -- through the real server ---------------------------------------------------------------


@pytest.fixture
def hub(hub_factory, tmp_path: Path):
    return hub_factory(
        {"cameras": cameras_config(tmp_path), "vision": {"url": "http://127.0.0.1:9"}, "memory": NO_MEMORY}
    )


def test_zone_edit_over_rest_and_mcp(hub) -> None:
    added = hub.rest("zone_edit", {"camera": "gate", "action": "add", "zone": ROAD})
    assert added.status_code == 200, added.text
    assert [z["name"] for z in added.json()["zones"]] == ["post", "road"]
    listed = hub.mcp_call("zone_edit", {"camera": "gate"})
    assert not listed.is_error
    assert [z["name"] for z in listed.structured_content["zones"]] == ["post", "road"]
    listed_sse = hub.mcp_call("zone_edit", {"camera": "gate"}, transport="sse")
    assert listed_sse.structured_content == listed.structured_content


def test_zone_edit_errors_over_rest_and_mcp(hub) -> None:
    bad = hub.rest(
        "zone_edit", {"camera": "gate", "action": "add", "zone": {"name": "x", "points": [[0, 0], [1, 1]]}}
    )
    assert bad.status_code == 400
    assert (
        bad.json()["error"]["message"] == "zone 'x' on camera 'gate': polygon needs at least 3 points, got 2"
    )
    unknown = hub.mcp_call("zone_edit", {"camera": "garage"})
    assert unknown.is_error
    assert "unknown camera 'garage'" in unknown.content[0].text
    assert hub.rest("zone_edit", {"camera": "garage"}).status_code == 404


def test_alerts_recent_over_rest_and_mcp(hub, tmp_path: Path) -> None:
    AlertStore(hub.services.db).record(
        camera="gate", ts=time.time(), frame_bgr=np.zeros((90, 160, 3), np.uint8), boxes=[(1, 2, 3, 4)],
        description="A person at the gate.", verdict="ALERT", model="m", latency_s=0.1, full_frame=False,
        config=AlertsConfig(image_dir=tmp_path / "alerts"),
    )  # fmt: skip
    rest = hub.rest("alerts_recent", {"camera": "gate"})
    assert rest.status_code == 200
    assert rest.json()["alerts"][0]["description"] == "A person at the gate."
    mcp = hub.mcp_call("alerts_recent", {"limit": 5})
    assert not mcp.is_error
    assert mcp.structured_content["count"] == 1
    bad = hub.mcp_call("alerts_recent", {"since": "last tuesday"})
    assert bad.is_error
    assert "ISO time" in bad.content[0].text


def test_a_camera_worker_on_a_clip_raises_an_alert_while_a_broken_camera_fails_alone(
    hub_factory, tmp_path: Path
) -> None:
    from tests.cameras.clips import ClipSpec, write_clip, write_not_video
    from tests.fakes.ollama_vision import FakeOllamaVision

    clip = write_clip(tmp_path / "moving.mp4", ClipSpec("moving_object", seconds=20))
    junk = write_not_video(tmp_path / "shed.mp4")
    with FakeOllamaVision() as ollama:
        hub = hub_factory(
            {
                "cameras": {"gate": {"url": str(clip), "interval_s": 0.5,
                                     "alerts": {"image_dir": str(tmp_path / "alerts")}},
                            "shed": {"url": str(junk)}},
                "vision": {"url": ollama.url},
                "memory": NO_MEMORY,
            }
        )  # fmt: skip
        alerts = wait_until(
            lambda: hub.rest("alerts_recent", {"camera": "gate"}).json()["alerts"],
            30,
            "the camera worker's alert",
        )
        assert alerts[0]["verdict"] == "ALERT"
        assert "person" in alerts[0]["description"]
        assert Path(alerts[0]["image_path"]).is_file()


def circle(n: int) -> list[list[float]]:
    return [
        [0.5 + 0.4 * math.cos(2 * math.pi * i / n), 0.5 + 0.4 * math.sin(2 * math.pi * i / n)]
        for i in range(n)
    ]


def test_agent_tokens_may_list_zones_but_only_admin_tokens_change_them(hub) -> None:
    agent = hub.create_token("a")
    root = hub.create_token("root", admin=True)
    assert hub.rest("zone_edit", {"camera": "gate"}, token=agent).status_code == 200
    assert not hub.mcp_call("zone_edit", {"camera": "gate"}, token=agent).is_error
    for action, zone in (
        ("add", ROAD),
        ("update", {"name": "post", "kind": "include"}),
        ("remove", {"name": "post"}),
    ):
        args = {"camera": "gate", "action": action, "zone": zone}
        refused = hub.rest("zone_edit", args, token=agent)
        assert refused.status_code == 403
        assert refused.json()["error"] == {
            "code": "forbidden",
            "message": f"zone_edit {action} needs an admin token; agent 'a' has an agent token",
        }
        over_mcp = hub.mcp_call("zone_edit", args, token=agent)
        assert over_mcp.is_error
        assert f"zone_edit {action} needs an admin token" in over_mcp.content[0].text
    unchanged = hub.rest("zone_edit", {"camera": "gate"}, token=agent).json()
    assert unchanged["source"] == "config"
    assert [z["name"] for z in unchanged["zones"]] == ["post"]
    added = hub.rest("zone_edit", {"camera": "gate", "action": "add", "zone": ROAD}, token=root)
    assert added.status_code == 200, added.text
    assert [z["name"] for z in added.json()["zones"]] == ["post", "road"]


def test_a_4000_point_zone_is_refused_before_any_geometry_and_200_points_are_accepted(
    hub, monkeypatch
) -> None:
    from homelab_hub.cameras.zones import polygon

    def no_geometry(points):
        raise AssertionError("the crossing check ran on a zone that is over the point limit")

    root = hub.create_token("root", admin=True)
    huge = {"camera": "gate", "action": "add", "zone": {"name": "huge", "points": circle(4000)}}
    with monkeypatch.context() as patched:
        patched.setattr(polygon, "_first_crossing", no_geometry)
        refused = hub.rest("zone_edit", huge, token=root)
        over_mcp = hub.mcp_call("zone_edit", huge, token=root)
    assert refused.status_code == 400
    assert "at most 200 items" in refused.json()["error"]["message"]
    assert over_mcp.is_error
    assert "at most 200 items" in over_mcp.content[0].text
    fine = {"camera": "gate", "action": "add", "zone": {"name": "round", "points": circle(200)}}
    accepted = hub.rest("zone_edit", fine, token=root)
    assert accepted.status_code == 200, accepted.text
    assert len(accepted.json()["zones"][-1]["points"]) == 200
