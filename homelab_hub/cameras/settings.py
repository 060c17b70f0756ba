"""Per-camera motion, zone and alert settings, and the shared vision-model settings.

(Filled by the detection pipeline: motion thresholds, zones, vision prompt, alert retention.)
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class MotionConfig(_Section):
    """Motion prefilter thresholds."""


class ZoneConfig(_Section):
    """A named polygon in 0..1 image coordinates."""


class VisionConfig(_Section):
    """The vision model shared by every camera (top-level [vision])."""


class AlertsConfig(_Section):
    """Alert storage, retention and cooldown."""
