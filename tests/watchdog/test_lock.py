"""One state, one writer: a lease in the database (SQLite and MariaDB), and `watchdog --once`
refusing, acting on nothing, while a hub holds it."""

from __future__ import annotations

import re
import subprocess
import sys

import tomli_w

from homelab_hub.store import Database
from homelab_hub.watchdog.lock import WatchdogLock, WatchdogLocked
from homelab_hub.watchdog.store import IncidentStore, LockStore, StateStore
from tests.support import wait_until
from tests.watchdog.support import FAST, HUB


def test_the_lease_has_one_holder_until_it_is_released_or_expires(db):
    store = LockStore(db)
    assert store.acquire("hub", "the hub (pid 1 on a)", lease_s=60) is None
    other = store.acquire("cron", "cron (pid 2 on a)", lease_s=60)
    assert other is not None
    assert other.owner == "hub"
    assert other.holder == "the hub (pid 1 on a)"
    assert store.acquire("hub", "the hub (pid 1 on a)", lease_s=60) is None  # a renewal
    store.release("hub")
    assert store.acquire("cron", "cron (pid 2 on a)", lease_s=0.01) is None
    # A holder that stopped renewing (it died) loses the lease once it expires.
    wait_until(lambda: store.acquire("hub", "the hub (pid 1 on a)", lease_s=60) is None, 5, "expiry")
    assert store.holder().owner == "hub"


def test_a_second_watchdog_is_refused_with_who_holds_the_lock(db):
    first = WatchdogLock(db, "the hub", lease_s=60)
    second = WatchdogLock(db, "homelab-hub watchdog --once", lease_s=60)
    first.acquire()
    try:
        second.acquire()
    except WatchdogLocked as exc:
        refused = exc
    else:
        raise AssertionError("the second watchdog took a held lock")
    assert refused.status == 409
    assert re.match(
        r"the watchdog is already run by the hub \(pid \d+ on [^)]+\) \(lock held since ", refused.message
    )
    assert refused.message.endswith(
        "this run checks and restarts nothing. Run the watchdog in one place: in the hub "
        "(watchdog.enabled = true) or from cron with the hub's watchdog.enabled = false."
    )


def test_watchdog_once_while_the_hub_holds_the_lock_exits_with_a_clear_message_and_acts_on_nothing(
    hub_factory, daemons, tmp_path
):
    hub = hub_factory({**HUB, "watchdog": {**FAST, "services": {}}})
    wait_until(lambda: LockStore(hub.services.db).holder() is not None, 20, "the hub's first check")
    # cron's config watches a dead service: acting on it would start the daemon and record an incident.
    d = daemons("ghost", start=False)
    config = tmp_path / "cron.toml"
    config.write_text(
        tomli_w.dumps(
            {
                "storage": {"url": hub.config.storage.url},
                "watchdog": {**FAST, "services": {"ghost": d.service()}},
            }
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "homelab_hub.server.cli", "--config", str(config), "watchdog", "--once"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 75, done.stderr
    assert re.search(r"^homelab-hub: the watchdog is already run by the hub \(pid \d+ on ", done.stderr, re.M)
    assert "this run checks and restarts nothing" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert d.pids() == []
    db = Database.from_url(hub.config.storage.url)
    try:
        assert IncidentStore(db).recent() == []
        assert StateStore(db).load("ghost").last_check_at is None
    finally:
        db.close()
