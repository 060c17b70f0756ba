"""Wires the notification bus (Apprise now; MQTT joins with the cameras)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homelab_hub.notify.apprise import AppriseNotifier

if TYPE_CHECKING:
    from homelab_hub.server.services import Services


def build(services: Services) -> None:
    services.notifier = AppriseNotifier(services.config.notify.apprise_urls)


def close(services: Services) -> None:
    """Apprise holds no open resources."""
