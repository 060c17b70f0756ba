"""A systemd unit stuck in start-limit-hit is reported as such, and reset only when configured.

`systemctl` here is a stand-in on PATH speaking the real CLI's `show --property=...` output; its
`restart` starts the real test daemon, like a unit's ExecStart would."""

from __future__ import annotations

import json
import os

import pytest

from homelab_hub.watchdog.engine import Watchdog
from tests.watchdog.support import actions, kinds, watchdog_config

SYSTEMCTL = """#!/usr/bin/env python3
import json, os, subprocess, sys
path = os.environ["FAKE_UNIT"]
unit = json.load(open(path))
with open(os.environ["SYSTEMCTL_CALLS"], "a") as fh:
    fh.write(json.dumps(sys.argv[1:]) + "\\n")
verb = sys.argv[1]
if verb == "show":
    print(f"MainPID={unit['pid']}\\nActiveState={unit['active']}\\nSubState={unit['sub']}\\nResult={unit['result']}")
elif verb == "reset-failed":
    unit.update(result="success", active="inactive", sub="dead")
elif verb == "restart":
    if unit["result"] == "start-limit-hit":
        print(f"Job for {sys.argv[-1]}.service failed because start of the service was attempted too often.", file=sys.stderr)
        sys.exit(1)
    child = subprocess.Popen(unit["argv"], start_new_session=True, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    unit.update(result="success", active="active", sub="running", pid=child.pid)
json.dump(unit, open(path, "w"))
"""


@pytest.fixture
def unit(tmp_path, monkeypatch, daemons):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "systemctl"
    tool.write_text(SYSTEMCTL)
    tool.chmod(0o755)
    d = daemons("cam", start=False)
    d.log.write_text("2026-04-13 05:27:21 INFO started\n")  # the last words before the crash loop
    state = tmp_path / "unit.json"
    state.write_text(
        json.dumps(
            {"pid": 0, "active": "failed", "sub": "failed", "result": "start-limit-hit", "argv": d.argv}
        )
    )
    calls = tmp_path / "calls"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_UNIT", str(state))
    monkeypatch.setenv("SYSTEMCTL_CALLS", str(calls))

    def service(**restart: object) -> dict[str, object]:
        return d.service(systemd_unit="cam", match=None, restart={"method": "systemd", **restart})

    def verbs() -> list[list[str]]:
        return [json.loads(line) for line in calls.read_text().splitlines() if json.loads(line)[0] != "show"]

    return service, verbs


def test_a_unit_in_start_limit_hit_is_reported_as_such_and_left_to_a_human(unit, sqlite_db):
    service, verbs = unit
    outcome = Watchdog(watchdog_config({"cam": service()}), sqlite_db).check_once().outcomes["cam"]
    assert kinds(outcome.findings) == {"start_limit_hit"}
    assert outcome.findings[0].message == (
        "cam: systemd unit cam hit its start limit (Result=start-limit-hit, failed/failed); systemd will not "
        "start it until `systemctl reset-failed cam` (restart.reset_start_limit is off: left to a human)"
    )
    assert outcome.report == "needs_human"
    assert outcome.attempts == 0
    assert verbs() == []


def test_a_unit_in_start_limit_hit_is_reset_and_restarted_when_configured(unit, sqlite_db):
    service, verbs = unit
    wd = Watchdog(watchdog_config({"cam": service(reset_start_limit=True)}), sqlite_db)
    outcome = wd.check_once().outcomes["cam"]
    assert outcome.report == "fixed"
    assert verbs() == [["reset-failed", "--", "cam"], ["restart", "--", "cam"]]
    (restart,) = actions(wd.incident(outcome.incident_id), "restart")
    assert restart["detail"] == "reset-failed cam (start-limit-hit), then systemctl restart -- cam ok"
