"""The listener under a slow or greedy client, against a real `homelab-hub serve` process:
slowloris with a low descriptor limit, stalled heads and bodies, and the modes of the files
the hub writes."""

from __future__ import annotations

import os
import resource
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import free_port, wait_until

# The probe's setting: 128 descriptors, and more half-sent requests than that.
NOFILE = 128
HALF_SENT = 130


def _write_config(tmp: Path, port: int) -> Path:
    config = tmp / "hub.toml"
    config.write_text(
        f"""
[server]
port = {port}
data_dir = "{tmp}/data"
header_timeout_s = 3.0
body_timeout_s = 2.0

[storage]
url = "sqlite:///{tmp}/data/hub.db"

[logging]
file = "{tmp}/data/logs/hub.log"

[memory]
enabled = false
""",
        encoding="utf-8",
    )
    return config


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """`homelab-hub serve` in its own process, limited to NOFILE descriptors."""
    tmp = tmp_path_factory.mktemp("listener")
    port = free_port()
    config = _write_config(tmp, port)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))

    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("HOMELAB_HUB_CONFIG", None)
    # Output to a file, not a pipe: a pipe nobody reads fills up and blocks the hub.
    output = (tmp / "serve.out").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "homelab_hub.server.cli", "serve", "--config", str(config)],
        env=env,
        preexec_fn=limit,  # a plain setrlimit, before the child has any threads
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(base + "/api/health", timeout=2).status_code in (200, 503)
        except httpx.HTTPError:
            return proc.poll() is not None

    wait_until(up, timeout=60, what="the hub to start")
    assert proc.poll() is None, (tmp / "serve.out").read_text()
    yield base, tmp
    proc.terminate()
    proc.wait(20)
    output.close()


def _half_sent(port: int) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=5)
    conn.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    return conn


def _closed_by_peer(conn: socket.socket, timeout: float) -> bool:
    conn.settimeout(timeout)
    try:
        return conn.recv(1024) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def test_health_keeps_answering_under_slowloris_at_a_low_descriptor_limit(served):
    base, _ = served
    port = int(base.rsplit(":", 1)[1])
    held = []
    try:
        for _ in range(HALF_SENT):
            try:
                held.append(_half_sent(port))
            except OSError:
                pass  # refused at the cap: as good as held for the attacker's purpose
        response = wait_until(
            lambda: _health_or_none(base), timeout=15, what="/api/health to answer under slowloris"
        )
        assert response.status_code == 200
    finally:
        for conn in held:
            conn.close()


def _health_or_none(base: str) -> httpx.Response | None:
    try:
        return httpx.get(base + "/api/health", timeout=3)
    except httpx.HTTPError:
        return None


def test_a_request_head_that_never_completes_is_closed(served):
    base, _ = served
    conn = _half_sent(int(base.rsplit(":", 1)[1]))
    try:
        assert _closed_by_peer(conn, timeout=15)
    finally:
        conn.close()


def test_a_request_body_that_stalls_is_closed(served):
    base, _ = served
    conn = socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=5)
    try:
        conn.sendall(
            b"POST /api/tools/hub_status HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        assert _closed_by_peer(conn, timeout=15)
    finally:
        conn.close()


def test_the_data_directory_and_files_are_private_to_the_hub_user(served):
    _, tmp = served
    data = tmp / "data"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "hub.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "logs" / "hub.log").stat().st_mode) == 0o600
