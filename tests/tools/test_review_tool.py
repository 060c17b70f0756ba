"""alert_review over REST and MCP on a real hub, and the JSON endpoints the pages read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.cameras.review_data import CAR, CAT, STEAM, VISITOR, cameras_config, seed_day
from tests.fakes.ollama_review import FakeOllamaReview

NO_MEMORY = {"enabled": False}


@pytest.fixture
def review_model() -> Iterator[FakeOllamaReview]:
    with FakeOllamaReview() as fake:
        yield fake


@pytest.fixture
def hub(hub_factory, tmp_path: Path, review_model: FakeOllamaReview):
    hub = hub_factory(
        {
            "cameras": cameras_config(tmp_path),
            "vision": {"url": "http://127.0.0.1:9", "review": {"url": review_model.url}},
            "memory": NO_MEMORY,
        }
    )
    seed_day(hub.services.db, tmp_path / "alerts")
    return hub


def group_of(answer: dict, description: str) -> dict:
    return next(g for g in answer["groups"] if g["description"] == description)


def test_an_agent_triages_a_day_through_alert_review_over_rest_and_mcp(hub, tmp_path: Path) -> None:
    agent = hub.create_token("claude")
    root = hub.create_token("root", admin=True)
    listed = hub.rest("alert_review", {"action": "list"}, token=agent)
    assert listed.status_code == 200, listed.text
    assert [g["count"] for g in listed.json()["groups"]] == [6, 5, 4, 3, 2]
    over_mcp = hub.mcp_call("alert_review", {}, token=agent)
    assert not over_mcp.is_error
    assert over_mcp.structured_content == listed.json()
    classified = hub.rest("alert_review", {"action": "classify"}, token=agent).json()
    assert classified["classified"]["flagged"] == 4
    assert group_of(classified, CAR)["verdict"]["suggested_pattern"] == "on the road"
    car = group_of(classified, CAR)
    refused = hub.rest("alert_review", {"action": "suppress", "group_id": car["id"]}, token=agent)
    assert refused.status_code == 403
    assert refused.json()["error"] == {
        "code": "forbidden",
        "message": "alert_review suppress needs an admin token; agent 'claude' has an agent token",
    }
    refused_mcp = hub.mcp_call("alert_review", {"action": "acknowledge", "group_id": car["id"]}, token=agent)
    assert refused_mcp.is_error
    assert refused_mcp.content[0].text == (
        "forbidden: alert_review acknowledge needs an admin token; agent 'claude' has an agent token"
    )
    done = hub.rest(
        "alert_review", {"action": "suppress", "group_id": car["id"], "expires_days": 7}, token=root
    )
    assert done.status_code == 200, done.text
    answer = done.json()
    assert answer["groups"][0]["state"] == "suppressed"
    assert answer["preview"] == {"matched_alerts": 6, "window_alerts": 8, "matched_groups": [car["id"]]}
    assert answer["suppressions"][0]["pattern"] == "on the road"
    assert answer["suppressions"][0]["camera"] == "gate"
    cat = group_of(classified, CAT)
    acked = hub.mcp_call("alert_review", {"action": "acknowledge", "group_id": cat["id"]}, token=root)
    assert acked.structured_content["groups"][0]["decided_by"] == "root"
    after = hub.rest("alert_review", {}, token=agent).json()
    assert after["states"] == {"needs_review": 1, "ai_flagged": 2, "suppressed": 1, "acknowledged": 1}
    (tmp_path / "alert_review_list.json").write_text(json.dumps(after, indent=2))
    undone = hub.rest("alert_review", {"action": "unsuppress", "group_id": car["id"]}, token=root).json()
    assert undone["groups"][0]["state"] == "ai_flagged"
    assert undone["suppressions"][0]["active"] is False


def test_bad_alert_review_input_gets_clear_errors(hub) -> None:
    root = hub.create_token("root", admin=True)
    steam = group_of(hub.rest("alert_review", {}, token=root).json(), STEAM)
    cases = [
        ({"action": "list", "camera": "garage"}, 404, "unknown camera 'garage'; known cameras: 'drive', 'gate', 'yard'"),
        ({"action": "acknowledge", "group_id": 4242}, 404, "review group 4242 does not exist; list the groups with action=list"),
        ({"action": "suppress", "pattern": "*"}, 400, "suppression pattern '*' has no words; it would silence every alert"),
        ({"action": "suppress", "pattern": "the", "camera": "gate"}, 400,
         "suppression pattern 'the' is made of filler words only and would match nearly every description; "
         "pass confirm=true to save it anyway"),
        ({"action": "suppress", "group_id": steam["id"], "expires_days": -1}, 400,
         "alert_review: argument 'expires_days': Input should be greater than or equal to 0 (got -1)"),
        ({"action": "suppress"}, 400, "suppress needs a group_id or a pattern, e.g. pattern='car on the road'"),
        ({"action": "unsuppress", "group_id": steam["id"]}, 400, f"review group {steam['id']} is not suppressed (it is needs_review)"),
    ]  # fmt: skip
    for args, status, message in cases:
        answer = hub.rest("alert_review", args, token=root)
        assert answer.status_code == status, args
        assert answer.json()["error"]["message"] == message
    huge = hub.rest("alert_review", {"action": "suppress", "pattern": "x" * 10_000}, token=root)
    assert huge.status_code == 400
    assert huge.json()["error"]["message"].startswith(
        "alert_review: argument 'pattern': String should have at most 200 characters"
    )
    over_mcp = hub.mcp_call("alert_review", {"action": "suppress", "pattern": "*"}, token=root)
    assert (
        over_mcp.content[0].text
        == "invalid_input: suppression pattern '*' has no words; it would silence every alert"
    )
    saved = hub.rest("alert_review", {"action": "suppress", "pattern": "the", "confirm": True}, token=root)
    assert saved.status_code == 200
    undone = hub.rest("alert_review", {"action": "unsuppress", "pattern": "the"}, token=root).json()
    assert undone["message"].endswith("with pattern 'the' undone")
    assert undone["states"]["suppressed"] == 0


def test_the_pages_read_groups_images_activity_and_draft_masks(hub) -> None:
    agent = hub.create_token("viewer")
    root = hub.create_token("root", admin=True)
    groups = hub.get("/api/review/groups?hours=24&camera=gate", token=agent)
    assert groups.status_code == 200, groups.text
    visitor = group_of(groups.json(), VISITOR)
    assert visitor["hours"][visitor["hours"].index(1)] == 1
    assert visitor["sample_images"] == [f"/api/alerts/{i}/image.jpg" for i in visitor["sample_alert_ids"]]
    image = hub.get(visitor["sample_images"][0], token=agent)
    assert image.headers["content-type"] == "image/jpeg"
    assert image.content[:2] == b"\xff\xd8"
    missing = hub.get("/api/alerts/99999/image.jpg", token=agent)
    assert missing.status_code == 404
    assert missing.json() == {
        "ok": False,
        "error": {"code": "not_found", "message": "alert 99999 does not exist"},
    }
    activity = hub.get("/api/cameras/yard/activity?hours=24", token=agent).json()
    assert len(activity["alert_boxes"]) == 7
    assert activity["frame_width"] == 640
    assert hub.get("/api/cameras/garage/activity", token=agent).status_code == 404
    seen = hub.get("/api/review/preview?pattern=kamado+grill&camera=yard", token=agent).json()
    assert (seen["matched_alerts"], seen["window_alerts"], seen["broad"]) == (4, 7, "")
    car = group_of(groups.json(), CAR)
    draft = hub.get(f"/api/review/groups/{car['id']}/exclusion-zone", token=agent)
    assert draft.status_code == 200, draft.text
    zone = draft.json()["drafted"][0]
    assert zone["kind"] == "exclude"
    assert [z["name"] for z in draft.json()["zones"]["zones"]] == [zone["name"]]  # shown with the others
    saved = hub.rest("zone_edit", {"camera": "gate", "action": "add", "zone": zone}, token=root)
    assert saved.status_code == 200, saved.text
    detector = hub.services.cameras.pipeline("gate").detector  # the camera's live pipeline
    still = np.full((360, 640, 3), 90, np.uint8)
    detector.detect(still)
    moved = still.copy()
    cv2.rectangle(moved, (60, 20), (200, 60), (20, 20, 20), -1)  # the car on the road again
    assert detector.detect(moved).kind == "none"
    road = {"name": "road", "kind": "exclude", "points": [[0, 0], [1, 0], [1, 0.3], [0, 0.3]]}
    mask = hub.post(
        "/api/cameras/gate/draft-mask.png", json={"zones": [road], "width": 1280, "height": 720}, token=agent
    )
    assert mask.status_code == 200, mask.text
    png = cv2.imdecode(np.frombuffer(mask.content, np.uint8), cv2.IMREAD_UNCHANGED)
    assert png.shape == (360, 640, 4)
    assert mask.headers["x-ignored-share"] == f"{(png[:, :, 3] > 0).mean():.4f}"
    crossing = {"name": "bow", "points": [[0, 0], [1, 1], [1, 0], [0, 1]]}
    bad = hub.post(
        "/api/cameras/gate/draft-mask.png",
        json={"zones": [crossing], "width": 640, "height": 360},
        token=agent,
    )
    assert bad.status_code == 400
    assert (
        bad.json()["error"]["message"]
        == "zone 'bow' on camera 'gate': polygon crosses itself (edge 0-1 meets edge 2-3)"
    )
    as_get = hub.get(
        f"/api/cameras/gate/draft-mask.png?width=640&height=360&zones={json.dumps([road])}", token=agent
    )
    assert (
        as_get.content
        == hub.post(
            "/api/cameras/gate/draft-mask.png",
            json={"zones": [road], "width": 640, "height": 360},
            token=agent,
        ).content
    )
    no_frame = hub.post("/api/cameras/gate/draft-mask.png", json={"zones": []}, token=agent)
    assert no_frame.status_code == 503
    assert hub.get("/api/review/groups").status_code == 401  # tokens exist: no credential, no data
    worker = hub.get("/api/health", token=agent).json()["components"]["worker:alert-review"]
    assert worker["state"] == "ok"
    assert worker["data"]["next_run"].endswith("T07:00")
