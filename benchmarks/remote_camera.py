"""Remote cameras: one hub and one `homelab-hub worker` on loopback, 8 cameras on the worker.

    python benchmarks/remote_camera.py [--seconds 60]

One run, two hubs in turn, each a real `homelab-hub serve` process (uvicorn), on a private
Mosquitto started for the run (its own port; the machine's broker is never used):

- remote: the 8 cameras have ``host = "bench-w"`` and a `homelab-hub worker` process runs them;
- local baseline: the same 8 camera sections without ``host``, run by the hub itself.

Cameras are the footage in /work/shared/footage/ (vtest.avi and car_traffic_small.mp4 in turn,
looping in real time; generated 640x360 clips with a moving object where it is missing), sampled
every 2 s, with ``reader.decode = "all"``: both clips' keyframes are further apart than the
interval, so "auto" would decode every frame anyway, and under "auto" vtest.avi (a keyframe every
25 s, longer than the 15 s stall timeout, and a decoder that holds the first keyframe back) never
gives a frame. The vision model is tests/fakes/ollama_vision.py's stand-in (in this process)
answering ALERT to every image, with ``alerts.cooldown_s = 5``: both hubs (and the worker) do the same
motion, vision and alert work. The viewer is a `websockets` client in this process (the one of
benchmarks/camera_live.py) on /ws/cameras, subscribed to all 8 at 2 fps, width 640.

Measured, per hub:

- CPU of the hub process alone (psutil, user+system over the measured seconds; 100 % = one
  core), with the viewer and without; the worker's and the broker's too in the remote run;
- frame age at the viewer: receive time minus the capture time the encoder wrote into the JPEG
  (``hh-ts``; for a remote camera, written on the worker), p50/p99, and the delivered fps;
- alert delivery latency: when the alert's row appears in the hub's database (this process
  polls the hub's SQLite file every 20 ms: up to 20 ms late, 10 on average) minus the alert's
  own ``ts``, the capture time of the frame it was made from, which the worker sets (the
  local baseline: the same, on the hub). It includes the model call, the annotated image, the
  worker's outbox, the broker and the hub's store. Visual ALERT rows made from frames captured
  while measuring (both phases);
- broker bytes per camera-hour, with the viewer and after it has left (once the hub's live
  requests have expired and the frames stopped): (a) topic + payload bytes of every message
  under the prefix, counted once each by a subscriber of this process (what is published;
  MQTT framing and deliveries not counted), split by kind; (b) Mosquitto's own
  ``$SYS/broker/bytes/received`` (every byte clients sent to the broker, framing included;
  published every second). Both are read at each $SYS message and taken between the first
  and the last one inside the phase, so they cover the same interval.

The issue's target is printed next to the frame age: p50 <= 300 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.camera_live import FPS, WIDTH, Client, hub_cpu  # noqa: E402

CAMERAS = 8
WORKER = "bench-w"
PREFIX = "hhbench"
INTERVAL_S = 2.0
COOLDOWN_S = 5.0
KEEPALIVE_S = 10
WARMUP_S = 10.0
FOOTAGE = Path("/work/shared/footage")
CLIPS = ("vtest.avi", "car_traffic_small.mp4")
ALERT_TEXT = "ALERT: A person is walking across the path."
TARGET_AGE_P50_S = 0.300
POLL_S = 0.02


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- the broker and what crosses it -----------------------------------------------------------
def start_broker(tmp: Path) -> tuple[Any, dict[str, str]]:
    """A private Mosquitto (tests/remote/netlab.py's, with the README's ACL) that also lets the
    meter read $SYS and publishes it every second."""
    from tests.remote.netlab import PrivateMosquitto, mosquitto_missing

    missing = mosquitto_missing()
    if missing:
        raise SystemExit(f"needs Mosquitto: {missing}")

    class Broker(PrivateMosquitto):
        def _conf(self) -> str:
            return super()._conf() + "sys_interval 1\n"

    broker = Broker(tmp / "mosquitto", [WORKER, "meter"], prefix=PREFIX)
    with broker.acl_file.open("a") as acl:
        acl.write(f"\nuser meter\ntopic read {PREFIX}/#\ntopic read $SYS/broker/bytes/#\n")
    broker.start()
    return broker, broker.users


class Meter:
    """Counts what crosses the broker: topic + payload of each message under the prefix (by
    kind), and the broker's own $SYS/broker/bytes/received. Both are read at each $SYS message
    (every second), so that a phase's two figures cover the same interval."""

    def __init__(self, config: Any) -> None:
        from homelab_hub.remote.link import BrokerLink

        self.lock = threading.Lock()
        self.app: dict[str, int] = defaultdict(int)
        self.counts: dict[str, int] = defaultdict(int)  # messages by kind
        self.marks: list[tuple[float, int, dict[str, int]]] = []  # (monotonic, $SYS bytes, app)
        self.last_live = 0.0
        self.link = BrokerLink(config, client_id="homelab-hub-bench-meter", label="bench meter")
        self.link.subscribe(f"{PREFIX}/#", self._on_message, qos=0)
        self.link.subscribe("$SYS/broker/bytes/received", self._on_sys, qos=0)
        self.link.start()
        if not self.link.connected.wait(15):
            raise SystemExit(f"the meter could not connect to the broker: {self.link.last_error}")

    def _on_message(self, message: Any) -> None:
        parts = message.topic.split("/")  # PREFIX/from/W/live/CAM/WIDTH, PREFIX/to/W/config
        kind = f"{parts[1]}/{parts[3]}" if len(parts) >= 4 else "/".join(parts[1:])
        with self.lock:
            self.app[kind] += len(message.topic.encode()) + len(message.payload)
            self.counts[kind] += 1
            if kind == "from/live":
                self.last_live = time.monotonic()

    def _on_sys(self, message: Any) -> None:
        with contextlib.suppress(ValueError):
            value = int(message.payload)
            with self.lock:
                self.marks.append((time.monotonic(), value, dict(self.app)))

    def rates(self, start: float, end: float) -> tuple[dict[str, float], float, float]:
        """Bytes per second by kind (a) and in all ($SYS, b) between the first and the last
        $SYS message inside [start, end] (monotonic), and that interval's length."""
        with self.lock:
            inside = [m for m in self.marks if start <= m[0] <= end]
        if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
            return {}, float("nan"), 0.0
        (t0, sys0, app0), (t1, sys1, app1) = inside[0], inside[-1]
        span = t1 - t0
        app = {k: (v - app0.get(k, 0)) / span for k, v in app1.items() if v > app0.get(k, 0)}
        return app, (sys1 - sys0) / span, span

    def close(self) -> None:
        self.link.close()


