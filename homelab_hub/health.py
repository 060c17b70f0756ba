"""Component health, one shape for every engine: a state, a few words of why, and numbers.

A leaf: engines build these, `/api/health`, `hub_status` and the pages read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

HealthState = Literal["ok", "starting", "degraded", "down", "disabled"]


class ComponentHealth(BaseModel):
    state: HealthState = Field(..., description="Component state.")
    detail: str = Field("", description="Why, in a few words.")
    data: dict[str, Any] = Field(default_factory=dict, description="Numbers worth showing.")


WORKER_PREFIX = "worker:"


@dataclass(frozen=True)
class HubHealth:
    """The hub's health: each component's (storage included) and each supervised worker's,
    kept apart so no reader has to tell them by a name's prefix."""

    components: dict[str, ComponentHealth]
    workers: dict[str, ComponentHealth]

    def flat(self) -> dict[str, ComponentHealth]:
        """One table, a worker as "worker:NAME": how /api/health and the watchdog name them."""
        return {**self.components, **{WORKER_PREFIX + name: h for name, h in self.workers.items()}}

    def problems(self) -> dict[str, str]:
        """What is down or degraded (by its flat name), with why."""
        return {k: v.detail for k, v in self.flat().items() if v.state in ("down", "degraded")}


__all__ = ["WORKER_PREFIX", "ComponentHealth", "HealthState", "HubHealth"]
