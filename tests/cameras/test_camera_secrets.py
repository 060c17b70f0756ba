"""Camera, vision and notification credentials never leave the hub: not in tool answers,
health, metrics or the log, whatever shape the URL carries them in."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from homelab_hub.notify.apprise import AppriseNotifier
from tests.cameras.clips import ClipSpec, write_clip
from tests.fakes.ollama_vision import FakeOllamaVision
from tests.fakes.receiver import NotificationReceiver
from tests.support import free_port, wait_until

READER = {"open_timeout_s": 3, "stall_timeout_s": 3, "backoff_initial_s": 0.1, "backoff_max_s": 0.3}
# The hubs of camera tests run without memory: loading its embedding model in the
# background makes each hub's stop wait for it (about 10 s here), and cameras never use it.
NO_MEMORY = {"enabled": False}
SECRETS = (
    "GateSecret1",  # rtsp://user:password@
    "EmptyUserSecret2",  # rtsp://:password@ (no user name)
    "ReolinkSecret3",  # rtmp://…&password=… (Reolink RTMP)
    "VisionSecret4",  # the vision model's http://user:password@
    "AppriseSecret5",  # json://user:password@ (a webhook with basic auth)
    "AppriseToken6",  # …?token=…
    "GotifyToken7",  # gotify://host/TOKEN: the secret is in the path
)


def test_planted_camera_vision_and_notify_secrets_stay_out_of_answers_health_metrics_and_log(
    hub_factory, tmp_path: Path, caplog
) -> None:
    caplog.set_level(logging.INFO)  # every logger of the process, the libraries' included
    clip = write_clip(tmp_path / "gate.mp4", ClipSpec("moving_object", seconds=20))
    ghost_port, reolink_port = free_port(), free_port()
    with FakeOllamaVision() as ollama, NotificationReceiver() as rx:
        ollama.mode = "error"  # first the model fails: its error text names the model's URL
        hub = hub_factory(
            {
                "memory": NO_MEMORY,
                "vision": {"url": f"http://vision:VisionSecret4@127.0.0.1:{ollama.port}"},
                "notify": {
                    "apprise_urls": [
                        f"json://hook:AppriseSecret5@127.0.0.1:{rx.port}/notify?token=AppriseToken6",
                        f"gotify://127.0.0.1:{rx.port}/GotifyToken7",
                    ]
                },
                "cameras": {
                    "gate": {
                        "url": f"rtsp://admin:GateSecret1@127.0.0.1:{free_port()}/main",
                        "detect_url": str(clip),
                        "interval_s": 0.5,
                        "alerts": {"image_dir": str(tmp_path / "alerts")},
                    },
                    "ghost": {
                        "url": f"rtsp://:EmptyUserSecret2@127.0.0.1:{ghost_port}/live",
                        "reader": READER,
                    },
                    "reolink": {
                        "url": f"rtmp://127.0.0.1:{reolink_port}/bcs/channel0_main.bcs"
                        "?channel=0&stream=0&user=admin&password=ReolinkSecret3",
                        "reader": READER,
                    },
                },
            }
        )
        cameras = hub.services.cameras
        wait_until(lambda: cameras.status("ghost").stats.last_error, 15, "the ghost camera's error")
        wait_until(lambda: cameras.status("reolink").stats.last_error, 15, "the reolink camera's error")
        unverified = wait_until(
            lambda: hub.rest("alerts_recent", {"camera": "gate"}).json()["alerts"], 30, "an unverified alert"
        )
        ollama.mode = "look"  # then it answers: a confirmed alert goes to Apprise
        rx.wait_for(lambda r: b"Camera gate: alert" in r.body, timeout=30)

        listed_rest = hub.rest("camera_list")
        listed_mcp = hub.mcp_call("camera_list")
        seen = {
            "camera_list over REST": listed_rest.text,
            "camera_list over MCP": json.dumps(listed_mcp.structured_content)
            + "".join(getattr(c, "text", "") for c in listed_mcp.content),
            "alerts_recent": hub.rest("alerts_recent", {}).text,
            "/api/health": hub.get("/api/health").text,
            "/metrics": hub.get("/metrics").text,
            "the log": caplog.text,
        }
    for where, text in seen.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret} leaked into {where}"
    by_name = {c["name"]: c for c in listed_rest.json()["cameras"]}
    assert by_name["gate"]["url"].startswith("rtsp://admin:***@127.0.0.1:")
    assert by_name["ghost"]["url"] == f"rtsp://:***@127.0.0.1:{ghost_port}/live"
    assert by_name["reolink"]["url"].endswith("&user=admin&password=***")
    assert by_name["ghost"]["last_error"].startswith(f"cannot open rtsp://:***@127.0.0.1:{ghost_port}/live")
    assert "vision model at http://vision:***@127.0.0.1:" in unverified[-1]["description"]


def test_an_apprise_url_apprise_cannot_parse_is_named_by_position_and_scheme_only(caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="homelab_hub.notify.apprise"):
        notifier = AppriseNotifier(
            ["json://127.0.0.1:9/ok", "nosuchservice://AppriseSecret5@host/AppriseToken6"]
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "homelab_hub.notify.apprise"]
    assert lines == ["notify: Apprise does not understand notify.apprise_urls[1] (nosuchservice://…)"]
    assert notifier.enabled  # the good URL still counts
