"""The zone editor and the alert review page in real Chromium, against a real hub.

/zones: a polygon drawn with the mouse and saved changes the running pipeline's mask (motion
that was there is ignored from then on); a self-intersecting polygon shows the engine's
error and saves nothing. /alerts/review: with the stand-in review model, classify, confirm a
false-positive group's suppression, and the next alert with that description on that camera
is suppressed and counted as a hit; undo restores it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from homelab_hub.cameras.alerts.store import AlertStore
from tests.cameras.clips import ClipSpec, frame_at, write_clip
from tests.cameras.review_data import CAMERAS as REVIEW_CAMERAS
from tests.cameras.review_data import GRILL, seed_day
from tests.fakes.ollama_review import FakeOllamaReview
from tests.fakes.ollama_vision import FakeOllamaVision
from tests.support import free_port, wait_until
from tests.web.support import OUTPUT, READER, start_hub

# Motion only inside the lower right quarter of the frame.
REGION = (0.55, 0.55, 0.95, 0.95)


def sign_in(page: Any, hub: Any, token: str, path: str) -> None:
    page.goto(f"{hub.url}/login?next={path}")
    page.fill("#token", token)
    with page.expect_navigation():
        page.click("button[type=submit]")


# -- the zone editor ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def zone_lab(tmp_path_factory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("zones")
    spec = ClipSpec("motion_in_region", width=320, height=180, fps=10, seconds=6, gop=10, region=REGION)
    cameras = {
        "yard": {
            "url": str(write_clip(tmp / "yard.mp4", spec)),
            "interval_s": 0.5,
            "reader": READER,
            "alerts": {"image_dir": str(tmp / "alerts")},
        }
    }
    hub = start_hub(tmp, cameras)
    try:
        yield {"hub": hub, "admin": hub.create_token("boss", admin=True), "agent": hub.create_token("eye")}
    finally:
        hub.stop()


def click_at(page: Any, canvas: Any, x: float, y: float, button: str = "left") -> None:
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + x * box["width"], box["y"] + y * box["height"], button=button)


def last_boxes(hub: Any) -> list[Any] | None:
    last = hub.services.cameras.runtime("yard").last_sample
    return None if last is None else list(last.result.boxes)


def test_a_zone_drawn_and_saved_in_the_browser_makes_the_pipeline_ignore_that_motion(zone_lab, page):
    hub = zone_lab["hub"]
    sample_count = lambda: hub.services.cameras.runtime("yard").samples  # noqa: E731
    wait_until(lambda: last_boxes(hub), timeout=30, what="motion in the region before any zone")
    sign_in(page, hub, zone_lab["admin"], "/zones")
    wait_until(lambda: int(page.locator("#frame").get_attribute("data-frames") or 0) >= 2, 30, "a live frame")
    canvas = page.locator("#editor")
    page.click("#new-zone")
    corners = [(0.5, 0.5), (0.99, 0.5), (0.99, 0.99), (0.5, 0.99)]
    for x, y in corners:
        click_at(page, canvas, x, y)
    click_at(page, canvas, *corners[0])  # the first point again closes the polygon
    page.fill("#zone-name", "corner")
    page.click("#save")
    wait_until(lambda: "saved corner" in page.locator("#status").inner_text(), 20, "the save to be confirmed")
    zones = hub.services.cameras.pipeline("yard").detector.zones
    assert [z.name for z in zones] == ["corner"]
    assert zones[0].kind == "exclude"
    # The running pipeline now ignores that motion: every later sample finds nothing.
    after = sample_count()
    wait_until(lambda: sample_count() >= after + 3, 30, "three more samples")
    assert last_boxes(hub) == []
    # The draft-mask preview came from the hub and shows a share of the frame ignored.
    assert float(page.locator("#stage").get_attribute("data-ignored") or 0) > 0.1
    assert page.errors == []
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "zones.png"), full_page=True)


def test_a_self_intersecting_zone_shows_the_engines_error_and_saves_nothing(zone_lab, page):
    hub = zone_lab["hub"]
    before = hub.rest("zone_edit", {"camera": "yard", "action": "list"}, token=zone_lab["admin"]).json()[
        "zones"
    ]
    sign_in(page, hub, zone_lab["admin"], "/zones")
    canvas = page.locator("#editor")
    page.click("#new-zone")
    bow_tie = [(0.1, 0.1), (0.4, 0.4), (0.4, 0.1), (0.1, 0.4)]
    for x, y in bow_tie:
        click_at(page, canvas, x, y)
    click_at(page, canvas, *bow_tie[0])
    page.fill("#zone-name", "bowtie")
    page.click("#save")
    wait_until(
        lambda: page.locator("#zone-error").inner_text() != "", 20, "the engine's error beside the zone"
    )
    assert "crosses itself" in page.locator("#zone-error").inner_text()
    after = hub.rest("zone_edit", {"camera": "yard", "action": "list"}, token=zone_lab["admin"]).json()[
        "zones"
    ]
    assert after == before


def test_an_agent_token_sees_the_zones_but_cannot_save(zone_lab, page):
    hub = zone_lab["hub"]
    sign_in(page, hub, zone_lab["agent"], "/zones")
    assert page.locator("#new-zone").is_disabled()
    assert page.locator("#save").is_disabled()


# -- the alert review page ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def review_lab(tmp_path_factory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("review")
    dead = f"rtsp://127.0.0.1:{free_port()}/nothing"  # the page's pipelines are driven by the test
    cameras = {
        name: {
            **extra,
            "url": dead,
            "reader": READER,
            "alerts": {"image_dir": str(tmp / "alerts"), "cooldown_s": 0},
        }
        for name, extra in REVIEW_CAMERAS.items()
    }
    with FakeOllamaReview() as review_model, FakeOllamaVision() as vision:
        vision.fixed = f"ALERT: {GRILL}"
        hub = start_hub(
            tmp,
            cameras,
            vision={"enabled": True, "url": vision.url, "timeout_s": 5, "review": {"url": review_model.url}},
        )
        try:
            seed_day(hub.services.db, tmp / "alerts")
            yield {"hub": hub, "admin": hub.create_token("boss", admin=True), "vision": vision}
        finally:
            hub.stop()


def test_classify_confirm_a_suppression_the_next_alert_is_a_hit_and_undo_restores_it(review_lab, page):
    hub = review_lab["hub"]
    sign_in(page, hub, review_lab["admin"], "/alerts/review")
    page.wait_for_selector(".group")
    page.click("#classify")
    wait_until(
        lambda: page.locator('[role=tab][data-state="ai_flagged"] .count').inner_text() not in ("", "0"),
        30,
        "AI-flagged groups",
    )
    page.click('[role=tab][data-state="ai_flagged"]')
    card = page.locator(".group", has_text="next to the kamado grill")
    card.wait_for()
    assert "FALSE_POSITIVE" in card.locator(".verdict").inner_text()
    assert card.locator(".pattern").input_value() == "grill"
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "alert-review.png"), full_page=True)
    page.on("dialog", lambda dialog: dialog.accept())
    card.locator(".suppress").click()
    wait_until(
        lambda: "suppressed" in page.locator("#status").inner_text(), 20, "the suppression to be saved"
    )
    # The next alert with that description on that camera is suppressed and counted.
    pipeline = hub.services.cameras.pipeline("yard")
    store = AlertStore(hub.services.db)
    (suppression,) = [s for s in store.suppressions(camera="yard") if s.pattern == "grill"]
    frames = [frame_at(ClipSpec("moving_object", width=640, height=360), i) for i in range(0, 40, 10)]
    now = time.time()
    decisions = [pipeline.process(f, now + i).decision for i, f in enumerate(frames)]
    assert "suppressed" in decisions
    assert "alert" not in decisions
    assert store.suppression(suppression.id).hits >= 1
    # Undo on the Suppressed tab restores it: the next such alert is an alert again.
    page.click('[role=tab][data-state="suppressed"]')
    restored = page.locator(".group", has_text="next to the kamado grill")
    restored.locator(".unsuppress").click()
    wait_until(lambda: "restored" in page.locator("#status").inner_text(), 20, "the undo")
    later = [pipeline.process(f, now + 10 + i).decision for i, f in enumerate(frames)]
    assert "alert" in later


def test_a_button_an_agent_cannot_press_looks_disabled(zone_lab, page):
    sign_in(page, zone_lab["hub"], zone_lab["agent"], "/zones")
    save = page.locator("#save")
    style = save.evaluate("b => { const s = getComputedStyle(b); return [s.cursor, s.opacity]; }")
    assert style[0] == "not-allowed" and float(style[1]) < 0.6


def test_a_single_camera_fills_the_desktop_grid(zone_lab, page):
    sign_in(page, zone_lab["hub"], zone_lab["admin"], "/cameras")
    tile = page.locator('#grid .tile[data-camera="yard"]').bounding_box()
    assert tile["width"] > 900  # not one 300 px column of an empty grid


def test_a_phone_gets_the_touch_hint_without_right_click_or_ctrl_z(zone_lab, chromium):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        phone = context.new_page()
        sign_in(phone, zone_lab["hub"], zone_lab["admin"], "/zones")
        shown = phone.locator(".hint:visible").inner_text()
        assert "press and hold a point to delete it" in shown
        assert "right-click" not in shown and "Ctrl+Z" not in shown
    finally:
        context.close()


def test_zones_are_offered_for_copying_only_to_the_other_cameras(review_lab, page):
    sign_in(page, review_lab["hub"], review_lab["admin"], "/zones?camera=gate")
    page.wait_for_function("document.querySelector('#camera-name').textContent === 'gate'")
    offered = "[...document.querySelectorAll('#copy-target option:not([disabled])')].map(o => o.value)"
    assert sorted(page.evaluate(offered)) == ["drive", "yard"]
    page.select_option("#camera", "yard")
    page.wait_for_function("document.querySelector('#camera-name').textContent === 'yard'")
    assert sorted(page.evaluate(offered)) == ["drive", "gate"]
    assert page.locator("#copy-target").input_value() != "yard"


def test_an_alert_thumbnail_opens_large_and_the_histogram_has_an_hour_axis(review_lab, page):
    sign_in(page, review_lab["hub"], review_lab["admin"], "/alerts/review")
    card = page.locator(".group").first
    card.wait_for()
    assert card.locator(".hist-axis").inner_text().split() == ["0h", "6h", "12h", "18h", "24h"]
    thumb = card.locator(".samples img").first
    src = thumb.get_attribute("src")
    thumb.click()
    large = page.locator("#enlarged img")
    large.wait_for()
    assert large.get_attribute("src") == src
    assert large.bounding_box()["width"] > thumb.bounding_box()["width"] * 2


def test_the_home_page_counts_the_last_days_alerts(review_lab, page):
    store = AlertStore(review_lab["hub"].services.db)
    expected = len(store.recent(since=time.time() - 24 * 3600, limit=1000))
    sign_in(page, review_lab["hub"], review_lab["admin"], "/")
    assert expected > 0
    assert page.locator("#alert-count").inner_text() == str(expected)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "home-with-alerts.png"), full_page=True)
