"""Two hubs on one MariaDB follow each other's memory saves: within 2 s by the change notices
they send over the machine's Mosquitto, and by polling the table without a broker (or while
it cannot be reached)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.memory.support_follow import FOLLOW_S, found
from tests.support import free_port, port_open, require, wait_until

NOTICE_S = 2.0  # issue 28: hubs with a broker see each other's saves within 2 s
QUIET_POLL_S = 30.0  # with the link up, so that only a notice explains a quick follow

Hubs = Callable[..., tuple[Any, Any]]


@pytest.fixture
def two_hubs(request) -> Iterator[Hubs]:
    """``two_hubs(broker=None|"mosquitto"|"unreachable")``: hubs a and b on one fresh MariaDB
    database, with memory loaded. With a broker both use a prefix and names of their own, so
    tests never hear each other's notices."""
    url = request.getfixturevalue("mysql_url")  # before hub_factory: the hubs stop first
    request.getfixturevalue("embedder")  # the model once, before the hubs want it
    tag = uuid.uuid4().hex[:10]
    names: list[str] = []

    def make(broker: str | None = None, **memory: Any) -> tuple[Any, Any]:
        if broker == "mosquitto":
            require(port_open("127.0.0.1", 1883), "Mosquitto is not listening on 127.0.0.1:1883")
        hubs = []
        for side in ("a", "b"):
            overrides: dict[str, Any] = {
                "storage": {"url": url},
                # Persisting (which also looks at the table) every hour: only the follow counts.
                "memory": {"persist_interval_s": 3600, **memory},
            }
            if broker is not None:
                port = 1883 if broker == "mosquitto" else free_port()
                name = f"{side}-{tag}"
                names.append(name)
                overrides["broker"] = {
                    "host": "127.0.0.1",
                    "port": port,
                    "prefix": f"test-{tag}",
                    "name": name,
                }
            hubs.append(request.getfixturevalue("hub_factory")(overrides))
        for hub in hubs:
            wait_until(lambda h=hub: h.services.memory.ready, timeout=120, what="memory to load")
            if broker == "mosquitto":
                wait_until(
                    lambda h=hub: h.services.link.connected.is_set(), timeout=10, what="the broker link"
                )
        return hubs[0], hubs[1]

    yield make
    _drop_sessions(names)


def _drop_sessions(names: list[str]) -> None:
    """A hub's session at the broker outlives it (a week, for queued alerts): end the ones
    these tests made on the shared Mosquitto."""
    if not names or not port_open("127.0.0.1", 1883):
        return
    for name in names:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"homelab-hub-{name}", protocol=mqtt.MQTTv5
        )
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 0
        try:
            client.connect("127.0.0.1", 1883, clean_start=True, properties=props)
            client.loop(0.5)
            client.disconnect()
        except OSError:
            pass


def _follow_seconds(
    writer: Any, reader: Any, text: str, query: str, needle: str, deadline: float
) -> tuple[float, float]:
    """Save ``text`` on ``writer``; seconds until ``reader`` has followed the change (its
    caches hold the save's change number) and until a search there finds it."""
    res = writer.rest("memory_save", {"content": text})
    assert res.status_code == 200, res.text
    saved = time.monotonic()
    seq = writer.services.memory.store.change_seq()
    while reader.services.memory.seen_seq < seq and time.monotonic() - saved < deadline:
        time.sleep(0.002)
    synced = time.monotonic() - saved
    wait_until(
        lambda: found(reader, query, needle),
        timeout=max(0.0, deadline - synced),
        what=f"{needle!r} on the other hub within {deadline:g} s of the save",
    )
    return synced, time.monotonic() - saved


# (text saved, a question, what the answer must contain), saved in turn on one hub and the other.
FACTS = [
    ("The UPS in the rack is an APC SMT1500 with a network card at 10.0.0.5.", "which UPS is in the rack", "SMT1500"),
    ("Grafana on mon-01 keeps dashboards in /var/lib/grafana/dashboards.", "where are the grafana dashboards",
     "/var/lib/grafana"),
    ("The garage door opener is a Shelly 1 on 192.168.1.77.", "what opens the garage door", "Shelly 1"),
    ("Backups of the NAS go to the B2 bucket lab-nas-backup every night.", "where do the nas backups go",
     "lab-nas-backup"),
]  # fmt: skip


def _each_way(a: Any, b: Any, deadline: float, what: str) -> None:
    """Each fact saved on one hub must be found on the other within ``deadline``; prints how long."""
    lines = []
    for n, (text, query, needle) in enumerate(FACTS):
        writer, reader, way = (a, b, "a->b") if n % 2 == 0 else (b, a, "b->a")
        synced, searched = _follow_seconds(writer, reader, text, query, needle, deadline)
        lines.append(f"{way} followed {synced * 1000:.0f} ms, found by search {searched * 1000:.0f} ms")
    print(f"\n{what}:\n  " + "\n  ".join(lines))


def _health(hub: Any, check: Callable[[dict[str, Any]], bool]) -> None:
    """Wait for the memory component's health data to pass ``check`` (the report is cached a moment)."""

    def data() -> dict[str, Any]:
        return dict(hub.get("/api/health").json()["components"]["memory"].get("data") or {})

    wait_until(lambda: check(data()), timeout=5, what="the memory health report")


def test_two_hubs_with_a_broker_see_each_others_saves_within_two_seconds(two_hubs):
    a, b = two_hubs("mosquitto", sync_poll_connected_s=QUIET_POLL_S)
    _health(b, lambda d: d.get("follow") == f"change notices on the broker, polling every {QUIET_POLL_S:g} s")
    _each_way(a, b, NOTICE_S, f"over the broker (polling every {QUIET_POLL_S:g} s)")
    # Woken by the other's notices (their own come back from the broker and are not counted).
    for hub in (a, b):
        _health(hub, lambda d: d.get("notices_sent", 0) >= 2 and d.get("notices_heard", 0) >= 2)


def test_two_hubs_without_a_broker_follow_each_other_by_polling(two_hubs):
    a, b = two_hubs(None)
    _health(b, lambda d: d.get("follow") == "polling every 0.5 s")
    _each_way(a, b, FOLLOW_S, "without a broker (polling every 0.5 s)")


def test_hubs_whose_broker_is_unreachable_poll_at_sync_poll_s(two_hubs):
    # [broker] names a port nothing listens on: the long connected poll must not apply.
    a, b = two_hubs("unreachable", sync_poll_connected_s=QUIET_POLL_S)
    _health(b, lambda d: d.get("follow") == "polling every 0.5 s")
    _each_way(a, b, FOLLOW_S, "broker unreachable (polling every 0.5 s)")
    _health(a, lambda d: d.get("notices_sent") == 0)
