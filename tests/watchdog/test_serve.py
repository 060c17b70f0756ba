"""`homelab-hub serve` as a user runs it: every log line once on stderr, and the missing
notification target said once at start, not after every check."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter

import httpx
import tomli_w

from tests.support import free_port, wait_until
from tests.watchdog.support import FAST, HUB


def test_serve_prints_each_log_line_once_and_says_once_that_no_notification_target_is_set(daemons, tmp_path):
    d = daemons()
    port = free_port()
    config = tmp_path / "homelab-hub.toml"
    config.write_text(
        tomli_w.dumps(
            {
                **HUB,
                "server": {"port": port, "data_dir": str(tmp_path / "data")},
                "storage": {"url": f"sqlite:///{tmp_path}/hub.db"},
                "logging": {"file": str(tmp_path / "hub.log")},
                "watchdog": {**FAST, "interval_s": 0.3, "cpu_samples": 1, "services": {"gate": d.service()}},
            }
        )
    )
    serve = subprocess.Popen(
        [sys.executable, "-m", "homelab_hub.server.cli", "serve", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def checks() -> int:
        try:
            health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return 0
        return int(health["components"].get("watchdog", {}).get("data", {}).get("checks", 0))

    try:
        wait_until(lambda: checks() >= 3, 60, "three watchdog checks in the served hub")
    finally:
        serve.send_signal(signal.SIGINT)
        _, stderr = serve.communicate(timeout=60)
    lines = [line for line in stderr.splitlines() if line.strip()]
    warnings = [line for line in lines if "no notification target is configured" in line]
    assert len(warnings) == 1, stderr
    assert " WARNING homelab_hub.watchdog.engine: watchdog: no notification target" in warnings[0]
    assert not [line for line in lines if "could not be delivered" in line]
    started = [line for line in lines if "Application startup complete" in line]
    assert len(started) == 1, stderr
    twice = [line for line, n in Counter(lines).items() if n > 1]
    assert twice == [], stderr
