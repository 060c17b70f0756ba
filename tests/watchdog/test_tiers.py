"""Tier 1 against real processes: restart within the budget, backing off, then a human."""

from __future__ import annotations

import os
import time

import psutil

from homelab_hub.notify.apprise import AppriseNotifier
from homelab_hub.watchdog.claude import ClaudeRunner
from homelab_hub.watchdog.config import ClaudeTierConfig
from homelab_hub.watchdog.engine import Watchdog
from homelab_hub.watchdog.prompt import EscalationPrompt
from tests.fakes.receiver import NotificationReceiver
from tests.support import wait_until
from tests.watchdog.support import STANDINS, actions, kinds, watchdog_config


def test_tier1_kills_a_spinning_daemon_restarts_it_by_command_and_verifies_it(daemons, sqlite_db):
    d = daemons()
    wd = Watchdog(watchdog_config({"gate": d.service()}), sqlite_db)
    assert wd.check_once().outcomes["gate"].report == "nominal"
    d.set_mode("spin")
    d.quiet()
    (zombie_pid,) = d.pids()
    d.set_mode("normal")  # the restarted process starts healthy: the deadlock was a fluke
    outcome = wd.check_once().outcomes["gate"]
    assert outcome.report == "fixed", outcome
    assert not psutil.pid_exists(zombie_pid) or psutil.Process(zombie_pid).status() == psutil.STATUS_ZOMBIE
    (new_pid,) = d.pids()
    assert new_pid != zombie_pid
    incident = wd.incident(outcome.incident_id)
    assert incident.status == "fixed"
    assert [f["kind"] for f in incident.findings] == ["spinning"]
    # Forensics were taken before the kill: the spinning process's state and its last log lines.
    (proc,) = incident.forensics["processes"]
    assert proc["pid"] == zombie_pid
    assert min(proc["cpu_percent_samples"]) >= 10
    (tail,) = incident.forensics["log_tail"].values()
    assert any("frame processed" in line for line in tail)
    assert [(a["tier"], a["ok"]) for a in incident.actions] == [("restart", True), ("restart", True)]
    assert wd.states.load("gate").restart_attempts == 1
    # One healthy check is not a stable period: the restart still counts against the budget.
    assert wd.check_once().outcomes["gate"].report == "nominal"
    state = wd.states.load("gate")
    assert state.state == "recovering"
    assert state.restart_attempts == 1


def test_a_daemon_that_stops_logging_and_sleeps_is_found_hung_restarted_and_recovers(daemons, sqlite_db):
    d = daemons()
    wd = Watchdog(watchdog_config({"gate": d.service()}), sqlite_db)
    wd.check_once()
    d.set_mode("hang")
    d.quiet()
    (hung_pid,) = d.pids()
    d.set_mode("normal")
    outcome = wd.check_once().outcomes["gate"]
    assert outcome.report == "fixed"
    assert kinds(outcome.findings) == {"hung"}
    assert f"PID {hung_pid} idles at" in outcome.findings[0].message
    (new_pid,) = d.pids()
    assert new_pid != hung_pid
    assert wd.check_once().outcomes["gate"].report == "nominal"
    assert wd.status()[0].details["label"] is None


def test_a_daemon_that_keeps_dying_spends_its_budget_backing_off_then_a_human_hears_through_apprise(
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
        assert outcome.report == "needs_human"
        assert outcome.attempts == 3
        incident = wd.incident(outcome.incident_id)
        restarts = actions(incident, "restart")
        verifies = actions(incident, "verify")
        assert len(restarts) == 3
        assert [v["ok"] for v in verifies] == [False, False, False]
        # Backoff before the 2nd and 3rd restart: 0.2 s, doubling; never restarted sooner.
        assert [r["backoff_s"] for r in restarts] == [0.0, 0.2, 0.4]
        assert restarts[1]["ts"] - restarts[0]["ts"] >= 0.2
        assert restarts[2]["ts"] - restarts[1]["ts"] >= 0.4
        assert [r["attempt"] for r in restarts] == [1, 2, 3]
        assert incident.status == "needs_human"
        msg = rx.wait_for(lambda r: "Needs manual intervention" in r.body.decode(), timeout=10)
        body = msg.json()["message"]
        assert f"Incident: {outcome.incident_id}" in body
        assert "Restart attempts: 3" in body
        assert "Restart history: 3 restart(s) within" in body
        assert "NOT RUNNING" in body
        # Still broken at the next check: no fourth restart, and no second message.
        again = wd.check_once().outcomes["gate"]
        assert again.report == "needs_human"
        assert again.attempts == 3
        assert len(actions(wd.incident(outcome.incident_id), "restart")) == 3
        time.sleep(0.3)  # give a wrongly sent second message time to arrive; not a synchronisation
        assert len(rx.received) == 1


def test_a_hanging_claude_is_killed_at_the_timeout_with_its_children(tmp_path, monkeypatch):
    pids_file = tmp_path / "pids"
    monkeypatch.setenv("PATH", f"{STANDINS / 'hang'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("CLAUDE_STANDIN_PIDS", str(pids_file))
    prompt = EscalationPrompt(text="fix it", system="rule", fence="0")
    outcome = ClaudeRunner(ClaudeTierConfig(enabled=True, timeout_s=1.5)).run(tmp_path, prompt)
    assert outcome.timed_out
    assert not outcome.ok
    parent, child = (int(p) for p in pids_file.read_text().split())

    def gone(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    wait_until(lambda: gone(parent) and gone(child), 10, "claude and its child to die")


def test_a_manual_restart_of_a_service_waiting_for_a_human_is_recorded_in_its_open_incident(
    daemons, sqlite_db
):
    d = daemons()
    wd = Watchdog(watchdog_config({"gate": d.service()}, max_restart_attempts=1), sqlite_db)
    wd.check_once()
    d.set_mode("exit")
    wait_until(lambda: not d.pids(), 10, "daemon exit")
    waiting = wd.check_once().outcomes["gate"]
    assert waiting.report == "needs_human"
    d.set_mode("normal")  # the human fixed the cause, and restarts it
    manual = wd.restart("gate", requested_by="ops via rest")
    assert manual.ok
    (note,) = actions(wd.incident(waiting.incident_id), "restart by ops")
    assert note["detail"] == f"see incident {manual.incident_id}"
    assert wd.check_once().outcomes["gate"].report == "nominal"
    assert wd.incident(waiting.incident_id).status == "resolved"