# -- alerts as the hub stores them --------------------------------------------------------------
class AlertWatch(threading.Thread):
    """Polls the hub's SQLite file for new alert rows; each seen row's latency is the time it
    was first seen minus its ts (the frame's capture time)."""

    def __init__(self, db_path: Path, fake: Any) -> None:
        super().__init__(daemon=True)
        self.db_path = db_path
        self.fake = fake
        self.rows: list[tuple[float, float, str, str | None]] = []  # (seen, ts, camera, origin)
        self.stop = threading.Event()

    def run(self) -> None:
        last_id = 0
        conn: sqlite3.Connection | None = None
        while not self.stop.wait(POLL_S):
            try:
                if conn is None:
                    if not self.db_path.exists():
                        continue
                    conn = sqlite3.connect(self.db_path, timeout=5)
                rows = conn.execute(
                    "SELECT id, ts, camera, origin FROM alerts WHERE id > ? AND verdict = 'ALERT' "
                    "AND kind = 'visual' ORDER BY id",
                    (last_id,),
                ).fetchall()
            except sqlite3.Error:  # the table is not there yet
                continue
            seen = time.time()
            for alert_id, ts, camera, origin in rows:
                last_id = max(last_id, int(alert_id))
                self.rows.append((seen, float(ts), str(camera), origin))
            self.fake.requests.clear()  # the stand-in keeps every request (its images) otherwise
            self.fake.chats.clear()
        if conn is not None:
            conn.close()

    def latencies(self, start: float, end: float) -> tuple[list[float], int]:
        """Latencies of the rows whose frame was captured within [start, end] (wall times),
        and how many distinct origins they have (remote alerts: one row per origin)."""
        chosen = [r for r in self.rows if start <= r[1] <= end]
        return [seen - ts for seen, ts, _, _ in chosen], len({r[3] for r in chosen if r[3]})


