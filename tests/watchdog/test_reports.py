"""Reports after each check, and the hub's own workers watched through their heartbeats."""

from __future__ import annotations

import threading

from homelab_hub.config import SupervisorConfig
from homelab_hub.notify.apprise import AppriseNotifier
from homelab_hub.supervisor import Supervisor
from homelab_hub.watchdog.engine import Watchdog
from tests.fakes.receiver import NotificationReceiver
from tests.support import wait_until
from tests.watchdog.support import watchdog_config


def test_every_check_is_reported_when_configured_and_only_changes_by_default(daemons, sqlite_db):
    d = daemons()
    with NotificationReceiver() as rx:
        notifier = AppriseNotifier([rx.apprise_url("json")])
        chatty = Watchdog(
            watchdog_config({"gate": d.service()}, notify="every_check", cpu_samples=1), sqlite_db, notifier
        )
        chatty.check_once()
        chatty.check_once()
        wait_until(lambda: len(rx.received) == 2, 10, "two reports")
        assert [r.json()["title"] for r in rx.received] == ["Homelab watchdog — ✅ All systems nominal"] * 2
        chatty.close()
        quiet = Watchdog(watchdog_config({"gate": d.service()}, cpu_samples=1), sqlite_db, notifier)
        quiet.check_once()
        assert quiet.last_report is not None
        assert quiet.last_report.changed == []
        assert len(rx.received) == 2


class _Worker:
    heartbeat_timeout = None

    def __init__(self, name: str, crash: bool) -> None:
        self.name, self.crash = name, crash

    def run(self, ctx) -> None:
        if self.crash:
            raise RuntimeError("camera decoder lost its stream")
        while not ctx.wait(0.05):
            ctx.beat(last_frame_age_s=0.1, fps=5.0)


def test_hub_workers_are_reported_fixed_after_a_supervisor_restart_and_crash_looping_ones_need_a_human(
    sqlite_db,
):
    sup = Supervisor(
        SupervisorConfig(backoff_initial_s=0.05, max_restarts=2, restart_window_s=60),
        db=sqlite_db,
        tick_s=0.05,
    )
    flaky_runs = {"n": 0}
    lock = threading.Lock()

    def flaky() -> _Worker:
        with lock:
            flaky_runs["n"] += 1
            return _Worker("camera:gate", crash=flaky_runs["n"] == 1)

    sup.add("camera:gate", flaky)
    sup.add("camera:yard", lambda: _Worker("camera:yard", crash=True))
    wd = Watchdog(watchdog_config({}), sqlite_db, supervisor=sup)
    sup.start()
    try:
        wait_until(lambda: sup.states()["camera:yard"].state == "crash-looping", 10, "yard worker to loop")
        wait_until(
            lambda: sup.states()["camera:gate"].state == "running" and flaky_runs["n"] == 2,
            10,
            "gate restart",
        )
        report = wd.check_once()
        assert report.outcomes["worker:camera:yard"].report == "needs_human"
        assert "camera decoder lost its stream" in report.outcomes["worker:camera:yard"].findings[0].message
        assert report.outcomes["worker:camera:gate"].report in ("fixed", "nominal")
        rows = {r.name: r for r in wd.status()}
        assert rows["worker:camera:gate"].details["fps"] == 5.0
        assert rows["worker:camera:yard"].state == "crash-looping"
        assert wd.check_once().outcomes["worker:camera:gate"].report == "nominal"
        assert report.needs_human == ["worker:camera:yard"]
    finally:
        sup.stop()
