"""Camera names are plain words: they become folders, MQTT topics and page paths."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from homelab_hub.cameras.alerts.store import AlertStore, image_path
from homelab_hub.cameras.settings import AlertsConfig
from homelab_hub.config import load_config
from homelab_hub.errors import ConfigError
from homelab_hub.store import Database


@pytest.mark.parametrize("name", ["..", "a/b", "../etc", "gate cam", "-gate", "gate.main", "x" * 65])
def test_a_camera_name_that_is_not_a_plain_word_is_refused_at_load(name: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(None, cameras={name: {"url": "gate.mp4"}})
    assert err.value.message.startswith("invalid configuration (environment):\n  cameras: got {")
    assert (
        f"expected camera name {name!r} must be 1-64 letters, digits, '_' or '-', starting with a letter or digit"
        in err.value.message
    )


def test_plain_camera_names_load() -> None:
    config = load_config(
        None, cameras={"front_gate": {"url": "a.mp4"}, "cam-2": {"url": "b.mp4"}, "3": {"url": "c.mp4"}}
    )
    assert sorted(config.cameras) == ["3", "cam-2", "front_gate"]


def test_alert_images_stay_under_the_image_directory_whatever_the_camera_is_called(
    sqlite_db: Database, tmp_path: Path
) -> None:
    root = tmp_path / "alerts"
    for camera in ("..", "../../etc", "a/b"):
        path = image_path(root, camera, time.time(), "ALERT")
        assert path.resolve().is_relative_to(root.resolve())
    record = AlertStore(sqlite_db).record(
        camera="..", ts=time.time(), frame_bgr=np.zeros((90, 160, 3), np.uint8), boxes=[], description="x",
        verdict="ALERT", model="m", latency_s=None, full_frame=False, config=AlertsConfig(image_dir=root),
    )  # fmt: skip
    assert record.image_path is not None
    assert Path(record.image_path).resolve().is_relative_to(root.resolve())
    beside = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("hub.db"))
    assert beside == ["alerts"]  # nothing written one level up