# -- processes --------------------------------------------------------------------------------
class Procs:
    """Every process this run starts, ended (SIGTERM, then SIGKILL) on exit."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
            )
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

    def close(self) -> None:
        for proc in reversed(self.procs):
            self.stop(proc)


def hub_toml(tmp: Path, tag: str, port: int, broker: Any, users: dict[str, str], vision_url: str,
             cameras: dict[str, str], remote: bool) -> Path:  # fmt: skip
    data = tmp / f"hub-{tag}"
    lines = [
        f'[server]\nport = {port}\ndata_dir = "{data}"\n',
        f'[storage]\nurl = "sqlite:///{data}.db"\n[logging]\nfile = "{data}.log"\n',
        "[memory]\nenabled = false\n[watchdog]\nenabled = false\n",
        f'[vision]\nenabled = true\nurl = "{vision_url}"\n[vision.review]\ndaily = false\n',
    ]
    if remote:  # the local baseline is a hub of one machine: no broker
        lines.append(
            f'[broker]\nhost = "127.0.0.1"\nport = {broker.port}\nprefix = "{PREFIX}"\nusername = "hub"\n'
            f'password = "{users["hub"]}"\nkeepalive_s = {KEEPALIVE_S}\n'
        )
    for name, url in cameras.items():
        host = f'host = "{WORKER}"\n' if remote else ""
        lines.append(
            f'[cameras.{name}]\nurl = "{url}"\n{host}interval_s = {INTERVAL_S}\n'
            f'[cameras.{name}.reader]\ndecode = "all"\n'
            f'[cameras.{name}.alerts]\ncooldown_s = {COOLDOWN_S}\nimage_dir = "{data}/alerts"\n'
        )
    path = tmp / f"hub-{tag}.toml"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def wait_streaming(base: str, procs: list[subprocess.Popen[bytes]], log: Path, timeout: float = 90.0) -> None:
    """Until /api/health says every camera is ok (for remote ones: as their worker reports)."""
    import httpx

    deadline = time.monotonic() + timeout
    detail = "no answer"
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            break
        try:
            cameras = httpx.get(base + "/api/health", timeout=2).json()["components"].get("cameras", {})
            if cameras.get("state") == "ok":
                return
            detail = str(cameras.get("detail"))
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise SystemExit(f"the cameras did not all stream in {timeout:.0f} s ({detail}); {log}:\n{tail}")


def cpu_of(proc: subprocess.Popen[bytes] | int | None) -> float:
    if proc is None:
        return 0.0
    return hub_cpu(proc if isinstance(proc, int) else proc.pid)


def measure(seconds: float, meter: Meter, procs: dict[str, Any], viewer_url: str | None) -> dict[str, Any]:
    """One phase: with a viewer (viewer_url) or none. CPU % per process, bytes per camera-hour,
    the viewer's frame ages and fps."""
    client = None
    if viewer_url:
        client = Client(viewer_url, [f"cam{i + 1}" for i in range(CAMERAS)])
        client.start()
        if not client.ready.wait(30):
            raise SystemExit("the viewer could not subscribe")
        time.sleep(6.0)  # encoders start, readers switch to the viewer's rate
    cpu0 = {k: cpu_of(p) for k, p in procs.items()}
    with meter.lock:
        live0 = meter.counts["from/live"]
    t0, wall0 = time.monotonic(), time.time()
    if client:
        client.measuring.set()
    time.sleep(seconds)
    if client:
        client.measuring.clear()
    wall = time.monotonic() - t0
    with meter.lock:
        live1 = meter.counts["from/live"]
    cpu = {k: 100 * (cpu_of(p) - cpu0[k]) / wall for k, p in procs.items()}
    app, received, span = meter.rates(t0, t0 + wall)
    result: dict[str, Any] = {
        "cpu": cpu,
        "app_bytes": {k: v * 3600 / CAMERAS for k, v in app.items()},
        "sys_bytes": received * 3600 / CAMERAS,
        "bytes_span": span,
        "live_published_fps": (live1 - live0) / wall / CAMERAS,
        "wall": (wall0, wall0 + wall),
    }
    if client:
        client.stop.set()
        client.join(10)
        fps = [n / wall for n in client.counts.values()]
        result.update(
            ages=client.ages, fps_min=min(fps), fps_median=pct(fps, 0.5), frames=sum(client.counts.values())
        )
    return result


