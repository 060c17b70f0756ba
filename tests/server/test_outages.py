"""The hub heals by itself: a database outage and a full disk, each longer than the old
supervisor's patience (six restarts in ~31 s, then "failed" for good), end with health back
to 200 and new rows searchable, without restarting the hub.

Long by nature: the faults last 90 s and 60 s, as the issue's probe found them (run side by
side, on two hubs, so the test takes about two minutes). HOMELAB_HUB_OUTAGE_S and
HOMELAB_HUB_DISK_FULL_S change the durations for a longer soak or a quicker look.
"""

from __future__ import annotations

import logging
import os
import time

import httpx
import pytest

from homelab_hub.server.logs import FORMAT, LogFileHandler
from tests.memory.support_follow import FOLLOW_S, cli_import, found
from tests.server.faults import Relay, fill, small_disk
from tests.support import wait_until

OUTAGE_S = float(os.environ.get("HOMELAB_HUB_OUTAGE_S", "90"))
DISK_FULL_S = float(os.environ.get("HOMELAB_HUB_DISK_FULL_S", "60"))
RECOVER_S = 30.0  # health must be 200 again this soon after the fault ends


def storage_detail(hub) -> str:  # type: ignore[no-untyped-def]
    try:
        body = hub.get("/api/health").json()
    except httpx.HTTPError as exc:
        return f"no answer: {exc}"
    return str(body["components"]["storage"]["detail"])


def healthy(hub) -> bool:  # type: ignore[no-untyped-def]
    try:
        return bool(hub.get("/api/health").status_code == 200)
    except httpx.HTTPError:
        return False


def until(deadline: float) -> None:
    """Let the fault last: the outage has a length, there is nothing to wait for."""
    time.sleep(max(0.0, deadline - time.monotonic()))


def test_the_hub_heals_by_itself_after_a_database_outage_and_a_full_disk(hub_factory, mysql_url, tmp_path):
    relay = Relay(3306)
    with small_disk(tmp_path / "small") as disk:
        db_hub = hub_factory(
            {
                "storage": {"url": mysql_url.replace(":3306/", f":{relay.port}/")},
                "memory": {"persist_interval_s": 5},
            }
        )
        disk_hub = hub_factory(
            {
                "server": {"data_dir": str(disk / "data")},
                "storage": {"url": f"sqlite:///{disk}/hub.db"},
                "memory": {"persist_interval_s": 3600},
            }
        )
        for hub in (db_hub, disk_hub):
            wait_until(lambda h=hub: healthy(h) and h.services.memory.ready, 120, "the hub to be ready")
            assert (
                hub.rest("memory_save", {"content": "The UPS is an APC SMT1500 in the rack."}).status_code
                == 200
            )
        log_file = disk / "hub.log"
        file_log = LogFileHandler(log_file, maxBytes=1 << 20, backupCount=1, encoding="utf-8")
        file_log.setFormatter(logging.Formatter(FORMAT))
        logger = logging.getLogger("tests.outage")
        logger.addHandler(file_log)
        index_tmp = disk / "data" / "memory" / "vectors-4bit.tmp.npz"
        try:
            started = time.monotonic()
            relay.cut()
            filler = fill(disk)

            # During the faults: each says what is wrong, and only that.
            wait_until(lambda: storage_detail(db_hub).startswith("cannot read"), 30, "db outage in health")
            assert (
                disk_hub.rest("memory_save", {"content": "Saved while the disk is full."}).status_code == 503
            )
            wait_until(lambda: storage_detail(disk_hub).startswith("cannot write"), 30, "full disk in health")
            with pytest.raises(OSError):
                disk_hub.services.memory.persist(force=True)
            assert not index_tmp.exists()  # no 0-byte leftover
            for n in range(3):
                logger.warning("record %d while the disk is full", n)

            until(started + DISK_FULL_S)
            filler.unlink()
            freed = time.monotonic()
            wait_until(lambda: healthy(disk_hub), RECOVER_S, "health 200 after the disk has room")
            disk_recovery = time.monotonic() - freed
            assert (
                disk_hub.rest("memory_save", {"content": "Saved once the disk has room."}).status_code == 200
            )
            logger.warning("written once the disk has room")
            text = log_file.read_text()
            assert "3 log record(s) could not be written to this file" in text
            assert "written once the disk has room" in text

            until(started + OUTAGE_S)
            relay.restore()
            back = time.monotonic()
            wait_until(lambda: healthy(db_hub), RECOVER_S, "health 200 after the database is back")
            db_recovery = time.monotonic() - back
            cli_import(
                db_hub,
                tmp_path,
                "# Garage\n\n## Door\n\nThe garage door opener is a Hörmann SupraMatic E3.\n",
            )
            imported = time.monotonic()
            wait_until(
                lambda: found(db_hub, "which garage door opener do we have", "SupraMatic"),
                FOLLOW_S,
                "the import after the outage in search",
            )
            print(
                f"\nhealth back to 200: {db_recovery:.1f} s after a {OUTAGE_S:.0f} s database outage, "
                f"{disk_recovery:.1f} s after {DISK_FULL_S:.0f} s of full disk; import searchable "
                f"{time.monotonic() - imported:.1f} s after it finished"
            )
        finally:
            logger.removeHandler(file_log)
            file_log.close()
            relay.close()
            for hub in (db_hub, disk_hub):
                hub.stop()
