"""Per-sample decision pipeline: motion prefilter -> vision model -> alert.

(Stub interface; the detection work fills it in.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from homelab_hub.cameras.config import CameraConfig
    from homelab_hub.cameras.settings import ZoneConfig
    from homelab_hub.config import HubConfig
    from homelab_hub.store import Database

Decision = Literal["clear", "recalibrated", "alert", "unverified", "model_clear", "suppressed", "cooldown"]


@dataclass
class SampleResult:
    decision: Decision
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    model_called: bool = False
    full_frame: bool = False
    description: str = ""
    model_latency_s: float | None = None
    alert_id: int | None = None


class PipelineDeps:
    """Shared by every camera's pipeline: alert store, classifier, publishers."""

    @classmethod
    def from_config(cls, config: HubConfig, db: Database, notifier: Any) -> PipelineDeps:
        return cls()

    def close(self) -> None:
        pass


class CameraPipeline:
    def __init__(self, name: str, camera: CameraConfig, deps: PipelineDeps | None) -> None:
        self.name = name
        self.camera = camera
        self.deps = deps

    def process(self, frame: np.ndarray, ts: float) -> SampleResult:
        """Analyse one sampled BGR frame (blocking; called from the camera's worker thread)."""
        return SampleResult(decision="clear")

    def update_zones(self, zones: list[ZoneConfig]) -> None:
        """Apply new zones from the next sample on."""


def make_pipeline(name: str, camera: CameraConfig, deps: PipelineDeps | None) -> CameraPipeline:
    """deps=None gives a motion-only pipeline (replay without a database or model)."""
    return CameraPipeline(name, camera, deps)
