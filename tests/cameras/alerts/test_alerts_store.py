"""Alert rows, annotated images, cooldown, suppression and retention, on SQLite and MariaDB."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from homelab_hub.cameras.alerts.store import AlertStore, compile_pattern
from homelab_hub.cameras.settings import AlertsConfig
from homelab_hub.errors import InvalidInput


def frame() -> np.ndarray:
    return np.full((480, 640, 3), 120, np.uint8)


def record(
    store: AlertStore, cfg: AlertsConfig, ts: float, description: str = "A person at the door.", camera="gate"
):
    return store.record(
        camera=camera, ts=ts, frame_bgr=frame(), boxes=[(100, 120, 80, 160)], description=description,
        verdict="ALERT", model="qwen2.5vl:7b", latency_s=0.21, full_frame=False, config=cfg,
    )  # fmt: skip


def test_an_alert_is_stored_with_an_annotated_image_and_a_confirmed_alert_log_line(
    db, tmp_path, caplog
) -> None:
    store = AlertStore(db)
    cfg = AlertsConfig(image_dir=tmp_path / "alerts")
    with caplog.at_level(logging.WARNING, logger="homelab_hub.cameras.alerts.store"):
        rec = record(store, cfg, time.time())
    confirmed = [r.getMessage() for r in caplog.records if "CONFIRMED ALERT camera=gate" in r.getMessage()]
    assert len(confirmed) == 1
    assert confirmed[0].endswith(": A person at the door.")
    image = cv2.imread(rec.image_path)
    assert image is not None
    assert image.shape == (480, 640, 3)
    b, g, r = (int(v) for v in image[120, 140])  # on the box's top edge: drawn red
    assert r > 180
    assert g < 80
    assert b < 80
    stored = store.recent(camera="gate")
    assert len(stored) == 1
    got = stored[0]
    assert (got.verdict, got.description, got.boxes, got.model) == ("ALERT", "A person at the door.",
                                                                   [(100, 120, 80, 160)], "qwen2.5vl:7b")  # fmt: skip
    assert got.latency_s == pytest.approx(0.21)
    assert got.review_status == "new"
    assert store.get(rec.id) == got


def test_cooldown_is_per_camera(db, tmp_path) -> None:
    store = AlertStore(db)
    cfg = AlertsConfig(image_dir=tmp_path, cooldown_s=60)
    record(store, cfg, 1000.0)
    assert store.in_cooldown("gate", 1030.0, 60)
    assert not store.in_cooldown("gate", 1061.0, 60)
    assert not store.in_cooldown("yard", 1030.0, 60)


def test_suppression_patterns_match_the_normalized_description(db, tmp_path) -> None:
    store = AlertStore(db)
    assert store.suppressed_by("yard", "A KAMADO grill, covered.") is None
    store.add_suppression("kamado grill", camera="yard", note="permanent fixture")
    assert store.suppressed_by("yard", "A KAMADO grill, covered.") == "kamado grill"
    assert store.suppressed_by("gate", "A kamado grill") is None  # another camera
    store.add_suppression("steam * pipe")
    assert store.suppressed_by("gate", "Steam rising from the stone-wall pipe.") == "steam * pipe"
    assert store.suppressed_by("gate", "a person", ["a person"]) == "a person"  # config patterns
    assert store.suppressed_by("gate", "a personal trainer") is None


def test_a_pattern_without_words_is_refused() -> None:
    with pytest.raises(InvalidInput, match="silence every alert"):
        compile_pattern(" * ")


def test_retention_deletes_old_alerts_and_their_images(db, tmp_path) -> None:
    store = AlertStore(db)
    cfg = AlertsConfig(image_dir=tmp_path, retention_days=1)
    now = time.time()
    old = record(store, cfg, now - 3 * 86400)
    fresh = record(store, cfg, now)
    assert not Path(old.image_path).exists()
    assert [a.id for a in store.recent(camera="gate")] == [fresh.id]


def test_retention_by_size_drops_the_oldest_images_but_keeps_their_rows(db, tmp_path) -> None:
    store = AlertStore(db)
    cfg = AlertsConfig(image_dir=tmp_path, retention_mb=1e9)
    now = time.time()
    recs = [record(store, cfg, now - 10 + i) for i in range(4)]
    size = Path(recs[0].image_path).stat().st_size
    tight = AlertsConfig(image_dir=tmp_path, retention_mb=(2.5 * size) / (1024 * 1024))
    store.prune("gate", tight, now=now)
    kept = {a.id: a.image_path for a in store.recent(camera="gate")}
    assert len(kept) == 4
    assert kept[recs[0].id] is None
    assert kept[recs[1].id] is None
    assert kept[recs[2].id]
    assert kept[recs[3].id]
    assert not Path(recs[0].image_path).exists()
    assert Path(recs[3].image_path).exists()


def test_recent_filters_by_camera_and_time(db, tmp_path) -> None:
    store = AlertStore(db)
    cfg = AlertsConfig(image_dir=tmp_path)
    now = time.time()
    record(store, cfg, now - 100)
    record(store, cfg, now - 10)
    record(store, cfg, now - 5, camera="yard")
    assert len(store.recent()) == 3
    assert [a.camera for a in store.recent(since=now - 50)] == ["yard", "gate"]
    assert len(store.recent(camera="gate", limit=1)) == 1