def wait_live_stopped(meter: Meter, quiet_s: float = 3.0, limit_s: float = 45.0) -> float:
    """After the viewer left: seconds until the worker's live frames stopped (none for quiet_s)."""
    left = time.monotonic()
    while time.monotonic() - left < limit_s:
        with meter.lock:
            last = meter.last_live
        if time.monotonic() - last >= quiet_s:
            return max(0.0, last - left)
        time.sleep(0.2)
    raise SystemExit(f"live frames still flowing {limit_s:.0f} s after the viewer left")


def footage(tmp: Path) -> dict[str, str]:
    cams: dict[str, str] = {}
    for i in range(CAMERAS):
        clip = FOOTAGE / CLIPS[i % len(CLIPS)]
        if not clip.exists():
            from tests.cameras.clips import ClipSpec, write_clip

            spec = ClipSpec("moving_object", width=640, height=360, fps=10, seconds=8, gop=10, seed=i)
            clip = write_clip(tmp / f"cam{i + 1}.mp4", spec)
        cams[f"cam{i + 1}"] = str(clip)
    return cams


@contextlib.contextmanager
def terminated_on_signal() -> Iterator[None]:
    """SIGTERM ends the run like Ctrl-C, so every process started is ended too."""

    def raise_interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from tests.fakes.ollama_vision import FakeOllamaVision
    from tests.support import free_port

    results: dict[str, Any] = {}
    cameras = footage(tmp)
    procs = Procs()
    broker, users = start_broker(tmp)
    fake = FakeOllamaVision()
    fake.fixed = ALERT_TEXT
    fake.start()
    meter = None
    try:
        from homelab_hub.remote.config import BrokerConfig

        meter = Meter(
            BrokerConfig(
                host="127.0.0.1", port=broker.port, username="meter", password=users["meter"], prefix=PREFIX
            )  # fmt: skip
        )
        broker_pid = broker.proc.pid
        for tag in ("remote", "local"):
            remote = tag == "remote"
            port = free_port()
            config = hub_toml(tmp, tag, port, broker, users, fake.url, cameras, remote)
            log = tmp / f"hub-{tag}.log"
            print(f"[{tag}] starting the hub on :{port}", file=sys.stderr)
            hub = procs.start(
                [sys.executable, "-m", "homelab_hub.server.cli", "--config", str(config), "serve"],
                tmp / f"hub-{tag}.out",
                env={"HF_HUB_OFFLINE": "1"},
            )
            watched: dict[str, Any] = {"hub": hub}
            worker = None
            if remote:
                worker = procs.start(
                    [sys.executable, "-m", "homelab_hub.server.cli", "worker", "--name", WORKER,
                     "--broker", "127.0.0.1", "--port", str(broker.port), "--prefix", PREFIX,
                     "--keepalive", str(KEEPALIVE_S), "--data-dir", str(tmp / "worker"),
                     "--vision-url", fake.url, "--log-level", "WARNING"],
                    tmp / "worker.log",
                    env={"HOMELAB_HUB_WORKER_PASSWORD": users[WORKER]},
                )  # fmt: skip
                watched.update(worker=worker, broker=broker_pid)
            base = f"http://127.0.0.1:{port}"
            wait_streaming(base, [p for p in (hub, worker) if p is not None], log)
            alerts = AlertWatch(tmp / f"hub-{tag}.db", fake)
            alerts.start()
            time.sleep(WARMUP_S)  # motion baselines, the first samples
            url = f"ws://127.0.0.1:{port}/ws/cameras"
            out: dict[str, Any] = {}
            if remote:  # the viewer, then (its live requests expired) none
                print(f"[{tag}] viewer for {args.seconds:g} s", file=sys.stderr)
                out["viewer"] = measure(args.seconds, meter, watched, url)
                out["drain_s"] = wait_live_stopped(meter)
                print(f"[{tag}] no viewer for {args.seconds / 2:g} s", file=sys.stderr)
                out["idle"] = measure(args.seconds / 2, meter, watched, None)
            else:  # no viewer first: nothing to wait for between the phases
                print(f"[{tag}] no viewer for {args.seconds / 2:g} s", file=sys.stderr)
                out["idle"] = measure(args.seconds / 2, meter, watched, None)
                print(f"[{tag}] viewer for {args.seconds:g} s", file=sys.stderr)
                out["viewer"] = measure(args.seconds, meter, watched, url)
            start = min(out["viewer"]["wall"][0], out["idle"]["wall"][0])
            end = max(out["viewer"]["wall"][1], out["idle"]["wall"][1])
            time.sleep(3.0)  # alerts of the last frames reach the hub
            alerts.stop.set()
            alerts.join(5)
            out["alerts"], out["origins"] = alerts.latencies(start, end)
            results[tag] = out
            if worker is not None:
                procs.stop(worker)
            procs.stop(hub)
    finally:
        if meter is not None:
            meter.close()
        procs.close()
        fake.stop()
        broker.stop()
    return results


