"""Helpers shared by the tests (fixtures live in conftest.py).

``require(ok, reason)`` is for tests that need a component this machine may lack (MariaDB,
Mosquitto, Chromium, the Claude CLI, gst-rtsp-server…): it skips with the reason, unless
HOMELAB_HUB_REQUIRE_ALL=1 (set by CI), where it fails instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

MARIADB_URL = os.environ.get("HOMELAB_HUB_TEST_MYSQL_URL", "mysql+pymysql://root:@127.0.0.1:3306/test")


def require(available: bool, reason: str) -> None:
    """Skip (or fail, under HOMELAB_HUB_REQUIRE_ALL=1) when a component is missing."""
    if available:
        return
    if os.environ.get("HOMELAB_HUB_REQUIRE_ALL") == "1":
        pytest.fail(f"required component missing: {reason}", pytrace=False)
    pytest.skip(reason)


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll until predicate() is truthy (returns its value) or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def node_bin(name: str) -> str | None:
    """Path of an npm-installed CLI (claude, mcp-inspector) under .tools/, or on PATH."""
    local = os.path.join(REPO_ROOT, ".tools", "node_modules", ".bin", name)
    if os.path.exists(local):
        return local
    return shutil.which(name)
