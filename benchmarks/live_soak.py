"""Soak: the live grid in Chromium on one WebSocket for a long time, with no reconnect.

    python benchmarks/live_soak.py [--seconds 600] [--cameras 2]

(or HOMELAB_HUB_SOAK_S=600). A hub with looping file cameras runs in this process under the
same uvicorn settings as `homelab-hub serve`; Debian's Chromium opens /cameras. Printed: the
WebSocket opens seen by the browser (1 is right: every other one is a reconnect; the listener's
body timer used to cut each socket at 30 s), the frames received, and as the baseline the
frames the grid asked for in the same run (2 fps per camera for the seconds held), with the
share delivered. tests/web/test_live_streams.py holds the same for two minutes in CI.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GRID_FPS = 2  # cameras.js asks for 2 fps per tile


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("HOMELAB_HUB_SOAK_S", "60")))
    parser.add_argument("--cameras", type=int, default=2)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from tests.web.support import CHROMIUM, CHROMIUM_ARGS, camera_lab, start_hub

    with tempfile.TemporaryDirectory() as tmp, camera_lab(Path(tmp), rtsp=0, files=args.cameras) as cams:
        hub = start_hub(Path(tmp), cams["cameras"])
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                opens: list[Any] = []
                frames = [0]

                def on_socket(ws: Any) -> None:
                    opens.append(time.monotonic())
                    ws.on(
                        "framereceived",
                        lambda payload: frames.__setitem__(0, frames[0] + isinstance(payload, bytes)),
                    )

                page.on("websocket", on_socket)
                page.goto(hub.url + "/cameras")
                start = time.monotonic()
                while time.monotonic() - start < args.seconds:
                    page.wait_for_timeout(1000)
                held = time.monotonic() - start
                reopened = [round(t - start, 1) for t in opens[1:]]
                browser.close()
        finally:
            hub.stop()
    asked = GRID_FPS * args.cameras * held
    print(f"held {held:.0f} s, {args.cameras} cameras at {GRID_FPS} fps")
    print(
        f"WebSocket opens: {len(opens)} (reconnects at {reopened} s)"
        if reopened
        else f"WebSocket opens: {len(opens)}"
    )
    print(
        f"frames received: {frames[0]}; baseline, frames asked for: {asked:.0f} ({frames[0] / asked:.0%} delivered)"
    )
    return 0 if len(opens) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
