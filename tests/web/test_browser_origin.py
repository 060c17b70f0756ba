"""The hub's origin is its own: a page on another port of 127.0.0.1 (another local web app, or
an attacker's) can neither watch the cameras through a signed-in browser nor write through a
tokenless hub; a browser's WebSocket proves its page with the CSRF token; over https the
session cookie is a __Host- one; sign-out deletes the cookie it set; a session whose token
was revoked is gone from `session list`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from homelab_hub.server.token_store import TokenStore
from tests.hubclient import RunningHub, hub_config
from tests.support import free_port, require, wait_until
from tests.web.support import camera_lab, page_server, start_hub

WATCH = """<!doctype html><html><body><script>
const ws = new WebSocket("{ws}/ws/cameras");
ws.binaryType = "arraybuffer";
ws.onopen = () => ws.send(JSON.stringify({{cmd: "subscribe", cameras: ["cam1"], fps: 2, width: 320}}));
ws.onmessage = (e) => {{ if (typeof e.data !== "string") document.title = "ws-frames"; }};
ws.onclose = (e) => {{ if (document.title !== "ws-frames") document.title = "ws-closed " + e.code; }};
</script></body></html>"""

BLIND = """<!doctype html><html><body><script>
fetch("{hub}/api/tools/zone_edit", {{method: "POST", mode: "no-cors", headers: {{"Content-Type": "text/plain"}},
  body: JSON.stringify({{camera: "cam1", action: "add", zone: {{name: "blind", points: [[0, 0], [1, 0], [1, 1], [0, 1]]}}}})}})
  .then(() => (document.title = "posted"), () => (document.title = "posted"));
