"""Helpers for the page and stream tests: Debian's Chromium driven by playwright, a lab of
cameras (real RTSP from gst-rtsp-server and looping files), and a hub serving them."""

from __future__ import annotations

import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tests.cameras.clips import ClipSpec, write_clip
from tests.fakes.rtsp_server import RTSPCamera, gst_rtsp_available
from tests.hubclient import RunningHub, hub_config
from tests.support import REPO_ROOT, free_port, require

CHROMIUM = "/usr/bin/chromium"
# The flags the machine's own browser probe uses: headless, no sandbox as root, and nothing
# that reaches out to the network this machine does not have.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # "Another site" for the cross-origin tests, without any network: evil.test is loopback.
    "--host-resolver-rules=MAP evil.test 127.0.0.1",
]
READER = {"open_timeout_s": 5, "stall_timeout_s": 4, "backoff_initial_s": 0.2, "backoff_max_s": 1.0}
# Screenshots and other artefacts a person may want to look at after a run.
OUTPUT = Path(os.environ.get("HOMELAB_HUB_TEST_OUTPUT", Path(REPO_ROOT) / "test-output"))


def require_chromium() -> None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        require(False, "Python playwright is not installed (pip install -e '.[test]')")
    require(
        os.path.exists(CHROMIUM) or shutil.which("chromium") is not None,
        "Chromium is not installed (Debian package chromium)",
    )


@contextmanager
def camera_lab(tmp: Path, *, rtsp: int, files: int, fps: int = 10) -> Iterator[dict[str, Any]]:
    """``rtsp`` cameras served by gst-rtsp-server and ``files`` looping clips; yields the
    [cameras] config section and the RTSP servers by name."""
    require(
        gst_rtsp_available(), "gst-rtsp-server for /usr/bin/python3 (gir1.2-gst-rtsp-server-1.0, python3-gi)"
    )
    cameras: dict[str, Any] = {}
    servers: dict[str, RTSPCamera] = {}
    with ExitStack() as stack:
        for i in range(rtsp + files):
            name = f"cam{i + 1}"
            spec = ClipSpec("moving_object", width=320, height=180, fps=fps, seconds=4, gop=fps, seed=i)
            if i < rtsp:
                server = stack.enter_context(RTSPCamera(write_clip(tmp / f"{name}.h264", spec), fps=fps))
                servers[name] = server
                url = server.url
            else:
                url = str(write_clip(tmp / f"{name}.mp4", spec))
            cameras[name] = {
                "url": url,
                "interval_s": 2.0,
                "reader": READER,
                "alerts": {"image_dir": str(tmp / "alerts")},
            }
        yield {"cameras": cameras, "servers": servers}


def start_hub(tmp: Path, cameras: dict[str, Any], **overrides: Any) -> RunningHub:
    config = hub_config(
        tmp,
        free_port(),
        {"memory": {"enabled": False}, "vision": {"enabled": False}, "cameras": cameras, **overrides},
    )
    return RunningHub(config).start()


def frames_in(page: Any, camera: str, where: str = "#grid") -> int:
    value = page.locator(f'{where} .tile[data-camera="{camera}"]').get_attribute("data-frames")
    return int(value or 0)


@contextmanager
def page_server(page: bytes = b"") -> Iterator[tuple[int, dict[str, bytes]]]:
    """A tiny web server on 127.0.0.1 standing for another web app (another origin): it
    serves ``served["page"]`` at every path. Yields its port and that dict."""
    served = {"page": page}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = served["page"]
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], served
    finally:
        server.shutdown()
