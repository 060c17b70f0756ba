"""A running hub follows rows other writers commit, ordered by the database, not by clocks."""

from __future__ import annotations

import time

from homelab_hub.memory.store import MemoryStore
from homelab_hub.store import Database
from tests.memory.support_follow import FOLLOW_S, cli_import, found
from tests.support import wait_until


def test_rows_from_a_writer_whose_clock_is_a_minute_behind_are_searchable_on_a_running_hub(
    memory_hub, embedder
):
    hub = memory_hub.hub
    memory_hub.ok("memory_save", {"content": "The NAS is nas-01 at 192.168.1.30."})
    text = "Zigbee2MQTT runs on pi-zb with the Sonoff dongle at /dev/ttyUSB0."
    writer = Database.from_url(hub.config.storage.url)  # another process's connection
    try:
        MemoryStore(writer, embedder.id).insert(
            "alice", text, "", [], "", "", embedder.embed_one(text), now=time.time() - 60
        )
    finally:
        writer.close()
    wait_until(
        lambda: found(hub, "which dongle does zigbee2mqtt use", "Sonoff", memory_hub.alice),
        timeout=FOLLOW_S,
        what="the skewed writer's row in search",
    )


def test_a_cli_import_into_a_running_hub_is_searchable_at_once(hub_factory, tmp_path, embedder):
    # Persisting (and, before, following the table) every hour: only the change poll can find it.
    hub = hub_factory({"memory": {"persist_interval_s": 3600}})
    wait_until(lambda: hub.services.memory.ready, timeout=120, what="memory to load")
    cli_import(
        hub, tmp_path, "# Printer\n\n## Toner\n\nThe Brother HL-L2350 in the office takes TN-2420 toner.\n"
    )
    wait_until(
        lambda: found(hub, "which toner does the office printer take", "TN-2420"),
        timeout=FOLLOW_S,
        what="the imported note in search",
    )