</script></body></html>"""


@pytest.fixture(scope="module")
def labs(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """One camera behind two hubs: one with tokens, one without."""
    tmp = tmp_path_factory.mktemp("origin")
    with camera_lab(tmp, rtsp=0, files=1) as cams:
        secured = start_hub(tmp / "secured", cams["cameras"])
        tokenless = start_hub(tmp / "tokenless", cams["cameras"])
        try:
            yield {
                "secured": secured,
                "tokenless": tokenless,
                "admin": secured.create_token("boss", admin=True),
            }
        finally:
            secured.stop()
            tokenless.stop()


@pytest.fixture
def other_port() -> Iterator[Any]:
    """Another web app on 127.0.0.1 (another port, same host): serves the page it is given."""
    with page_server() as (port, served):

        def serve(page: str) -> str:
            served["page"] = page.encode()
            return f"http://127.0.0.1:{port}/"

        yield serve


def sign_in(page: Any, hub: Any, token: str) -> None:
    page.goto(hub.url + "/login")
    page.fill("#token", token)
    with page.expect_navigation():
        page.click("button[type=submit]")


def test_a_page_on_another_loopback_port_cannot_watch_the_cameras_of_a_signed_in_browser(
    labs, page, other_port
):
    hub = labs["secured"]
    sign_in(page, hub, labs["admin"])
    page.goto(other_port(WATCH.format(ws=hub.url.replace("http://", "ws://"))))
    wait_until(lambda: page.title().startswith("ws-"), 20, "the other page's WebSocket to settle")
    assert page.title().startswith("ws-closed")


def test_a_page_on_another_loopback_port_cannot_write_through_a_tokenless_hub(labs, page, other_port):
    hub = labs["tokenless"]
    page.goto(hub.url + "/cameras")  # the browser has the hub's local session, as a user would
    page.goto(other_port(BLIND.format(hub=hub.url)))
    wait_until(lambda: page.title() == "posted", 20, "the other page's post")
    zones = hub.rest("zone_edit", {"camera": "cam1", "action": "list"}).json()["zones"]
    assert "blind" not in [z["name"] for z in zones]


def test_a_browser_websocket_must_send_the_pages_csrf_token_first(labs):
    hub = labs["secured"]
    cookie, csrf = _session(hub, labs["admin"])
    url = hub.url.replace("http://", "ws://") + "/ws/cameras"
    browser_like = {"Origin": hub.url, "Cookie": f"hh_session={cookie}"}
    with connect(url, additional_headers=browser_like, open_timeout=10) as replayed:
        replayed.recv(timeout=10)  # hello
        replayed.send('{"cmd": "subscribe", "cameras": ["cam1"]}')
        with pytest.raises(ConnectionClosed) as closed:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                replayed.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    with connect(url, additional_headers=browser_like, open_timeout=10) as proper:
        proper.recv(timeout=10)
        proper.send(f'{{"csrf": "{csrf}"}}')
        proper.send('{"cmd": "subscribe", "cameras": ["cam1"], "fps": 1, "width": 320}')
        assert '"ack"' in proper.recv(timeout=10)


def test_signing_out_deletes_the_cookie_with_the_attributes_it_was_set_with(labs):
    hub = labs["secured"]
    cookie, csrf = _session(hub, labs["admin"])
    out = httpx.post(
        hub.url + "/logout",
        data={"csrf": csrf},
        headers={"Origin": hub.url},
        cookies={"hh_session": cookie},
        timeout=30,
    )
    assert out.status_code == 303
    deleted = out.headers["set-cookie"]
    assert deleted.startswith("hh_session=")
    assert "Max-Age=0" in deleted
    assert "SameSite=strict" in deleted
    assert "HttpOnly" in deleted
    assert "Path=/" in deleted


def test_session_list_hides_sessions_whose_token_was_revoked(labs):
    hub = labs["secured"]
    token = hub.create_token("visitor")
    _session(hub, token)
    TokenStore(hub.services.db).revoke("visitor")
    listed = _cli(hub, "session", "list")
    assert "visitor" not in listed
    assert "boss" in listed  # the admin's sessions of the other tests are live


def test_over_https_the_session_cookie_is_a_secure_host_only_one(tmp_path):
    require(shutil.which("openssl") is not None, "openssl is not installed (Debian package openssl)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    config = hub_config(tmp_path, free_port(), {"memory": {"enabled": False}})
    hub = RunningHub(config, ssl_certfile=str(cert), ssl_keyfile=str(key)).start()
    try:
        admin = hub.create_token("boss", admin=True)
        with httpx.Client(verify=False, timeout=30) as client:
            signed_in = client.post(hub.url + "/login", data={"token": admin}, headers={"Origin": hub.url})
            assert signed_in.status_code == 303
            set_cookie = signed_in.headers["set-cookie"]
            assert set_cookie.startswith("__Host-hh_session=")
            assert "Secure" in set_cookie
            assert "Path=/" in set_cookie
            assert "Domain" not in set_cookie
            value = signed_in.cookies["__Host-hh_session"]
            client.cookies.clear()
            assert client.get(hub.url + "/api/tools", cookies={"__Host-hh_session": value}).status_code == 200
            # The plain name, as another app on the host could plant it, is not a session here.
            assert client.get(hub.url + "/api/tools", cookies={"hh_session": value}).status_code == 401
            page = client.get(hub.url + "/cameras", cookies={"__Host-hh_session": value}).text
            csrf = re.search(r'name="csrf-token" content="([^"]+)"', page)
            assert csrf is not None
            out = client.post(
                hub.url + "/logout",
                data={"csrf": csrf.group(1)},
                headers={"Origin": hub.url},
                cookies={"__Host-hh_session": value},
            )
            deleted = out.headers["set-cookie"]
            assert deleted.startswith("__Host-hh_session=")
            assert "Secure" in deleted
            assert "SameSite=strict" in deleted
    finally:
        hub.stop()


def test_doctor_warns_about_sessions_signed_in_over_plain_http(labs):
    hub = labs["secured"]
    _session(hub, labs["admin"])
    out = _cli(hub, "doctor")
    assert "browser sessions" in out
    assert "hh_session" in out
    assert "https" in out


def _session(hub: Any, token: str) -> tuple[str, str]:
    """Sign in with plain HTTP as a browser would; returns the cookie's value and the CSRF token."""
    signed_in = httpx.post(hub.url + "/login", data={"token": token}, headers={"Origin": hub.url}, timeout=30)
    cookie = signed_in.cookies["hh_session"]
    page = httpx.get(hub.url + "/cameras", cookies={"hh_session": cookie}, timeout=30).text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert csrf is not None
    return cookie, csrf.group(1)


def _cli(hub: Any, *args: str) -> str:
    env = {
        **os.environ,
        "HOMELAB_HUB_CONFIG": "",
        "HOMELAB_HUB_STORAGE__URL": hub.config.storage.url,
        "HOMELAB_HUB_SERVER__PORT": str(hub.config.server.port),
    }
    out = subprocess.run(
        [sys.executable, "-m", "homelab_hub.server.cli", *args],
        capture_output=True, text=True, timeout=120, env=env, cwd=Path(hub.config.server.data_dir).parent,
    )  # fmt: skip
    return out.stdout + out.stderr
