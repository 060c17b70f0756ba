"""A hub without a vision model shows its motion in the review, grouped by camera, zone and
hour with thumbnails, and says on the home page what a model would change (real Chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.cameras.clips import ClipSpec, write_clip
from tests.support import wait_until
from tests.web.support import OUTPUT, READER, start_hub


@pytest.fixture(scope="module")
def modelless(tmp_path_factory) -> Iterator[Any]:
    """One file camera with a moving object, [vision] off (start_hub's default)."""
    tmp = tmp_path_factory.mktemp("modelless")
    clip = write_clip(tmp / "yard.mp4", ClipSpec("moving_object", width=320, height=180, fps=10, seconds=4))
    camera = {
        "url": str(clip),
        "interval_s": 1.0,
        "reader": READER,
        "alerts": {"image_dir": str(tmp / "alerts")},
    }
    hub = start_hub(tmp, {"yard": camera})
    try:
        yield hub
    finally:
        hub.stop()


def unverified(hub: Any) -> list[dict[str, Any]]:
    return hub.rest("alert_review", {"action": "list"}).json()["unverified"]


def test_alert_review_lists_unverified_motion_by_camera_zone_and_hour(modelless):
    wait_until(lambda: unverified(modelless), 60, "unverified motion to be recorded")
    [group] = unverified(modelless)
    assert (group["camera"], group["zone"]) == ("yard", "whole frame")
    assert group["count"] >= 1 and group["alert_ids"]
    assert group["hour"].endswith(":00:00+00:00")


def test_the_review_page_shows_unverified_groups_with_thumbnails(modelless, page):
    wait_until(lambda: unverified(modelless), 60, "unverified motion to be recorded")
    page.goto(modelless.url + "/alerts/review")
    group = page.locator('#unverified .unverified-group[data-camera="yard"]')
    group.wait_for(timeout=15000)
    assert group.locator("h3").inner_text().startswith("yard · whole frame · ")
    wait_until(
        lambda: (
            group.locator("img").evaluate_all("imgs => imgs.every(i => i.complete && i.naturalWidth > 0)")
            and group.locator("img").count() >= 1
        ),
        15,
        "the thumbnails to load",
    )
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "review-unverified-motion.png"), full_page=True)
    page.goto(modelless.url + "/")
    step = page.locator("#next-steps").inner_text()
    assert "Add a vision model:" in step
    assert "motion it judges harmless" in step
