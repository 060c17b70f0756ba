"""Settings of one camera ([cameras.NAME])."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from homelab_hub.cameras.settings import AlertsConfig, MotionConfig, VisionConfig, ZoneConfig

__all__ = ["CameraConfig", "VisionConfig"]


class CameraConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)

    url: str = Field(..., description="rtsp://… or anything PyAV opens, a file included.")
    motion: MotionConfig = Field(default_factory=MotionConfig, description="Motion prefilter settings.")
    zones: list[ZoneConfig] = Field(default_factory=list, description="Exclusion/inclusion zones.")
    alerts: AlertsConfig = Field(default_factory=AlertsConfig, description="Alert cooldown and retention.")
