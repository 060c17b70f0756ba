"""Component health, one shape for every engine: a state, a few words of why, and numbers.

A leaf: engines build these, `/api/health`, `hub_status` and the pages read them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

HealthState = Literal["ok", "starting", "degraded", "down", "disabled"]


class ComponentHealth(BaseModel):
    state: HealthState = Field(..., description="Component state.")
    detail: str = Field("", description="Why, in a few words.")
    data: dict[str, Any] = Field(default_factory=dict, description="Numbers worth showing.")


__all__ = ["ComponentHealth", "HealthState"]
