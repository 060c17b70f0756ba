"""Browser sign-in in real Chromium: pages send a browser without a session to /login, a wrong
token is refused, an agent token watches but cannot change, sign-out ends the session, and
another site can neither post a form into the hub nor open its WebSocket."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from homelab_hub.server.sessions import COOKIE
from tests.support import wait_until
from tests.web.support import camera_lab, page_server, start_hub

# A page of "another site": Chromium resolves evil.test to 127.0.0.1 (CHROMIUM_ARGS), so the
# attack runs locally but its Origin is http://evil.test:PORT, which the hub does not allow.
ATTACK = """<!doctype html><html><body>
<form id="f" method="post" action="{hub}/api/tools/zone_edit" enctype="text/plain">
<input name='{{"camera":"cam1","action":"add","zone":{{"name":"blind","points":[[0,0],[1,0],[1,1]]}},"x":"' value='"}}'>
</form>
<script>
const ws = new WebSocket("{ws}/ws/cameras");
ws.onopen = () => (document.title = "ws-open");
ws.onclose = (e) => (document.title = "ws-closed " + e.code);
</script>
</body></html>"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("signin")
    with camera_lab(tmp, rtsp=1, files=1) as cams:
        hub = start_hub(tmp, cams["cameras"])
        try:
            yield {
                "hub": hub,
                "agent": hub.create_token("watcher"),
                "admin": hub.create_token("boss", admin=True),
            }
        finally:
            hub.stop()


@pytest.fixture
def attacker(lab) -> Iterator[str]:
    """A tiny web server of another origin serving the attack page."""
    hub = lab["hub"].url
    page = ATTACK.format(hub=hub, ws=hub.replace("http://", "ws://")).encode()
    with page_server(page) as (port, _):
        yield f"http://evil.test:{port}/attack.html"


def sign_in(page: Any, hub: Any, token: str) -> Any:
    page.goto(hub.url + "/login")
    page.fill("#token", token)
    with page.expect_navigation():
        page.click("button[type=submit]")
    return page


WRITE = """async () => {
  const { tool } = await import("/static/hub.js");
  try {
    await tool("zone_edit", {camera: "cam1", action: "add",
                             zone: {name: "road", points: [[0, 0], [1, 0], [1, 0.3]]}});
    return "saved";
  } catch (e) { return `${e.status} ${e.message}`; }
}"""


def test_pages_send_a_browser_without_a_session_to_login(lab, page):
    hub = lab["hub"]
    for path in ("/", "/cameras"):
        page.goto(hub.url + path)
        assert page.url == f"{hub.url}/login?next={path}"
        assert page.locator("h1").inner_text() == "Sign in"


def test_a_wrong_token_is_refused(lab, page):
    hub = lab["hub"]
    page.goto(hub.url + "/login")
    page.fill("#token", "hh_not-a-token")
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as answer:
        page.click("button[type=submit]")
    assert answer.value.status == 401
    assert page.locator(".error").inner_text() == "That token is not valid (wrong, or revoked)."
    cookies = [c["name"] for c in page.context.cookies()]
    assert COOKIE not in cookies


def test_the_session_cookie_is_httponly_and_strict_and_never_the_token(lab, page):
    hub = lab["hub"]
    sign_in(page, hub, lab["agent"])
    (cookie,) = [c for c in page.context.cookies() if c["name"] == COOKIE]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["value"] != lab["agent"]
    stored = hub.services.db.query("SELECT session_hash FROM browser_sessions")
    assert cookie["value"] not in {r["session_hash"] for r in stored}


def test_an_agent_token_can_watch_but_not_change_and_an_admin_can(lab, page, chromium):
    hub = lab["hub"]
    sign_in(page, hub, lab["agent"])
    page.goto(hub.url + "/cameras")
    wait_until(
        lambda: page.locator('#grid .tile[data-state="streaming"]').count() == 2, 30, "both tiles live"
    )
    refused = page.evaluate(WRITE)
    assert refused == "403 zone_edit add needs an admin token; agent 'watcher' has an agent token"
    admin_context = chromium.new_context()
    admin = sign_in(admin_context.new_page(), hub, lab["admin"])
    admin.goto(hub.url + "/cameras")
    assert admin.evaluate(WRITE) == "saved"
    admin_context.close()


def test_a_write_without_the_csrf_token_is_refused(lab, page):
    hub = lab["hub"]
    sign_in(page, hub, lab["admin"])
    status = page.evaluate(
        """async () => (await fetch("/api/tools/hub_status", {method: "POST", body: "{}",
                 headers: {"Content-Type": "application/json"}})).status"""
    )
    assert status == 403


def test_signing_out_ends_the_session(lab, page):
    hub = lab["hub"]
    sign_in(page, hub, lab["agent"])
    (cookie,) = [c for c in page.context.cookies() if c["name"] == COOKIE]
    with page.expect_navigation():
        page.click("text=Sign out")
    assert page.url == f"{hub.url}/login"
    page.goto(hub.url + "/cameras")
    assert page.url.startswith(f"{hub.url}/login")
    # The old cookie, replayed by hand, is dead too.
    replayed = httpx.post(hub.url + "/api/tools/hub_status", json={}, cookies={COOKIE: cookie["value"]})
    assert replayed.status_code == 401


def test_another_site_can_neither_post_a_form_nor_open_the_websocket(lab, page, attacker):
    hub = lab["hub"]
    sign_in(page, hub, lab["admin"])
    page.goto(attacker)
    wait_until(lambda: page.title().startswith("ws-"), 20, "the attack page's WebSocket to settle")
    assert page.title().startswith("ws-closed")
    with page.expect_navigation() as posted:
        page.evaluate("() => document.getElementById('f').submit()")
    assert posted.value.status == 403
    zones = hub.rest("zone_edit", {"camera": "cam1", "action": "list"}, token=lab["admin"]).json()["zones"]
    assert "blind" not in [z["name"] for z in zones]
