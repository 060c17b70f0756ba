"""The live grid's cost: 8 cameras at 2 fps each to 1, 3 and 10 WebSocket clients.

    python benchmarks/camera_live.py [--seconds 15]

gst-rtsp-server streams 8 generated 640x360 10 fps H.264 cameras. The hub runs in its own
process (its CPU is read from /proc, the clients' is not counted), once as it is (one encoder
per camera, the same bytes to every viewer) and once as the baseline that encodes per viewer
(each viewer gets encoders of its own: the same code, nothing shared). Clients are
`websockets` connections in this process subscribing to all 8 cameras at 2 fps, width 640.

Printed per case: hub CPU, delivered fps per tile (share of the 2 requested), frame age at the
client (capture time written in the JPEG by the encoder, to receive time) p50/p99. Targets:
10 viewers cost <= 1.3x one viewer; delivered fps >= 95 % of requested; p50 age <= 250 ms.
Also: hub CPU with 0 viewers per camera, next to benchmarks/camera_worker_cpu.py's worker on
one of the same streams (its figure, measured in this run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CAMERAS = 8
FPS = 2.0
WIDTH = 640
WARMUP_S = 6.0


# -- the hub process ------------------------------------------------------------------------
def serve(config_path: str, per_viewer: bool) -> None:
    import uvicorn

    from homelab_hub.cameras.stream import manager as manager_module
    from homelab_hub.cameras.stream.live import LiveHub
    from homelab_hub.config import load_config
    from homelab_hub.server.app import create_app
    from homelab_hub.server.serving import uvicorn_config

    if per_viewer:

        class PerViewerLive:
            """The baseline: every viewer gets a LiveHub, so its own encoders, of its own."""

            def __init__(self, manager: Any) -> None:
                self.manager = manager
                self.hubs: dict[int, LiveHub] = {}

            def subscribe(self, viewer: Any, camera: str, **kw: Any) -> Any:
                hub = self.hubs.setdefault(id(viewer), LiveHub(self.manager.reader))
                return hub.subscribe(viewer, camera, **kw)

            def unsubscribe(self, viewer: Any, camera: str) -> None:
                if id(viewer) in self.hubs:
                    self.hubs[id(viewer)].unsubscribe(viewer, camera)

            def drop(self, viewer: Any) -> None:
                hub = self.hubs.pop(id(viewer), None)
                if hub is not None:
                    hub.close()

            def stats(self) -> list[Any]:
                return [s for h in self.hubs.values() for s in h.stats()]

            def close(self) -> None:
                for hub in self.hubs.values():
                    hub.close()

        original = manager_module.CameraManager.__init__

        def patched(self: Any, *a: Any, **kw: Any) -> None:
            original(self, *a, **kw)
            self.live.close()
            self.live = PerViewerLive(self)

        manager_module.CameraManager.__init__ = patched  # type: ignore[method-assign]
    config = load_config(config_path)
    uvicorn.Server(uvicorn_config(create_app(config), config, log_level="warning")).run()


# -- clients --------------------------------------------------------------------------------
class Client(threading.Thread):
    def __init__(self, url: str, names: list[str]) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.names = names
        self.ages: list[float] = []
        self.counts: dict[str, int] = dict.fromkeys(names, 0)
        self.measuring = threading.Event()
        self.stop = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        from websockets.sync.client import connect

        from homelab_hub.cameras.stream.live import capture_time, split_message

        with connect(self.url, open_timeout=20, max_size=None) as conn:
            conn.recv(timeout=10)  # hello
            conn.send(json.dumps({"cmd": "subscribe", "cameras": self.names, "fps": FPS, "width": WIDTH}))
            self.ready.set()
            while not self.stop.is_set():
                try:
                    message = conn.recv(timeout=0.5)
                except TimeoutError:
                    continue
                if isinstance(message, str) or not self.measuring.is_set():
                    continue
                received = time.time()
                camera, jpeg = split_message(message)
                captured = capture_time(jpeg)
                self.counts[camera] += 1
                if captured is not None:
                    self.ages.append(received - captured)


def hub_cpu(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def run_case(url: str, pid: int, names: list[str], viewers: int, seconds: float) -> dict[str, Any]:
    clients = [Client(url, names) for _ in range(viewers)]
    for c in clients:
        c.start()
    for c in clients:
        c.ready.wait(30)
    time.sleep(WARMUP_S)  # encoders start, readers switch to the viewers' rate
    cpu0, t0 = hub_cpu(pid), time.monotonic()
    for c in clients:
        c.measuring.set()
    time.sleep(seconds)
    for c in clients:
        c.measuring.clear()
    cpu, wall = hub_cpu(pid) - cpu0, time.monotonic() - t0
    for c in clients:
        c.stop.set()
    for c in clients:
        c.join(10)
    ages = sorted(a for c in clients for a in c.ages)
    fps = [count / wall for c in clients for count in c.counts.values()]
    time.sleep(12)  # the encoders' 10 s grace, so the next case starts clean
    return {
        "cpu_pct": 100 * cpu / wall,
        "fps_min": min(fps) if fps else 0.0,
        "fps_median": statistics.median(fps) if fps else 0.0,
        "age_p50": ages[len(ages) // 2] if ages else float("nan"),
        "age_p99": ages[min(len(ages) - 1, int(0.99 * len(ages)))] if ages else float("nan"),
    }


def start_hub(
    tmp: Path, cameras: dict[str, Any], per_viewer: bool
) -> tuple[subprocess.Popen[bytes], str, int]:
    import httpx

    from tests.support import free_port

    port = free_port()
    config = tmp / f"hub-{'per' if per_viewer else 'shared'}.toml"
    lines = [
        f'[server]\nport = {port}\ndata_dir = "{tmp}/data-{port}"\n',
        f'[storage]\nurl = "sqlite:///{tmp}/hub-{port}.db"\n[logging]\nfile = "{tmp}/hub-{port}.log"\n',
        "[memory]\nenabled = false\n[vision]\nenabled = false\n[watchdog]\nenabled = false\n",
    ]
    for name, url in cameras.items():
        lines.append(f'[cameras.{name}]\nurl = "{url}"\ninterval_s = 5.0\n')
    config.write_text("".join(lines), encoding="utf-8")
    argv = [sys.executable, __file__, "--serve", str(config)] + (["--per-viewer"] if per_viewer else [])
    proc = subprocess.Popen(argv, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            health = httpx.get(base + "/api/health", timeout=2).json()
            if health["components"].get("cameras", {}).get("state") == "ok":
                break
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit("the hub did not start with all cameras streaming")
        time.sleep(0.5)
    return proc, f"ws://127.0.0.1:{port}/ws/cameras", proc.pid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="seconds measured per case")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--per-viewer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.per_viewer)
        return

    from benchmarks.camera_worker_cpu import measure
    from tests.cameras.clips import ClipSpec, write_clip
    from tests.fakes.rtsp_server import RTSPCamera, gst_rtsp_available

    if not gst_rtsp_available():
        raise SystemExit(
            "needs gst-rtsp-server for /usr/bin/python3 (gir1.2-gst-rtsp-server-1.0, python3-gi)"
        )
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        servers = []
        cameras: dict[str, str] = {}
        for i in range(CAMERAS):
            spec = ClipSpec("moving_object", width=640, height=360, fps=10, seconds=6, gop=10, seed=i)
            server = RTSPCamera(write_clip(tmp / f"cam{i + 1}.h264", spec, bitrate_kbps=1000), fps=10).start()
            servers.append(server)
            cameras[f"cam{i + 1}"] = server.url
        names = sorted(cameras)
        results: dict[tuple[str, int], dict[str, Any]] = {}
        try:
            for mode in ("shared", "per-viewer"):
                proc, url, pid = start_hub(tmp, cameras, per_viewer=mode == "per-viewer")
                try:
                    for viewers in (0, 1, 3, 10):
                        if viewers == 0 and mode == "per-viewer":
                            continue
                        results[(mode, viewers)] = run_case(url, pid, names, viewers, args.seconds)
                finally:
                    proc.terminate()
                    proc.wait(30)
            worker = measure("worker", servers[0].url, args.seconds)
        finally:
            for server in servers:
                server.kill()
    print(
        f"{CAMERAS} cameras 640x360 @ 10 fps over RTSP; each client subscribes to all at {FPS:g} fps, width {WIDTH}"
    )
    print(f"{'case':<32} {'hub CPU':>8} {'fps min/median':>16} {'age p50':>9} {'age p99':>9}")
    for (mode, viewers), r in results.items():
        label = f"{mode}, {viewers} viewer{'s' if viewers != 1 else ''}"
        fps = f"{r['fps_min']:.2f}/{r['fps_median']:.2f}" if viewers else "-"
        ages = (f"{r['age_p50'] * 1000:7.0f}ms", f"{r['age_p99'] * 1000:7.0f}ms") if viewers else ("-", "-")
        print(f"{label:<32} {r['cpu_pct']:7.1f}% {fps:>16} {ages[0]:>9} {ages[1]:>9}")
    one, ten = results[("shared", 1)], results[("shared", 10)]
    base_one, base_ten = results[("per-viewer", 1)], results[("per-viewer", 10)]
    print(
        f"\n10 viewers / 1 viewer, hub CPU: shared {ten['cpu_pct'] / one['cpu_pct']:.2f}x "
        f"(target <= 1.3x); per-viewer baseline {base_ten['cpu_pct'] / base_one['cpu_pct']:.2f}x"
    )
    worst = min(r["fps_min"] for (mode, v), r in results.items() if mode == "shared" and v)
    print(
        f"delivered fps, worst tile of any shared case: {worst:.2f} of {FPS:g} = {worst / FPS:.0%} (target >= 95%)"
    )
    print(f"frame age p50 with 10 viewers: {ten['age_p50'] * 1000:.0f} ms (target <= 250 ms)")
    idle = results[("shared", 0)]["cpu_pct"]
    worker_pct = 100 * worker["cpu_s"] / worker["wall_s"]
    print(
        f"hub CPU with 0 viewers: {idle:.1f}% for {CAMERAS} cameras = {idle / CAMERAS:.2f}% per camera; "
        f"camera_worker_cpu.py's worker on one of these streams: {worker_pct:.2f}%"
    )


if __name__ == "__main__":
    main()
