"""Settings of one camera ([cameras.NAME]): its streams, how they are read and sampled.

Detection settings (motion thresholds, zones, alerts) live in ``cameras/settings.py`` and
hang off the same section; the vision model is shared (top-level [vision]) and a camera
may override its model and prompt here.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from homelab_hub.cameras.settings import AlertsConfig, AudioConfig, MotionConfig, VisionConfig, ZoneList
from homelab_hub.cameras.stream.reader import ReaderConfig

__all__ = ["CAMERA_NAME", "CameraConfig", "CameraMap", "ReaderConfig", "VisionConfig"]

# Camera names become folder names (alert images), MQTT topics and URL path parts: plain
# words only, like service names, so that '..' or 'a/b' can never leave their folder.
CAMERA_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class CameraConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)

    url: str = Field(..., description="rtsp://… or anything PyAV opens, a file included.")
    detect_url: str | None = Field(
        None,
        description="Optional low-resolution stream the worker decodes for detection and snapshots instead of "
        "url (Frigate's detect role), e.g. the camera's substream rtsp://…/sub.",
    )
    enabled: bool = Field(
        True, description="Run this camera's worker; false keeps the settings without reading."
    )
    interval_s: float = Field(
        5.0, gt=0, le=3600, description="Seconds between analysed samples (the seed's 5 s per camera)."
    )
    reader: ReaderConfig = Field(default_factory=ReaderConfig, description="Stream reading and reconnects.")
    vision_model: str | None = Field(
        None, description="Vision model for this camera; empty uses [vision].model."
    )
    vision_prompt: str | None = Field(
        None,
        description="Prompt for this camera; empty uses [vision].prompt ({camera} is replaced by its name).",
    )
    motion: MotionConfig = Field(default_factory=MotionConfig, description="Motion prefilter settings.")
    zones: ZoneList = Field(default_factory=list, description="Exclusion/inclusion zones.")
    alerts: AlertsConfig = Field(default_factory=AlertsConfig, description="Alert cooldown and retention.")
    known_features: list[str] = Field(
        default_factory=list,
        max_length=30,
        description="Permanent things in view that the review model should know, e.g. "
        "['kamado grill', 'stone wall', 'gate post lights'].",
    )
    audio: AudioConfig = Field(
        default_factory=AudioConfig, description="Transcription of the camera's microphone (off by default)."
    )

    @model_validator(mode="after")
    def _check_streams(self) -> CameraConfig:
        for feature in self.known_features:
            if not 1 <= len(feature.strip()) <= 200:
                raise ValueError(
                    f"known_features: {feature[:40]!r} must be 1 to 200 characters, e.g. 'kamado grill'"
                )
        if not self.url.strip():
            raise ValueError(
                "url must name a stream, e.g. 'rtsp://user:pass@192.0.2.10:554/stream1' or a file path"
            )
        if self.detect_url is not None and not self.detect_url.strip():
            self.detect_url = None
        if self.reader.backoff_max_s < self.reader.backoff_initial_s:
            raise ValueError(
                f"reader.backoff_max_s ({self.reader.backoff_max_s}) must be at least "
                f"reader.backoff_initial_s ({self.reader.backoff_initial_s})"
            )
        return self

    @property
    def sample_url(self) -> str:
        """The stream the worker decodes: the detect stream when there is one."""
        return self.detect_url or self.url


def _plain_camera_names(cameras: dict[str, CameraConfig]) -> dict[str, CameraConfig]:
    for name in cameras:
        if not CAMERA_NAME.match(name):
            raise ValueError(
                f"camera name {name!r} must be 1-64 letters, digits, '_' or '-', "
                "starting with a letter or digit, e.g. 'front_gate'"
            )
    return cameras


CameraMap = Annotated[dict[str, CameraConfig], AfterValidator(_plain_camera_names)]
