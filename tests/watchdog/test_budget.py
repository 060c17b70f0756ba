"""The restart budget: counted over a sliding window, forgiven only after a stable period, and
a fault that keeps coming back reaches a human with its whole history."""

from __future__ import annotations

import re
import time

from homelab_hub.notify.apprise import AppriseNotifier
from homelab_hub.watchdog.budget import Budget
from homelab_hub.watchdog.engine import Watchdog
from homelab_hub.watchdog.records import ServiceState
from tests.fakes.receiver import NotificationReceiver
from tests.support import wait_until
from tests.watchdog.support import actions, watchdog_config


def test_restarts_stop_counting_when_they_leave_the_window():
    budget = Budget(watchdog_config({}, max_restart_attempts=2, restart_window_minutes=1))
    st = ServiceState("gate")
    budget.record(st, 7, True, at=1000.0)
    budget.record(st, 7, True, at=1030.0)
    assert budget.left(st, now=1031.0) == 0
    assert budget.left(st, now=1061.0) == 1
    assert budget.left(st, now=1091.0) == 2


def test_backoff_doubles_from_the_second_restart_up_to_its_cap():
    budget = Budget(watchdog_config({}, restart_backoff_s=0.2, restart_backoff_max_s=1.0))
    assert [budget.backoff_s(n) for n in range(6)] == [0.0, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_a_fault_that_comes_back_after_every_restart_reaches_a_human_within_the_budget(daemons, sqlite_db):
    # The daemon: logs, then deadlocks spinning a short while after every start.
    d = daemons("gate", "--spin-after", "1.0")
    config = watchdog_config(
        {"gate": d.service()}, max_restart_attempts=2, restart_window_minutes=1, stable_minutes=1
    )
    with NotificationReceiver() as rx:
        wd = Watchdog(config, sqlite_db, AppriseNotifier([rx.apprise_url("json")]))

        def human():
            outcome = wd.check_once().outcomes["gate"]
            return outcome if outcome.report == "needs_human" else None

        outcome = wait_until(human, 90, "the recurring fault to reach tier 3")
        assert outcome.attempts == 2
        incident = wd.incident(outcome.incident_id)
        # One incident tells the whole story: two restarts, two recurrences, then the human.
        assert len(actions(incident, "restart", tier="restart")) == 2
        assert len(actions(incident, "recurred")) == 2
        assert [a["tier"] for a in incident.actions][-1] == "human"
        assert incident.status == "needs_human"
        msg = rx.wait_for(lambda r: "Needs manual intervention" in r.body.decode(), timeout=10)
        body = msg.json()["message"]
        assert f"Incident: {outcome.incident_id}" in body
        assert re.search(
            r"Restart history: 2 restart\(s\) within \d+\.\d min \(budget 2 per 1 min\): "
            r"\d\d:\d\d:\d\d verified, \d\d:\d\d:\d\d verified",
            body,
        ), body
        # The budget holds: more checks of the still-broken service restart nothing.
        wd.check_once()
        wd.check_once()
        assert len(actions(wd.incident(outcome.incident_id), "restart", tier="restart")) == 2
        assert wd.states.load("gate").restart_attempts == 2


def test_a_service_that_stays_healthy_for_the_stable_period_has_its_budget_reset(daemons, sqlite_db):
    d = daemons()
    wd = Watchdog(watchdog_config({"gate": d.service()}, stable_minutes=0.03), sqlite_db)
    wd.check_once()
    d.set_mode("spin")
    d.quiet()
    d.set_mode("normal")
    outcome = wd.check_once().outcomes["gate"]
    assert outcome.report == "fixed"
    assert wd.states.load("gate").restart_attempts == 1

    def reset() -> bool:
        wd.check_once()
        return wd.states.load("gate").restart_attempts == 0

    wait_until(reset, 30, "the stable period to reset the budget")
    state = wd.states.load("gate")
    assert state.state == "healthy"
    assert time.time() - (state.stable_since or 0) >= 0.03 * 60
    (stable,) = actions(wd.incident(outcome.incident_id), "stable")
    assert stable["detail"] == "healthy for 0.03 min: restart budget reset (1 restart(s) forgiven)"
