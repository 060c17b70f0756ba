"""Settings of the camera pipeline."""

from pydantic import BaseModel, ConfigDict, Field


class CameraConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)

    url: str = Field(..., description="rtsp://… or anything PyAV opens, a file included.")


class VisionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)
