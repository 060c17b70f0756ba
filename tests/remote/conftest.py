"""Fixtures for tests across real network boundaries (tests/remote/netlab.py has the details).

- ``netlab``: a `NetLab`; ``netlab.add("garage-pi")`` makes a namespace with a veth link to the
  root namespace (``node.root_ip`` / ``node.ns_ip``); cut, restore, popen, kill; all removed after.
- ``private_mosquitto(users, *, nodes=(), listen=("127.0.0.1",), prefix="homelab-hub",
  persistence=False)``: a started `PrivateMosquitto` listening on ``listen`` plus each node's
  ``root_ip``, with the README's ACL; ``broker.config(user, host=...)`` makes a BrokerConfig.
- ``ns_link(node, config, *, client_id=None, will=None, persistent=False)``: an `NsLink`, a
  BrokerLink in a process inside the node's namespace.
- ``broker_tap(config, filters=None, *, client_id=None, persistent=False, wait=True)``: a `Tap`,
  a BrokerLink in the test process recording what it receives (connected unless wait=False).

Without root, `ip` or Mosquitto they skip and say why (fail under HOMELAB_HUB_REQUIRE_ALL=1).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import pytest

from homelab_hub.remote.config import BrokerConfig
from tests.remote.netlab import NetLab, Node, NsLink, PrivateMosquitto, Tap, mosquitto_missing, netlab_missing
from tests.support import require


@pytest.fixture
def netlab(tmp_path) -> Iterator[NetLab]:
    missing = netlab_missing()
    require(missing is None, missing or "")
    lab = NetLab(tmp_path / "netlab")
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def private_mosquitto(tmp_path):
    missing = mosquitto_missing()
    require(missing is None, missing or "")
    started: list[PrivateMosquitto] = []

    def make(
        users: Mapping[str, str] | Iterable[str],
        *,
        nodes: Sequence[Node] = (),
        listen: Sequence[str] = ("127.0.0.1",),
        prefix: str = "homelab-hub",
        persistence: bool = False,
    ) -> PrivateMosquitto:
        broker = PrivateMosquitto(
            tmp_path / f"mosquitto{len(started)}",
            users,
            listen=[*listen, *(n.root_ip for n in nodes)],
            prefix=prefix,
            persistence=persistence,
        )
        started.append(broker)
        return broker.start()

    yield make
    for broker in started:
        broker.stop()


@pytest.fixture
def ns_link(netlab: NetLab):
    links: list[NsLink] = []

    def make(node: Node, config: BrokerConfig, **kw: Any) -> NsLink:
        link = NsLink.start(netlab, node, config, **kw)
        links.append(link)
        return link

    yield make
    for link in links:
        link.close()


@pytest.fixture
def broker_tap():
    taps: list[Tap] = []

    def make(
        config: BrokerConfig,
        filters: Sequence[str] | None = None,
        *,
        client_id: str | None = None,
        persistent: bool = False,
        wait: bool = True,
    ) -> Tap:
        tap = Tap(config, filters, client_id=client_id, persistent=persistent)
        taps.append(tap)
        return tap.wait_connected() if wait else tap

    yield make
    for tap in taps:
        tap.close()


# The page tests' browser, for the remote camera in the live grid.
from tests.web.conftest import chromium, page  # noqa: E402, F401
