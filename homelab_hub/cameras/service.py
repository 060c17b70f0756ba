"""The cameras engine's one door: cameras, frames, alerts, zones, review and live video.

Tools, pages and the component reach cameras only through a `CameraService` (``services.cameras``),
as they reach memory through ``services.memory``. It owns what must be one per hub: the alert
store (whose suppression cache every camera's pipeline and every review decision share, so a
suppression made on the review page applies from the very next alert) and the review model's
client (one HTTP client, not one per call). Everything else it hands out is cheap and built
per call from the current settings, which `configure` replaces on a reload.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from homelab_hub.cameras.alerts.store import AlertRecord, AlertStore, Suppression
from homelab_hub.cameras.review.classifier import ReviewClassifier
from homelab_hub.cameras.review.groups import AlertReview, camera_frame_size
from homelab_hub.cameras.review.worker import ClassifyReport, classify
from homelab_hub.cameras.settings import CameraConfig, ReviewConfig
from homelab_hub.cameras.zones.editor import ZoneEditor
from homelab_hub.cameras.zones.store import ZoneStore
from homelab_hub.errors import NotFound

if TYPE_CHECKING:
    from homelab_hub.cameras.audio.transcriber import Transcriber
    from homelab_hub.cameras.detect.pipeline import CameraPipeline
    from homelab_hub.cameras.stream.live import LiveHub
    from homelab_hub.cameras.stream.manager import CameraManager, CameraStatus, Snapshot
    from homelab_hub.cameras.stream.worker import CameraRuntime
    from homelab_hub.remote.bridge import RemoteCameras
    from homelab_hub.store import Database


class CameraService:
    """The running cameras (a `CameraManager`) and the stores and review beside them."""

    def __init__(
        self,
        db: Database,
        manager: CameraManager,
        *,
        cameras: Mapping[str, CameraConfig],
        review: ReviewConfig,
        vision_url: str,
        alerts: AlertStore | None = None,
    ) -> None:
        self.db = db
        self.manager = manager
        self.alerts = alerts if alerts is not None else AlertStore(db)
        self.zone_store = ZoneStore(db)
        self._lock = threading.Lock()
        self._classifier: ReviewClassifier | None = None
        self._cameras: Mapping[str, CameraConfig] = cameras
        self._review_config = review
        self._vision_url = vision_url
        self.remote: RemoteCameras | None = None  # cameras on workers, over the broker (set by its owner)

    def configure(
        self, *, cameras: Mapping[str, CameraConfig], review: ReviewConfig, vision_url: str
    ) -> None:
        """Use these settings from the next call on (a reload); a changed review model gets a new client."""
        with self._lock:
            self._cameras = cameras
            if (review, vision_url) != (self._review_config, self._vision_url) and self._classifier:
                self._classifier.close()
                self._classifier = None
            self._review_config = review
            self._vision_url = vision_url

    def close(self) -> None:
        """Release the review model's client (the manager is closed by its component)."""
        with self._lock:
            if self._classifier is not None:
                self._classifier.close()
                self._classifier = None

    # -- cameras and frames ---------------------------------------------------------------------
    @property
    def live(self) -> LiveHub:
        return self.manager.live

    @property
    def transcriber(self) -> Transcriber | None:
        return self.manager.transcriber

    def names(self) -> list[str]:
        """The running cameras' names (disabled ones included), sorted."""
        return self.manager.names()

    def runtime(self, name: str) -> CameraRuntime:
        """Raises NotFound naming the known cameras."""
        return self.manager.runtime(name)

    def pipeline(self, name: str) -> CameraPipeline:
        """The camera's live pipeline. Raises NotFound."""
        return self.manager.pipeline(name)

    def status(self, name: str) -> CameraStatus:
        """Raises NotFound."""
        return self.manager.status(name)

    def latest_frame(self, name: str, max_age_s: float | None = None) -> tuple[np.ndarray, float]:
        """Raises NotFound, Unavailable (no frame yet)."""
        return self.manager.latest_frame(name, max_age_s)

    def snapshot_jpeg(self, name: str, annotated: bool = False, *, quality: int = 85) -> Snapshot:
        """Raises NotFound, Unavailable."""
        return self.manager.snapshot_jpeg(name, annotated, quality=quality)

    def configured(self, name: str) -> CameraConfig | None:
        """The camera's section in the current config; None when it has none."""
        return self._cameras.get(name)

    def camera_config(self, name: str) -> CameraConfig | None:
        """The camera's section: configured, else the running one's; None when neither."""
        config = self._cameras.get(name)
        if config is None and name in self.manager.names():
            config = self.manager.runtime(name).camera
        return config

    def frame_size(self, name: str) -> tuple[int, int] | None:
        """The camera's frame size (width, height) from its last sample; None before one."""
        return camera_frame_size(self.manager, name)

    def known(self, name: str) -> bool:
        """Configured, running, or with stored alerts (a camera removed since). Raises StorageUnavailable."""
        return name in self._cameras or name in self.manager.names() or self.alerts.has_alerts(name)

    def unknown_camera(self, name: str) -> NotFound:
        """The NotFound for a camera name nobody knows, naming the configured ones."""
        known = ", ".join(repr(n) for n in sorted(self._cameras)) or "none are configured"
        return NotFound(f"unknown camera {name!r}; known cameras: {known}")

    # -- alerts ---------------------------------------------------------------------------------
    def recent_alerts(
        self, *, camera: str | None = None, since: float | None = None, limit: int = 20
    ) -> list[AlertRecord]:
        """Newest first. Raises StorageUnavailable."""
        return self.alerts.recent(camera=camera, since=since, limit=limit)

    def alert(self, alert_id: int) -> AlertRecord | None:
        """Raises StorageUnavailable."""
        return self.alerts.get(alert_id)

    def suppressions(self, *, camera: str | None = None, include_inactive: bool = False) -> list[Suppression]:
        """Raises StorageUnavailable."""
        return self.alerts.suppressions(camera=camera, include_inactive=include_inactive)

    # -- zones and review -----------------------------------------------------------------------
    def zones(self) -> ZoneEditor:
        """The zone editor over the current cameras; edits apply to the running pipelines."""
        return ZoneEditor(self.zone_store, manager=self.manager, cameras=self._cameras)

    def review(self) -> AlertReview:
        """The alert review over the current settings, sharing this service's alert store."""
        return AlertReview(
            self.db,
            config=self._review_config,
            cameras=self._cameras,
            manager=self.manager,
            alerts=self.alerts,
        )

    def classify(
        self, *, hours: int = 24, camera: str | None = None, group_id: int | None = None
    ) -> ClassifyReport:
        """Run the review model over the window's unlabelled groups (or one group) now.
        Model failures are in the report. Raises NotFound, InvalidInput, StorageUnavailable."""
        return classify(self.review(), self._review_client(), hours=hours, camera=camera, group_id=group_id)

    def _review_client(self) -> ReviewClassifier:
        with self._lock:
            if self._classifier is None:
                self._classifier = ReviewClassifier(self._review_config, default_url=self._vision_url)
            return self._classifier
