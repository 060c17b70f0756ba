"""Escalation state lives in the database (SQLite and MariaDB) and survives a hub restart."""

from __future__ import annotations

from pathlib import Path

from homelab_hub.server.components import all_migrations
from homelab_hub.store import Database, migrate
from homelab_hub.watchdog.engine import Watchdog
from homelab_hub.watchdog.store import StateStore
from tests.support import wait_until
from tests.watchdog.support import actions, watchdog_config


def test_escalation_state_survives_a_restart_and_resets_after_the_stable_period(daemons, db_url):
    d = daemons()
    config = watchdog_config({"gate": d.service()}, max_restart_attempts=2, stable_minutes=0.02)
    first_db = Database.from_url(db_url)
    migrate(first_db, all_migrations())
    first = Watchdog(config, first_db)
    first.check_once()
    d.set_mode("exit")
    wait_until(lambda: not d.pids(), 10, "daemon exit")
    outcome = first.check_once().outcomes["gate"]
    assert outcome.report == "needs_human"
    assert outcome.attempts == 2
    first.close()
    first_db.close()

    # A new hub process: fresh engine, fresh connection, same database.
    db = Database.from_url(db_url)
    second = Watchdog(config, db)
    (row,) = [r for r in second.status() if r.name == "gate"]
    assert row.state == "needs_human"
    assert row.restart_attempts == 2
    assert row.last_incident_id == outcome.incident_id
    assert any("NOT RUNNING" in f for f in row.findings)
    again = second.check_once().outcomes["gate"]
    assert again.report == "needs_human"
    assert again.incident_id == outcome.incident_id
    assert len(actions(second.incident(outcome.incident_id), "restart")) == 2, (
        "the restart budget was refilled"
    )

    d.set_mode("normal")
    d.start()  # a human fixed it
    assert second.check_once().outcomes["gate"].report == "nominal"
    assert second.incident(outcome.incident_id).status == "resolved"
    assert StateStore(db).load("gate").state == "recovering"

    def stable() -> bool:
        second.check_once()
        return StateStore(db).load("gate").state == "healthy"

    wait_until(stable, 20, "the stable period")
    assert StateStore(db).load("gate").restart_attempts == 0
    db.close()


def _one_run(config, db):
    """One ``watchdog --once``: its own engine, released at the end like the CLI does."""
    wd = Watchdog(config, db)
    try:
        return wd.check_once()
    finally:
        wd.close()


def test_log_cursors_persist_so_an_error_is_reported_by_exactly_one_run(daemons, sqlite_db, tmp_path: Path):
    d = daemons()
    config = watchdog_config({"gate": d.service()}, max_restart_attempts=1)
    _one_run(config, sqlite_db)
    with open(d.log, "a") as fh:
        fh.write("ERROR checksum mismatch in frame store\n")
    first = _one_run(config, sqlite_db).outcomes["gate"]
    assert any(f.kind == "serious_errors" for f in first.findings)
    # A later run (as from cron) starts where the previous one stopped reading.
    assert _one_run(config, sqlite_db).outcomes["gate"].report == "nominal"
