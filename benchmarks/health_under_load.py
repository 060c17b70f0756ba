"""/api/health latency while 50 clients load the hub with memory saves and searches.

    python benchmarks/health_under_load.py [--clients 50] [--seconds 20]

One real hub (uvicorn, SQLite, the embedding model) in this process. Health is asked every
50 ms by one client while ``--clients`` others save and search as fast as they can; the
baseline is health on the same hub with no load, measured first in the same run. Health is
built from state the workers keep, on threads of its own: it once shared the tools' thread
pool and pinged the database there (2.5-8.3 s under load). Target: p99 < 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hubclient import RunningHub, hub_config  # noqa: E402
from tests.support import free_port  # noqa: E402


def health_latencies(url: str, until: float) -> list[float]:
    out = []
    with httpx.Client(base_url=url, timeout=30) as http:
        while time.monotonic() < until:
            started = time.perf_counter()
            http.get("/api/health")
            out.append(time.perf_counter() - started)
            time.sleep(0.05)
    return out


def summary(name: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
    return (
        f"{name}: n={len(ms)} p50 {statistics.median(ms):.1f} ms  p99 {p(0.99):.1f} ms  max {ms[-1]:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hub = RunningHub(hub_config(Path(tmp), free_port(), {})).start()
        try:
            deadline = time.monotonic() + 300
            while not hub.services.memory.ready and time.monotonic() < deadline:
                time.sleep(0.2)
            idle = health_latencies(hub.url, time.monotonic() + 5)
            stop = threading.Event()
            done = [0]

            def load(c: int) -> None:
                with httpx.Client(base_url=hub.url, timeout=120) as http:
                    n = 0
                    while not stop.is_set():
                        text = f"client {c} note {n}: host-{c}-{n} runs Grafana on port {3000 + n}."
                        http.post("/api/save", json={"content": text})
                        http.post("/api/search", json={"query": f"where does grafana run {c}"})
                        n += 1
                        done[0] += 2

            threads = [threading.Thread(target=load, args=(c,), daemon=True) for c in range(args.clients)]
            for th in threads:
                th.start()
            time.sleep(2)  # let the load build up
            loaded = health_latencies(hub.url, time.monotonic() + args.seconds)
            stop.set()
            for th in threads:
                th.join(120)
        finally:
            hub.stop()
    print(summary("health, idle hub (baseline)", idle))
    print(summary(f"health, {args.clients} clients saving and searching", loaded))
    print(f"load served meanwhile: {done[0]} tool calls")


if __name__ == "__main__":
    main()
