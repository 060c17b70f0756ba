"""`homelab-hub watchdog --once` for cron: exit 0 when nominal or fixed, 3 when a human is needed."""

from __future__ import annotations

import json
import subprocess
import sys

import tomli_w

from tests.support import wait_until
from tests.watchdog.support import FAST


def _run(tmp_path, services, *extra):
    config = tmp_path / "homelab-hub.toml"
    config.write_text(
        tomli_w.dumps(
            {
                "storage": {"url": f"sqlite:///{tmp_path}/hub.db"},
                "watchdog": {**FAST, "max_restart_attempts": 1, "services": services},
            }
        )
    )
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "homelab_hub.server.cli",
            "--config",
            str(config),
            "watchdog",
            "--once",
            "--json",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_watchdog_once_exits_zero_when_nominal_and_three_when_a_human_is_needed(daemons, tmp_path):
    d = daemons()
    ok = _run(tmp_path, {"gate": d.service()})
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout.strip().splitlines()[-1])["overall"] == "nominal"
    d.set_mode("exit")
    wait_until(lambda: not d.pids(), 10, "daemon exit")
    bad = _run(tmp_path, {"gate": d.service()})
    assert bad.returncode == 3, bad.stderr
    report = json.loads(bad.stdout.strip().splitlines()[-1])
    assert report["needs_human"] == ["gate"]
    assert report["services"]["gate"]["incident_id"] is not None


def test_watchdog_help_and_a_bad_config_are_clear(tmp_path):
    helped = subprocess.run(
        [sys.executable, "-m", "homelab_hub.server.cli", "watchdog", "--help"], capture_output=True, text=True
    )
    assert helped.returncode == 0
    assert "--once" in helped.stdout
    bad = _run(tmp_path, {"bad name!": {"match": "x"}})
    assert bad.returncode == 1
    assert "watchdog.services" in bad.stderr
    assert "Traceback" not in bad.stderr
