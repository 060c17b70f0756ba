"""Wires the notification bus: Apprise URLs and the shared MQTT publisher."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homelab_hub.health import ComponentHealth
from homelab_hub.notify.bus import NotificationBus

if TYPE_CHECKING:
    from homelab_hub.server.services import Services


def build(services: Services) -> None:
    bus = NotificationBus.from_config(services.config.notify)
    bus.start()
    services.notifier = bus
    services.health_checks["notify"] = lambda: _health(bus)


def _health(bus: NotificationBus) -> ComponentHealth:
    data = {"apprise_targets": bus.apprise_targets, "mqtt": bus.mqtt is not None}
    if bus.mqtt is None:
        return ComponentHealth(
            state="ok" if bus.apprise_targets else "disabled", detail="apprise only", data=data
        )
    if bus.mqtt.connected:
        return ComponentHealth(state="ok", detail="MQTT connected", data=data)
    # Alerts still reach Apprise; Home Assistant misses states until the broker is back.
    return ComponentHealth(state="degraded", detail="MQTT broker not connected", data=data)


def close(services: Services) -> None:
    if isinstance(services.notifier, NotificationBus):
        services.notifier.stop()
