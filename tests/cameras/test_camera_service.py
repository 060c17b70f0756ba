"""The cameras engine's one door: tools, pages and the review share the service's alert store
(so a decision reaches the running pipelines' suppression cache at once), across reloads."""

from __future__ import annotations

from pathlib import Path

from homelab_hub.config import load_config
from homelab_hub.server.lifecycle import build_services, close_services, reload_services
from tests.cameras.review_data import cameras_config


def _config(tmp_path: Path, **vision):
    return load_config(
        None, storage={"url": f"sqlite:///{tmp_path}/hub.db"}, logging={"file": None},
        cameras=cameras_config(tmp_path), memory={"enabled": False}, vision=vision,
    )  # fmt: skip


def test_the_review_and_every_pipeline_share_the_services_one_alert_store_across_reloads(
    tmp_path: Path,
) -> None:
    services = build_services(_config(tmp_path), start_workers=False)
    try:
        cameras = services.cameras
        store = cameras.alerts
        assert cameras.review().alerts is store
        assert cameras.pipeline("gate").deps.alerts is store
        reload_services(services, _config(tmp_path, model="another-model:7b"))  # rebuilds every pipeline
        assert cameras.pipeline("gate").deps.alerts is store
        assert cameras.review().alerts is store
    finally:
        close_services(services)


def test_a_suppression_saved_through_the_service_applies_to_the_next_alert_without_waiting(
    tmp_path: Path,
) -> None:
    services = build_services(_config(tmp_path), start_workers=False)
    try:
        pipeline_store = services.cameras.pipeline("gate").deps.alerts
        assert (
            pipeline_store.suppressed_by("gate", "A person by the kamado grill.") is None
        )  # rules now cached
        services.cameras.alerts.add_suppression("kamado grill", camera="gate")
        assert pipeline_store.suppressed_by("gate", "A person by the kamado grill.") == "kamado grill"
    finally:
        close_services(services)
