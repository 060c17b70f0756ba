"""Wires the cameras engine into Services."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from homelab_hub.server.services import Services


def build(services: Services) -> None:
    """Create the engine, register its workers and health check."""


def close(services: Services) -> None:
    """Release what build() opened."""
