"""The broker link's own bookkeeping, without a broker: what a reader sees at the moment the
link goes down."""

from __future__ import annotations

import threading

from homelab_hub.remote.config import BrokerConfig
from homelab_hub.remote.link import BrokerLink


def test_whoever_sees_the_link_down_also_sees_why():
    link = BrokerLink(BrokerConfig(host="127.0.0.1", port=1), client_id="t", label="worker garage-pi")
    seen: list[tuple[str, float | None]] = []

    class Watched(threading.Event):
        def clear(self) -> None:  # the moment a watcher can first read the link as down
            seen.append((link.last_error, link.disconnected_since))
            super().clear()

    link.connected = Watched()
    link.connected.set()
    link._on_disconnect(link._client, None, None, "keep alive timeout", None)
    assert not link.connected.is_set()
    [(error, since)] = seen
    assert error == "lost the broker 127.0.0.1:1 (keep alive timeout); reconnecting"
    assert since is not None
