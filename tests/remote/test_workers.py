"""`homelab-hub worker`s in network namespaces, the hub in this one, a private Mosquitto with the
README's ACL between them: cameras on another machine, seen and steered through the one hub.

The long case (a 60 s cut of a worker's link; ``HOMELAB_HUB_REMOTE_CUT_S`` shortens it for a
quick local run, never below 20 s) checks, on the same outage, that the hub and the watchdog see
the worker vanish, that every alert made meanwhile arrives exactly once and in order, and that a
worker killed with SIGKILL in the middle of delivering them loses none.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from tests.remote.netlab import NetLab
from tests.remote.workers import KEEPALIVE_S, RemoteLab, Worker, elapsed
from tests.support import wait_until

CUT_S = max(20.0, float(os.environ.get("HOMELAB_HUB_REMOTE_CUT_S", "60")))


@pytest.fixture
def remote_lab(tmp_path, netlab: NetLab, private_mosquitto) -> Iterator[Callable[..., RemoteLab]]:
    labs: list[RemoteLab] = []

    def make(*workers: str) -> RemoteLab:
        stack = ExitStack()
        nodes = [netlab.add(w) for w in workers]
        broker = private_mosquitto(list(workers), nodes=nodes)
        lab = RemoteLab(tmp_path, netlab, broker, stack)
        for w, node in zip(workers, nodes, strict=True):
            lab.workers[w] = Worker(w, node, tmp_path / f"worker-{w}")
        labs.append(lab)
        return lab

    yield make
    for lab in labs:
        for worker in lab.workers.values():
            if worker.proc is not None:
                netlab.terminate(worker.proc)
        if lab.hub is not None:
            lab.hub.stop()
        lab.stack.close()


def test_a_remote_camera_streams_in_the_grid_next_to_a_local_one_over_one_websocket(remote_lab, page):
    from tests.web.support import OUTPUT, frames_in

    lab = remote_lab("garage-pi")
    worker = lab.workers["garage-pi"]
    cameras = {
        "porch": lab.camera(lab.clip("porch", seed=1)),
        "garage": lab.camera(lab.clip("garage", seed=2), host="garage-pi"),
    }
    hub = lab.start_hub(cameras)
    lab.start_worker(worker)
    row = lab.wait_online("garage")
    assert (row["host"], row["link"]) == ("garage-pi", "connected")
    assert lab.camera_row("porch")["host"] == "hub"
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(f"{hub.url}/cameras")
    wait_until(lambda: all(frames_in(page, n) >= 3 for n in cameras), timeout=45, what="frames in both tiles")
    before = {n: frames_in(page, n) for n in cameras}
    wait_until(lambda: all(frames_in(page, n) > before[n] for n in cameras), timeout=20, what="newer frames")
    for name in cameras:
        assert page.locator(f'#grid .tile[data-camera="{name}"]').get_attribute("data-state") == "streaming"
    assert sockets == [f"ws://127.0.0.1:{hub.config.server.port}/ws/cameras"]
    assert page.errors == []
    # The zone editor shows its live frame (960 wide: the worker encodes that width too).
    page.goto(f"{hub.url}/zones?camera=garage")
    wait_until(
        lambda: int(page.locator("#frame").get_attribute("data-frames") or 0) >= 2, 30, "a frame in /zones"
    )
    assert page.errors == []
    # The MJPEG fallback and a snapshot show it too.
    snap = lab.rest("camera_snapshot", {"camera": "garage", "annotated": True})
    assert snap["width"] == 320 and snap["height"] == 180
    assert _mjpeg_frames(hub, "garage") >= 2
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "remote-camera-grid.png"), full_page=True)


def _mjpeg_frames(hub: Any, camera: str) -> int:
    """JPEGs read from the camera's MJPEG stream (the grid's fallback) in up to 15 s."""
    import httpx

    parts = 0
    with httpx.stream("GET", f"{hub.url}/api/cameras/{camera}/mjpeg", timeout=20) as response:
        assert response.status_code == 200, response.read()
        deadline = time.monotonic() + 15
        for chunk in response.iter_bytes():
            parts += chunk.count(b"\xff\xd8\xff")
            if parts >= 2 or time.monotonic() > deadline:
                break
    return parts


def test_a_zone_drawn_on_the_hub_silences_motion_on_the_worker_within_two_seconds(remote_lab):
    lab = remote_lab("shed-pi")
    worker = lab.workers["shed-pi"]
    lab.start_hub({"shed": lab.camera(lab.clip("shed", seed=3), host="shed-pi", interval_s=0.5)})
    lab.start_worker(worker)
    lab.wait_online("shed")
    wait_until(
        lambda: lab.hub.services.cameras.status("shed").stats.motion_samples > 2,  # type: ignore[union-attr]
        timeout=20,
        what="motion on the worker before the zone",
    )
    # The zone editor's heat map fills from the samples the worker reports.
    activity = lab.hub.services.cameras.pipeline("shed").activity  # type: ignore[union-attr]
    wait_until(lambda: activity.frame_size == (320, 180), timeout=20, what="the heat map at the hub")
    remote = lab.hub.services.cameras.remote  # type: ignore[union-attr]
    sent_at = time.monotonic()
    lab.rest(
        "zone_edit",
        {"camera": "shed", "action": "add",
         "zone": {"name": "everything", "kind": "exclude", "points": [[0, 0], [1, 0], [1, 1], [0, 1]]}},
    )  # fmt: skip
    rev = remote.worker_config("shed-pi")["rev"]
    wait_until(
        lambda: remote.worker_state("shed-pi").get("config_rev") == rev,
        timeout=2.0,
        what="the zone at the worker",
    )
    print(f"zone edit to the worker's config: {elapsed(sent_at)} s")
    time.sleep(1.5)  # a sample in flight when it changed
    before = lab.hub.services.cameras.status("shed").stats
    time.sleep(6)
    after = lab.hub.services.cameras.status("shed").stats
    assert after.samples >= before.samples + 6, (before, after)
    assert after.motion_samples == before.motion_samples, "motion still counted behind an exclude zone"


def test_a_cut_link_loses_no_alert_and_a_killed_worker_none_either(remote_lab, page):
    lab = remote_lab("gate-pi")
    worker = lab.workers["gate-pi"]
    vision_url = lab.start_vision(worker, "ALERT: A person is standing at the gate.")
    lab.start_hub(
        {"gate": lab.camera(lab.clip("gate", seed=4), host="gate-pi", interval_s=0.125,
                            alerts={"image_dir": str(lab.tmp / "hub-alerts"), "cooldown_s": 0})},
        vision={"enabled": True, "model": "qwen2.5vl:7b"},
        watchdog={"enabled": True, "interval_s": 1.0, "services": {}},
    )  # fmt: skip
    lab.start_worker(worker, vision_url=vision_url)
    lab.wait_online("gate")
    wait_until(lambda: len(lab.hub_alerts()) >= 5, timeout=30, what="alerts from the worker")
    hub = lab.hub
    assert hub is not None

    # The cut: the worker goes offline at the hub and in health within 3x its keepalive, and the
    # watchdog opens an incident for it.
    cut_at = time.monotonic()
    made_before = max(i for i, _ in worker.alerts())
    lab.lab.cut(worker.node)
    row = wait_until(
        lambda: (r := lab.camera_row("gate"))["state"] == "offline" and r, timeout=3 * KEEPALIVE_S,
        what="the camera offline at the hub",
    )  # fmt: skip
    offline_s = elapsed(cut_at)
    assert row["reason"].startswith("worker gate-pi unreachable since "), row["reason"]
    wait_until(  # health is rebuilt a few times a second
        lambda: "worker gate-pi unreachable since" in hub.get("/api/health").json()["components"]["cameras"]["detail"],
        timeout=3, what="the worker unreachable in health",
    )  # fmt: skip
    incident = wait_until(
        lambda: next((s for s in hub.services.watchdog.status() if s.name == "remote:gate-pi" and s.last_incident_id), None),
        timeout=10, what="a watchdog incident for the worker",
    )  # fmt: skip
    assert incident.report == "needs_human"
    print(f"offline at the hub {offline_s} s after the cut (deadline {3 * KEEPALIVE_S} s)")
    page.goto(hub.url + "/cameras")
    tile = page.locator('#grid .tile[data-camera="gate"]')
    wait_until(lambda: tile.get_attribute("data-state") == "offline", 10, "the tile offline")
    assert tile.locator(".reason").inner_text().startswith("offline: worker gate-pi unreachable since ")

    # The worker keeps detecting: its outbox fills while the link is down.
    remaining = CUT_S - (time.monotonic() - cut_at)
    time.sleep(max(0.0, remaining))
    made = [i for i, _ in worker.alerts() if i > made_before]
    assert CUT_S < 60 or len(made) >= 200, f"only {len(made)} alerts during a {CUT_S:.0f} s cut"
    assert len(made) >= CUT_S * 2, f"only {len(made)} alerts in {CUT_S:.0f} s"
    lab.lab.restore(worker.node)

    # Kill it with SIGKILL in the middle of sending them.
    first = worker.delivered()
    wait_until(lambda: worker.delivered() > first, timeout=30, what="delivery to start")
    lab.lab.kill(worker.proc, signal.SIGKILL)
    worker.proc.wait(10)
    at_kill = worker.delivered()
    last = max(i for i, _ in worker.alerts())
    print(f"killed with {last - at_kill} of {len(made)} alerts still to send")
    lab.start_worker(worker, vision_url=vision_url)
    instance = worker.instance()
    wait_until(
        lambda: {o for _, o in lab.hub_alerts()} >= {f"gate-pi:{instance}:{i}" for i in made},
        timeout=60, what="every alert of the cut at the hub",
    )  # fmt: skip
    rows = lab.hub_alerts()
    origins = [o for _, o in rows]
    assert len(origins) == len(set(origins)), "an alert stored twice"
    local_ids = [int(o.rsplit(":", 1)[1]) for o in origins]
    assert local_ids == sorted(local_ids), "alerts stored out of order"
    # Back: online again, the incident resolved.
    lab.wait_online("gate", timeout=30)
    wait_until(
        lambda: hub.services.watchdog.incidents.get(incident.last_incident_id).status == "resolved",
        timeout=15, what="the incident resolved",
    )  # fmt: skip
    print(f"{len(made)} alerts made during the {CUT_S:.0f} s cut; all stored once, in order")
    review = lab.rest("alert_review", {"camera": "gate", "hours": 1})
    assert "A person is standing at the gate" in str(review)


def test_a_worker_with_the_wrong_password_is_refused_and_says_so(remote_lab):
    lab = remote_lab("attic-pi")
    worker = lab.workers["attic-pi"]
    lab.start_hub({"attic": lab.camera(lab.clip("attic", seed=5), host="attic-pi")})
    lab.start_worker(worker, password="not-the-password")
    log = wait_until(
        lambda: "refused worker attic-pi" in (out := lab.lab.output(worker.proc)) and out,
        timeout=15, what="the refusal in the worker's log",
    )  # fmt: skip
    assert "check the user name and password" in log
    row = lab.camera_row("attic")
    assert row["state"] == "offline" and "worker attic-pi has not connected to the broker" in row["reason"]
