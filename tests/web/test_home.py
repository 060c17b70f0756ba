"""The home page in real Chromium: what a new hub lacks is its next step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import wait_until
from tests.web.support import OUTPUT, start_hub


@pytest.fixture(scope="module")
def fresh_hub(tmp_path_factory) -> Iterator[Any]:
    """A hub as `scripts/serve` starts it: no cameras, no tokens, no memories."""
    hub = start_hub(tmp_path_factory.mktemp("home"), {}, memory={"enabled": True})
    try:
        yield hub
    finally:
        hub.stop()


def steps(page: Any) -> list[str]:
    return [s.strip() for s in page.locator("#next-steps li strong").all_inner_texts()]


def test_a_fresh_hub_names_its_next_steps_and_drops_each_once_done(fresh_hub, page):
    page.goto(fresh_hub.url + "/")
    assert page.locator("#next-steps h2").inner_text() == "Next step: add a camera"
    assert steps(page) == ["Add a camera:", "Connect Claude Code:", "Import your notes:"]
    assert "homelab-hub init" in page.locator("#next-steps").inner_text()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "home-fresh.png"), full_page=True)
    saved = lambda: fresh_hub.rest("memory_save", {"content": "grafana is on port 3005"}).status_code == 200  # noqa: E731
    wait_until(saved, 120, "the memory model to load and the save to go through")
    token = fresh_hub.create_token("claude")
    page.context.clear_cookies()
    page.goto(f"{fresh_hub.url}/login?next=/")
    page.fill("#token", token)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert steps(page) == ["Add a camera:"]


def test_the_empty_cameras_page_names_homelab_hub_init(fresh_hub, page):
    page.goto(f"{fresh_hub.url}/login?next=/cameras")
    page.fill("#token", fresh_hub.create_token("viewer"))
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "Run homelab-hub init to write homelab-hub.toml" in page.locator("#no-cameras").inner_text()