def report(results: dict[str, Any], seconds: float) -> None:
    r, b = results["remote"], results["local"]

    def ms(v: float) -> str:
        return f"{v * 1000:.0f} ms"

    def pc(v: float) -> str:
        return f"{v:.1f} %"

    def mb(v: float) -> str:
        return f"{v / 1e6:.1f} MB"

    def ratio(x: float, y: float) -> str:
        return f"{x / y:.2f}x" if y and y == y and x == x else "-"

    rows: list[tuple[str, str, str, str]] = []

    def row(name: str, remote: float | None, local: float | None, fmt: Any) -> None:
        rows.append(
            (name, "-" if remote is None else fmt(remote), "-" if local is None else fmt(local),
             ratio(remote, local) if remote is not None and local is not None else "-")
        )  # fmt: skip

    rv, ri, bv, bi = r["viewer"], r["idle"], b["viewer"], b["idle"]
    row("hub CPU, 1 viewer", rv["cpu"]["hub"], bv["cpu"]["hub"], pc)
    row("hub CPU, no viewer", ri["cpu"]["hub"], bi["cpu"]["hub"], pc)
    row("worker CPU, 1 viewer", rv["cpu"]["worker"], None, pc)
    row("worker CPU, no viewer", ri["cpu"]["worker"], None, pc)
    row("hub + worker CPU, 1 viewer", rv["cpu"]["hub"] + rv["cpu"]["worker"], bv["cpu"]["hub"], pc)
    row("hub + worker CPU, no viewer", ri["cpu"]["hub"] + ri["cpu"]["worker"], bi["cpu"]["hub"], pc)
    row("broker (mosquitto) CPU, 1 viewer", rv["cpu"]["broker"], None, pc)
    row("frame age p50 (target <= 300 ms)", pct(rv["ages"], 0.5), pct(bv["ages"], 0.5), ms)
    row("frame age p99", pct(rv["ages"], 0.99), pct(bv["ages"], 0.99), ms)
    row("worker live frames published/camera/s", rv["live_published_fps"], None, lambda v: f"{v:.2f}")
    row("delivered fps per tile, min", rv["fps_min"], bv["fps_min"], lambda v: f"{v:.2f}")
    row("delivered fps per tile, median", rv["fps_median"], bv["fps_median"], lambda v: f"{v:.2f}")
    row("alert latency p50", pct(r["alerts"], 0.5), pct(b["alerts"], 0.5), ms)
    row("alert latency p99", pct(r["alerts"], 0.99), pct(b["alerts"], 0.99), ms)
    row("alerts measured (n)", len(r["alerts"]), len(b["alerts"]), lambda v: str(int(v)))
    row("broker bytes/camera-hour, viewer (a)", sum(rv["app_bytes"].values()), None, mb)
    row("broker bytes/camera-hour, no viewer (a)", sum(ri["app_bytes"].values()), None, mb)
    row("broker bytes/camera-hour, viewer (b)", rv["sys_bytes"], None, mb)
    row("broker bytes/camera-hour, no viewer (b)", ri["sys_bytes"], None, mb)

    width = max(len(x[0]) for x in rows)
    print(
        f"{CAMERAS} cameras (footage, real time, looping), interval_s {INTERVAL_S:g}, alerts.cooldown_s "
        f"{COOLDOWN_S:g}, stand-in vision model answering ALERT; 1 WebSocket viewer of all {CAMERAS} at "
        f"{FPS:g} fps, width {WIDTH}; {seconds:g} s with the viewer, {seconds / 2:g} s without; CPU 100 % = one core"
    )
    print(f"{'figure':<{width}}  {'remote':>12}  {'local baseline':>14}  {'ratio':>7}")
    for name, rem, loc, rat in rows:
        print(f"{name:<{width}}  {rem:>12}  {loc:>14}  {rat:>7}")
    ok = "met" if pct(rv["ages"], 0.5) <= TARGET_AGE_P50_S else "NOT met"
    print(f"\nframe age p50, remote: {ms(pct(rv['ages'], 0.5))}; target <= 300 ms: {ok}")
    print(
        f"frames at the viewer: remote {rv['frames']}, local {bv['frames']}; live frames stopped "
        f"{r['drain_s']:.1f} s after the viewer left (the hub's 10 s encoder grace, then the worker's 6 s request ttl)"
    )
    print(
        f"remote alerts: {len(r['alerts'])} rows, {r['origins']} distinct origins (one row per alert expected)"
    )
    for label, phase in (("viewer", rv), ("no viewer", ri)):
        parts = ", ".join(
            f"{k} {mb(v)}" for k, v in sorted(phase["app_bytes"].items(), key=lambda kv: -kv[1])
        )
        print(f"(a) per camera-hour, {label}, by topic: {parts}")
    print(
        "(a) = topic + payload of each message under the prefix, counted once by a subscriber (no MQTT framing, "
        "no deliveries); (b) = Mosquitto's $SYS/broker/bytes/received (all bytes clients sent it, framing included)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="seconds measured with the viewer (half without)"
    )
    parser.add_argument(
        "--workdir", help="keep the configs, logs and databases here (default: a temporary folder)"
    )
    args = parser.parse_args()
    if args.seconds < 5:
        parser.error("--seconds must be at least 5")
    with terminated_on_signal(), tempfile.TemporaryDirectory() as tmpdir:
        work = Path(args.workdir) if args.workdir else Path(tmpdir)
        work.mkdir(parents=True, exist_ok=True)
        try:
            results = run(args, work)
        except KeyboardInterrupt:
            print("interrupted; every process started was ended", file=sys.stderr)
            return 130
    report(results, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
