"""Restart methods hand argv lists to the service managers: names are never shell text."""

from __future__ import annotations

import json
import os
import stat

import pytest

from homelab_hub.watchdog.config import WatchedServiceConfig
from homelab_hub.watchdog.managers import ServiceManager

RECORDER = """#!/usr/bin/env python3
# Records its argv as one JSON line: what a service manager would have been asked to do.
import json, os, sys
with open(os.environ["MANAGER_CALLS"], "a") as fh:
    fh.write(json.dumps([os.path.basename(sys.argv[0])] + sys.argv[1:]) + "\\n")
"""


@pytest.fixture
def managers_on_path(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("systemctl", "docker", "supervisorctl", "launchctl"):
        path = bin_dir / tool
        path.write_text(RECORDER)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    calls = tmp_path / "calls"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("MANAGER_CALLS", str(calls))
    return calls


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("systemd", ["systemctl", "restart", "--", "TARGET"]),
        ("docker", ["docker", "restart", "TARGET"]),
        ("supervisor", ["supervisorctl", "restart", "TARGET"]),
        ("launchd", ["launchctl", "kickstart", "-k", f"gui/{os.getuid()}/TARGET"]),
    ],
)
def test_each_manager_gets_the_target_as_one_literal_argument(managers_on_path, tmp_path, method, expected):
    marker = tmp_path / "pwned"
    target = f"cam; touch {marker} $(touch {marker})"
    cfg = WatchedServiceConfig.model_validate({"match": "x", "restart": {"method": method, "target": target}})
    result = ServiceManager().restart("cam", cfg, [])
    assert result.ok, result.detail
    (call,) = [json.loads(line) for line in managers_on_path.read_text().splitlines()]
    assert call == [part.replace("TARGET", target) for part in expected]
    assert not marker.exists()


def test_a_target_that_looks_like_an_option_is_refused(managers_on_path):
    cfg = WatchedServiceConfig.model_validate(
        {"match": "x", "restart": {"method": "systemd", "target": "--force"}}
    )
    result = ServiceManager().restart("cam", cfg, [])
    assert not result.ok
    assert "'-'" in result.detail
    assert not managers_on_path.exists()


def test_a_missing_manager_or_a_failing_one_is_a_failed_restart_not_a_crash(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    cfg = WatchedServiceConfig.model_validate({"match": "x", "restart": {"method": "docker"}})
    result = ServiceManager().restart("cam", cfg, [])
    assert not result.ok
    assert result.detail == "docker is not installed on this host"
    failing = tmp_path / "systemctl"
    failing.write_text("#!/bin/sh\necho 'Unit cam.service not found.' >&2\nexit 5\n")
    failing.chmod(0o755)
    cfg = WatchedServiceConfig.model_validate({"match": "x", "restart": {"method": "systemd"}})
    result = ServiceManager().restart("cam", cfg, [])
    assert not result.ok
    assert result.detail == "systemctl restart -- cam exited 5: Unit cam.service not found."
