"""Wires the notification bus: Apprise URLs and the shared MQTT publisher."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from homelab_hub.health import ComponentHealth
from homelab_hub.notify.bus import NotificationBus
from homelab_hub.server.components.base import Component

if TYPE_CHECKING:
    from homelab_hub.config import HubConfig
    from homelab_hub.services import Services


def build(services: Services) -> None:
    bus = NotificationBus.from_config(services.config.notify)
    bus.start()
    services.notifier = bus


def health(services: Services) -> ComponentHealth:
    bus = services.notifier
    if bus is None:
        return ComponentHealth(state="disabled", detail="notifications are not running")
    data: dict[str, object] = {"apprise_targets": bus.apprise_targets, "mqtt": bus.mqtt is not None}
    if bus.speakers is not None:
        data["speakers"] = asdict(bus.speakers.status())
    if bus.mqtt is None:
        return ComponentHealth(
            state="ok" if bus.apprise_targets else "disabled", detail="apprise only", data=data
        )
    if bus.mqtt.connected:
        return ComponentHealth(state="ok", detail="MQTT connected", data=data)
    # Alerts still reach Apprise; Home Assistant misses states until the broker is back.
    return ComponentHealth(state="degraded", detail="MQTT broker not connected", data=data)


def reload(services: Services, config: HubConfig) -> None:
    """A changed [notify] replaces the sinks of the hub's one bus in place (components later
    in the list, cameras among them, see the new sinks when they reload)."""
    if services.notifier is not None and config.notify != services.config.notify:
        services.notifier.reconfigure(config.notify)


def close(services: Services) -> None:
    if services.notifier is not None:
        services.notifier.stop()


COMPONENT = Component(name="notify", build=build, close=close, reload=reload, health=health)
