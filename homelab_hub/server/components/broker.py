"""Wires the hub's one connection to the lab's broker (``[broker]``): camera workers and other
hubs reach this hub through it. Built before the engines that use it (memory's change
notices, remote cameras); absent without ``broker.host``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homelab_hub.health import ComponentHealth
from homelab_hub.remote import cli as worker_cli
from homelab_hub.remote.link import BrokerLink
from homelab_hub.server.components.base import Component

if TYPE_CHECKING:
    from homelab_hub.services import Services


def build(services: Services) -> None:
    config = services.config.broker
    if not config.enabled:
        services.off["broker"] = "no [broker] host is configured"
        return
    if not services.serving:  # a CLI command: the serving hub holds this client id
        services.off["broker"] = "only `homelab-hub serve` connects to the broker"
        return
    # A persistent session: alerts workers send while this hub is down wait at the broker.
    link = BrokerLink(
        config, client_id=f"homelab-hub-{config.name}", label=f"hub {config.name}", persistent=True,
        manual_ack=True,
    )  # fmt: skip
    services.link = link
    link.start()


def health(services: Services) -> ComponentHealth:
    link = services.link
    if link is None:
        return ComponentHealth(state="disabled", detail=services.off.get("broker", "not configured"))
    data = {
        "broker": link.config.address,
        "connected": link.connected.is_set(),
        "connected_since": link.connected_since,
        "disconnected_since": link.disconnected_since,
        "refused_publishes": link.refused_publishes,
    }
    if link.connected.is_set():
        return ComponentHealth(state="ok", detail=f"connected to {link.config.address}", data=data)
    return ComponentHealth(
        state="down", detail=link.last_error or f"connecting to {link.config.address}", data=data
    )


def close(services: Services) -> None:
    if services.link is not None:
        services.link.close()
        services.link = None


COMPONENT = Component(
    name="broker", register_cli=worker_cli.register, build=build, close=close, health=health
)
