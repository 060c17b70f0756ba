"""kill -9 during a bulk import: every acknowledged save survives, and the index is reconciled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.support import free_port

ACKS_BEFORE_KILL = 80


def start_hub(config: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("HOMELAB_HUB_CONFIG", None)
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "homelab_hub.server.cli",
                "--config",
                str(config),
                "serve",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def wait_memory_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"hub exited early:\n{log.read_text()[-3000:]}"
        try:
            body = httpx.get(f"{url}/api/health", timeout=5).json()
            memory = body["components"]["memory"]
            if memory["state"] == "ok":
                return memory
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"memory did not become ready within {timeout}s:\n{log.read_text()[-3000:]}")


def test_kill_9_during_bulk_saves_loses_no_acknowledged_memory(db_url, tmp_path):
    port = free_port()
    config = tmp_path / "hub.toml"
    config.write_text(
        f'[server]\nport = {port}\ndata_dir = "{tmp_path / "data"}"\n'
        f'[storage]\nurl = "{db_url}"\n[logging]\nfile = "{tmp_path / "hub.log"}"\n'
        # The index on disk stays the empty one written at start, so every save must be
        # re-encoded from the database after the crash.
        "[memory]\npersist_interval_s = 3600\n",
        encoding="utf-8",
    )
    url, log = f"http://127.0.0.1:{port}", tmp_path / "out.log"
    proc = start_hub(config, port, log)
    acked: list[tuple[int, str]] = []
    try:
        wait_memory_ready(url, proc, log)

        def bulk(writer: int) -> None:
            with httpx.Client(base_url=url, timeout=30) as client:
                for i in range(100_000):
                    tag = f"svc{writer}x{i:05d}"
                    try:
                        res = client.post(
                            "/api/save", json={"content": f"{tag} runs on rack-{i % 7} port {30000 + i}."}
                        )
                    except httpx.HTTPError:
                        return  # the hub is gone
                    if res.status_code == 200:
                        acked.append((res.json()["id"], tag))

        writers = [threading.Thread(target=bulk, args=(w,)) for w in range(2)]
        for w in writers:
            w.start()
        deadline = time.monotonic() + 120
        while len(acked) < ACKS_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        for w in writers:
            w.join(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(acked) >= ACKS_BEFORE_KILL

    proc = start_hub(config, port, log)
    try:
        health = wait_memory_ready(url, proc, log)
        reconcile = health["data"]["reconcile"]
        assert reconcile["loaded_from_disk"] and len(acked) == len(set(acked))
        assert reconcile["indexed"] >= len(acked) and reconcile["reencoded"] >= len(acked)
        with httpx.Client(base_url=url, timeout=30) as client:
            for memory_id, tag in acked:
                res = client.post("/api/search", json={"query": tag, "limit": 1})
                assert res.status_code == 200, res.text
                assert [r["id"] for r in res.json()["results"]] == [memory_id], tag
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
