"""Watch the watchdog: a dead-man's-switch URL gets one GET per completed check, and the
"no notification target" warning is said once, not after every check."""

from __future__ import annotations

import logging
import time

from homelab_hub.config import SupervisorConfig
from homelab_hub.supervisor import Supervisor
from homelab_hub.watchdog.engine import Watchdog, WatchdogWorker
from tests.fakes.http import FakeHTTPServer, Reply
from tests.support import wait_until
from tests.watchdog.support import watchdog_config

PUSH = "/api/push/Xk2vH7"  # an Uptime Kuma push monitor; healthchecks.io takes the same GET


def test_the_dead_man_url_gets_one_get_per_completed_check_and_none_once_checks_stop(daemons, sqlite_db):
    d = daemons()
    with FakeHTTPServer({("GET", PUSH): lambda req: Reply(200, {"ok": True})}) as kuma:
        config = watchdog_config(
            {"gate": d.service()}, interval_s=0.2, cpu_samples=1, deadman_url=f"{kuma.url}{PUSH}?status=up"
        )
        wd = Watchdog(config, sqlite_db)
        sup = Supervisor(SupervisorConfig(backoff_initial_s=0.05), db=sqlite_db, tick_s=0.05)
        sup.add("watchdog", lambda: WatchdogWorker(wd))
        sup.start()
        try:
            wait_until(lambda: wd.checks_completed >= 3, 30, "three checks")
        finally:
            sup.stop()
        pings = [r for r in kuma.requests if (r.method, r.path) == ("GET", PUSH)]
        assert len(pings) == wd.checks_completed
        assert len(kuma.requests) == len(pings)
        assert wd.deadman.state()["last_ok"] is True
        time.sleep(1.0)  # five intervals: give a ping from a stopped watchdog time to arrive; not a sync
        assert len(kuma.requests) == wd.checks_completed


def test_no_notification_target_is_said_once_at_start_not_after_every_check(daemons, sqlite_db, caplog):
    d = daemons()
    with caplog.at_level(logging.INFO, logger="homelab_hub.watchdog"):
        wd = Watchdog(watchdog_config({"gate": d.service()}, notify="every_check", cpu_samples=1), sqlite_db)
        wd.check_once()
        wd.check_once()
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert messages == [
        "watchdog: no notification target is configured (notify.apprise_urls is empty); "
        "reports are only in watchdog_status, /api/health and this log"
    ]
