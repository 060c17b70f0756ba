"""The three tiers against real processes: restart, Claude Code, human."""

from __future__ import annotations

import json
import os
import subprocess
import time

import psutil

from homelab_hub.notify.apprise import AppriseNotifier
from homelab_hub.watchdog.claude import ClaudeRunner
from homelab_hub.watchdog.config import ClaudeTierConfig
from homelab_hub.watchdog.engine import Watchdog
from tests.fakes.receiver import NotificationReceiver
from tests.support import node_bin, require
from tests.watchdog.conftest import STANDINS, wait_until, watchdog_config


def _quiet(d, seconds: float = 1.0) -> None:
    wait_until(lambda: time.time() - d.log.stat().st_mtime > seconds, 15, f"{d.name} log to go silent")


def test_tier1_kills_a_zombie_restarts_it_by_command_and_verifies_it(daemons, sqlite_db):
    d = daemons()
    wd = Watchdog(watchdog_config({"gate": d.service()}), sqlite_db)
    assert wd.check_once().outcomes["gate"].report == "nominal"
    d.set_mode("spin")
    _quiet(d)
    zombie_pid = d.pids()[0]
    d.set_mode("normal")  # the restarted process starts healthy: the deadlock was a fluke
    outcome = wd.check_once().outcomes["gate"]
    assert outcome.report == "fixed", outcome
    assert not psutil.pid_exists(zombie_pid) or psutil.Process(zombie_pid).status() == psutil.STATUS_ZOMBIE
    assert d.pids() and d.pids()[0] != zombie_pid
    incident = wd.incident(outcome.incident_id)
    assert incident.status == "fixed"
    assert {f["kind"] for f in incident.findings} >= {"cpu_zombie", "log_stale"}
    # Forensics were taken before the kill: the zombie's process state and its last log lines.
    (proc,) = incident.forensics["processes"]
    assert proc["pid"] == zombie_pid and min(proc["cpu_percent_samples"]) >= 10
    (tail,) = incident.forensics["log_tail"].values()
    assert any("frame processed" in line for line in tail)
    assert [(a["tier"], a["ok"]) for a in incident.actions] == [("restart", True), ("restart", True)]
    assert wd.states.load("gate").restart_attempts == 1
    # The next healthy check resets the counter: a recovered service carries no baggage.
    assert wd.check_once().outcomes["gate"].report == "nominal"
    assert wd.states.load("gate").restart_attempts == 0


def test_a_daemon_that_keeps_dying_uses_three_attempts_then_reaches_a_human_through_apprise(
    daemons, sqlite_db
):
    d = daemons()
    with NotificationReceiver() as rx:
        wd = Watchdog(
            watchdog_config({"gate": d.service()}), sqlite_db, AppriseNotifier([rx.apprise_url("json")])
        )
        wd.check_once()
        d.set_mode("exit")  # every restart reads this and dies again
        wait_until(lambda: not d.pids(), 10, "daemon exit")
        report = wd.check_once()
        outcome = report.outcomes["gate"]
        assert outcome.report == "needs_human" and outcome.attempts == 3
        incident = wd.incident(outcome.incident_id)
        restarts = [a for a in incident.actions if a["action"].startswith("restart")]
        verifies = [a for a in incident.actions if a["action"].startswith("verify")]
        assert len(restarts) == 3 and len(verifies) == 3 and not any(v["ok"] for v in verifies)
        assert incident.status == "needs_human"
        msg = rx.wait_for(lambda r: "Needs manual intervention" in r.body.decode(), timeout=10)
        body = msg.json()
        assert f"Incident: {outcome.incident_id}" in body["message"]
        assert "Restart attempts: 3" in body["message"] and "NOT RUNNING" in body["message"]
        # Still broken at the next check: no fourth restart, and no second message.
        again = wd.check_once().outcomes["gate"]
        assert again.report == "needs_human" and again.attempts == 3
        assert (
            len([a for a in wd.incident(outcome.incident_id).actions if a["action"].startswith("restart")])
            == 3
        )
        time.sleep(0.3)  # give a wrongly sent second message time to arrive; not a synchronisation
        assert len(rx.received) == 1


def _git_repo_daemon(daemons):
    d = daemons("camera-monitor", start=False)
    (d.dir / ".gitignore").write_text("*.log\n*.tmp\n")
    d.set_mode("serious")  # the "bug": the code writes to a corrupt table
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run(["git", "init", "-q"], cwd=d.dir, check=True)
    subprocess.run([*git, "add", "."], cwd=d.dir, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "initial"], cwd=d.dir, check=True)
    d.start()
    wait_until(lambda: "malformed" in d.log.read_text(), 10, "serious errors")
    return d


