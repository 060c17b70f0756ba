"""End-to-end POST /api/search latency (HTTP + query embedding + hybrid search) at 202, 10k
and 100k memories, against the hub running as its own process on SQLite.

Memories are operator sentences with real MiniLM embeddings (100k: plus perturbed copies,
see memory_common.py), written straight into the database; the hub then reconciles its
index from the table at start. Every query string is distinct, so the query-embedding cache
never hits. Memories come in threads of 20 with their own times (so thread context is on),
and BM25 stems every word. Baselines from the same run: the bare embedder on one query, the
hub at the seed's 202 memories (the seed's server answered in "<100 ms" there), and with
``--before DIR`` the same hub and database served by an earlier source tree (e.g. a
`git archive` of the commit before threads and stemming), printed as "before".

    python benchmarks/memory_search_e2e.py [--before /tmp/base]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory_common import load_embedder, read_rows, sentences, vectors_100k

from homelab_hub.memory.store import content_hash
from homelab_hub.server.components import all_migrations
from homelab_hub.store import Database, migrate

SIZES = (202, 10_000, 100_000)
QUERY_COUNT = 200


def distinct_queries(n: int) -> list[str]:
    base = [
        "which port does {} use",
        "how do I restart {}",
        "{} crashed after the upgrade",
        "where is the {} config",
        "backup schedule for {}",
        "why does {} run on that host",
        "{} memory limit",
        "{} health check",
    ]
    words = [
        "Ollama",
        "Frigate",
        "Grafana",
        "Jellyfin",
        "Pi-hole",
        "Caddy",
        "Gitea",
        "Redis",
        "Immich",
        "Loki",
        "Mosquitto",
        "Nextcloud",
        "Vaultwarden",
        "Unbound",
        "Zigbee2MQTT",
        "Syncthing",
        "MariaDB",
        "go2rtc",
        "Prometheus",
        "WireGuard",
        "Scrypted",
        "ComfyUI",
        "Paperless-ngx",
        "llama-server",
        "Uptime Kuma",
    ]
    return [
        base[i % len(base)].format(words[(i // len(base)) % len(words)]) + ("" if i < 200 else f" #{i}")
        for i in range(n)
    ]


def fill(db_url: str, n: int) -> None:
    db = Database.from_url(db_url)
    migrate(db, all_migrations())
    texts = sentences(4000)
    vecs_path = vectors_100k()
    now = time.time()
    for start in range(0, n, 10_000):
        stop = min(n, start + 10_000)
        vecs = read_rows(vecs_path, start, stop)
        rows = []
        for i in range(start, stop):
            content = texts[i % len(texts)] + ("" if i < len(texts) else f" (note {i})")
            thread, when = f"session-{i // 20}", now - (n - i) * 60.0
            rows.append(
                (
                    "claude",
                    content,
                    "ops",
                    "[]",
                    "bench",
                    "",
                    thread,
                    when,
                    content_hash(content, thread, when),
                    np.ascontiguousarray(vecs[i - start]).tobytes(),
                    now,
                    now,
                )
            )
        with db.transaction():
            db.executemany(
                "INSERT INTO memories (agent, content, category, tags, source, section, thread, occurred_at, "
                "content_hash, embedding, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
    db.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_hub(n: int, work: Path, code: Path | None = None) -> tuple[float, float, float]:
    db_url = f"sqlite:///{work}/hub-{n}.db"
    if not (work / f"hub-{n}.db").exists():
        fill(db_url, n)
    tag = f"{n}-{'before' if code else 'after'}"
    port = free_port()
    config = work / f"hub-{tag}.toml"
    config.write_text(
        f'[server]\nport = {port}\ndata_dir = "{work}/data-{tag}"\n[storage]\nurl = "{db_url}"\n'
        f'[logging]\nfile = "{work}/hub-{tag}.log"\n',
        encoding="utf-8",
    )
    env = {**os.environ}
    if code is not None:  # the earlier tree first on the path; it ignores the newer columns
        env["PYTHONPATH"] = str(code)
    proc = subprocess.Popen(
        [sys.executable, "-m", "homelab_hub.server.cli", "--config", str(config), "serve"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=str(code or Path.cwd()),
    )
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        while True:
            try:
                mem = httpx.get(f"{url}/api/health", timeout=5).json()["components"].get("memory", {})
                if mem.get("state") == "ok":
                    break
            except (httpx.HTTPError, ValueError):
                pass
            if proc.poll() is not None or time.monotonic() - started > 600:
                raise SystemExit(f"hub with {n} memories did not start")
            time.sleep(0.2)
        ready = time.monotonic() - started
        times = []
        with httpx.Client(base_url=url, timeout=60) as client:
            for i in range(10):
                client.post("/api/search", json={"query": f"warm-up query {i}"})
            for q in distinct_queries(QUERY_COUNT):
                t = time.perf_counter()
                res = client.post("/api/search", json={"query": q})
                times.append(time.perf_counter() - t)
                assert res.status_code == 200, res.text
        times.sort()
        return statistics.median(times), times[int(len(times) * 0.99) - 1], ready
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="source tree of the earlier code to measure too")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated memory counts")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    embedder = load_embedder()
    for i in range(10):
        embedder.embed_one(f"warm-up query {i}")
    bare = []
    for q in distinct_queries(QUERY_COUNT):
        t = time.perf_counter()
        embedder.embed_one(q + " bare")
        bare.append(time.perf_counter() - t)
    bare.sort()
    print(f"POST /api/search, {QUERY_COUNT} distinct queries, hub on SQLite in its own process")
    print(
        f"  baseline: bare embedder, one query         p50 {statistics.median(bare) * 1000:6.1f} ms  "
        f"p99 {bare[int(len(bare) * 0.99) - 1] * 1000:6.1f} ms"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            runs = [("before", args.before)] if args.before else []
            for name, code in [*runs, ("after", None)]:
                p50, p99, ready = run_hub(n, Path(tmp), code)
                label = ("baseline: seed size" if n == 202 else "hub") + (f" ({name})" if args.before else "")
                target = "   target p50 <= 40 ms" if n == 100_000 and name == "after" else ""
                print(
                    f"  {label + f' {n:,} memories':<42} p50 {p50 * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms"
                    f"   (index ready {ready:.1f}s after start){target}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
