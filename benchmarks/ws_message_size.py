"""The hub's memory while WebSocket clients send huge unfinished messages.

    python benchmarks/ws_message_size.py [--sockets 20] [--mib 16]

Each of ``--sockets`` clients opens /ws/cameras and sends the first ``--mib`` MiB fragment
of a text message it never finishes (the probe's attack: 20 x 16 MB raised the hub's RSS by
320 MB, never given back). Run twice in this process on a hub with one file camera: first
with the hub's own limit (serving.WS_MAX_MESSAGE_BYTES: the socket is closed with 1009 as
soon as the frame's length is read), then as the baseline with uvicorn's default of 16 MiB.
Printed per run: the hub process's RSS growth while the fragments are held (the hub runs in
a child process, so the clients' own copies do not count), and how many sockets the hub
closed before the clients let go.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def attack(url: str, pid: int, sockets: int, payload: str) -> tuple[float, int]:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    hold = threading.Event()
    closed = [0]
    sent = threading.Semaphore(0)

    def one() -> None:
        try:
            with connect(url, open_timeout=20, close_timeout=1) as conn:
                conn.recv(timeout=20)  # hello

                def fragments():  # type: ignore[no-untyped-def]
                    yield payload
                    sent.release()
                    hold.wait(60)
                    yield "}"

                threading.Thread(target=lambda: _send(conn, fragments()), daemon=True).start()
                while not hold.is_set():
                    try:
                        conn.recv(timeout=0.5)
                    except TimeoutError:
                        continue
        except (ConnectionClosed, OSError):
            if not hold.is_set():
                closed[0] += 1
            sent.release()

    before = rss_mib(pid)
    threads = [threading.Thread(target=one, daemon=True) for _ in range(sockets)]
    for t in threads:
        t.start()
    for _ in range(sockets):
        sent.acquire(timeout=60)
    time.sleep(2.0)  # a benchmark, not a test: let the hub read what it was sent
    grown = rss_mib(pid) - before
    hold.set()
    for t in threads:
        t.join(10)
    return grown, closed[0]


def _send(conn, fragments) -> None:  # type: ignore[no-untyped-def]
    try:
        conn.send(fragments)
    except Exception:  # the hub closed the socket: what is measured
        pass


def serve(limit: int) -> None:
    """The child: a hub with one file camera and ``ws_max_size=limit``; prints its URL and
    runs until stdin closes."""
    from tests.hubclient import RunningHub, hub_config
    from tests.support import free_port
    from tests.web.support import camera_lab

    with tempfile.TemporaryDirectory() as tmp, camera_lab(Path(tmp), rtsp=0, files=1) as cams:
        overrides = {"memory": {"enabled": False}, "vision": {"enabled": False}, "cameras": cams["cameras"]}
        hub = RunningHub(hub_config(Path(tmp), free_port(), overrides), ws_max_size=limit).start()
        print(hub.url, flush=True)
        sys.stdin.read()
        hub.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=20)
    parser.add_argument("--mib", type=int, default=16)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0

    from homelab_hub.server.serving import WS_MAX_MESSAGE_BYTES

    # Just under the baseline's limit, so that it buffers the fragment rather than refusing it.
    payload = '{"cmd": "subscribe", "cameras": ["' + "x" * (args.mib * 1024 * 1024 - 4096)
    results = []
    for label, limit in (("hub limit", WS_MAX_MESSAGE_BYTES), ("baseline", 16 * 1024 * 1024)):
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(limit)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip
        try:
            assert child.stdout is not None
            url = child.stdout.readline().strip().replace("http://", "ws://") + "/ws/cameras"
            grown, closed = attack(url, child.pid, args.sockets, payload)
        finally:
            if child.stdin is not None:
                child.stdin.close()
            child.wait(60)
        results.append((label, limit, grown, closed))
    for label, limit, grown, closed in results:
        print(
            f"{label:9s} ws_max_size {limit:>9d} B: hub RSS +{grown:7.1f} MiB with {args.sockets} x {args.mib} MiB "
            f"fragments; {closed} of {args.sockets} sockets closed by the hub"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