def test_tier2_claude_fixes_the_code_in_the_repo_commits_and_the_fix_is_verified(
    daemons, sqlite_db, monkeypatch, tmp_path
):
    d = _git_repo_daemon(daemons)
    record = tmp_path / "claude-argv.json"
    monkeypatch.setenv("PATH", f"{STANDINS / 'fixer'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("CLAUDE_STANDIN_RECORD", str(record))
    monkeypatch.setenv("CLAUDE_STANDIN_FIX_FILE", "control")
    config = watchdog_config(
        {"camera-monitor": d.service(repo=str(d.dir))}, max_restart_attempts=1, claude={"enabled": True}
    )
    with NotificationReceiver() as rx:
        wd = Watchdog(config, sqlite_db, AppriseNotifier([rx.apprise_url("json")]))
        report = wd.check_once()
        outcome = report.outcomes["camera-monitor"]
        assert outcome.report == "code_fixed", wd.incident(outcome.incident_id).actions
        assert "commit" in outcome.detail
        log = subprocess.run(["git", "log", "--oneline"], cwd=d.dir, capture_output=True, text=True).stdout
        assert "watchdog: stop writing to the corrupt table" in log
        argv = json.loads(record.read_text())
        assert argv["cwd"] == str(d.dir)
        assert argv["argv"][argv["argv"].index("--output-format") + 1] == "json"
        assert "Bash(git commit:*)" in argv["argv"][argv["argv"].index("--allowedTools") + 1]
        assert "--dangerously-skip-permissions" not in argv["argv"]
        prompt = argv["argv"][argv["argv"].index("-p") + 1]
        assert "malformed" in prompt and "What tier 1 tried" in prompt
        incident = wd.incident(outcome.incident_id)
        assert incident.status == "code_fixed"
        assert [a["tier"] for a in incident.actions] == ["restart", "restart", "claude", "claude", "claude"]
        msg = rx.wait_for(lambda r: "Claude auto-fix applied" in r.body.decode(), timeout=10)
        assert f"Incident: {outcome.incident_id}" in msg.json()["message"]
        assert wd.check_once().outcomes["camera-monitor"].report == "nominal"


def test_the_real_claude_cli_without_login_is_a_failed_tier_and_the_human_is_called(daemons, sqlite_db):
    claude = node_bin("claude")
    require(claude is not None, "Claude Code CLI (@anthropic-ai/claude-code) is not installed under .tools/")
    d = _git_repo_daemon(daemons)
    config = watchdog_config(
        {"camera-monitor": d.service(repo=str(d.dir))},
        max_restart_attempts=1,
        claude={"enabled": True, "binary": claude, "timeout_s": 120},
    )
    with NotificationReceiver() as rx:
        wd = Watchdog(config, sqlite_db, AppriseNotifier([rx.apprise_url("json")]))
        outcome = wd.check_once().outcomes["camera-monitor"]
        assert outcome.report == "needs_human"
        assert outcome.claude is not None and outcome.claude["is_error"] is True and not outcome.claude["ok"]
        assert outcome.claude["returncode"] not in (None, 0)
        (claude_action,) = [a for a in wd.incident(outcome.incident_id).actions if a["tier"] == "claude"]
        assert claude_action["ok"] is False
        msg = rx.wait_for(lambda r: "Needs manual intervention" in r.body.decode(), timeout=10)
        assert "Claude attempted a fix but failed" in msg.json()["message"]
        # One Claude attempt per period: the next check goes straight to the human tier.
        wd.check_once()
        assert len([a for a in wd.incident(outcome.incident_id).actions if a["tier"] == "claude"]) == 1


def test_a_hanging_claude_is_killed_at_the_timeout_with_its_children(tmp_path, monkeypatch):
    pids_file = tmp_path / "pids"
    monkeypatch.setenv("PATH", f"{STANDINS / 'hang'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("CLAUDE_STANDIN_PIDS", str(pids_file))
    outcome = ClaudeRunner(ClaudeTierConfig(enabled=True, timeout_s=1.5)).run(tmp_path, "fix it")
    assert outcome.timed_out and not outcome.ok
    parent, child = (int(p) for p in pids_file.read_text().split())

    def gone(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    wait_until(lambda: gone(parent) and gone(child), 10, "claude and its child to die")


def test_claude_with_skip_permissions_refuses_to_run_as_root(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)  # Claude Code refuses the flag as root
    outcome = ClaudeRunner(ClaudeTierConfig(enabled=True, skip_permissions=True, binary="sh")).run(
        tmp_path, "x"
    )
    assert not outcome.ok and "root" in outcome.summary
