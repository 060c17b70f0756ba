"""A day of alerts like the seed's, for the review tests: recurring false positives (a car on
the road beyond the gate, the kamado grill, the steam pipe), a cat, and two real visitors.

``seed_day(db, image_dir)`` records them through the real `AlertStore` (rows and annotated
images), spread over the last hours so the histograms have shape.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from homelab_hub.cameras.alerts.store import AlertRecord, AlertStore
from homelab_hub.cameras.settings import AlertsConfig
from homelab_hub.store import Database

FRAME_W, FRAME_H = 640, 360
CAR = "A car is moving on the road beyond the gate."
VISITOR = "A person is walking up to the front door."
GRILL = "A person is standing next to the kamado grill."
CAT = "A cat walks across the lawn."
STEAM = "A figure is moving in the steam by the stone wall."

# camera, description, alerts, box (x, y, w, h) in 640 x 360 pixels
DAY: list[tuple[str, str, int, tuple[int, int, int, int]]] = [
    ("gate", CAR, 6, (40, 10, 200, 60)),
    ("gate", VISITOR, 2, (300, 150, 60, 150)),
    ("yard", GRILL, 4, (480, 200, 80, 90)),
    ("yard", CAT, 3, (100, 280, 50, 30)),
    ("drive", STEAM, 5, (520, 40, 90, 140)),
]

CAMERAS = {
    "gate": {"known_features": ["gate post lights", "the public road beyond the gate"]},
    "yard": {"known_features": ["kamado grill", "tree branches"]},
    "drive": {"known_features": ["steam pipe", "stone wall"]},
}


def cameras_config(tmp_path: Path) -> dict:
    """[cameras.*] for a hub whose workers never read (the URL is a file that is not there)."""
    image_dir = str(tmp_path / "alerts")
    return {
        name: {
            **extra,
            "url": str(tmp_path / "none.mp4"),
            "enabled": False,
            "alerts": {"image_dir": image_dir},
        }
        for name, extra in CAMERAS.items()
    }


def frame() -> np.ndarray:
    img = np.full((FRAME_H, FRAME_W, 3), 90, np.uint8)
    img[FRAME_H // 2 :, :, 1] = 140  # a lawn, so the image is not flat
    return img


def record(
    store: AlertStore,
    image_dir: Path,
    camera: str,
    description: str,
    ts: float,
    box: tuple[int, int, int, int],
) -> AlertRecord:
    return store.record(
        camera=camera, ts=ts, frame_bgr=frame(), boxes=[box], description=description, verdict="ALERT",
        model="qwen2.5vl:7b", latency_s=0.2, full_frame=False,
        config=AlertsConfig(image_dir=image_dir, cooldown_s=0),
    )  # fmt: skip


def seed_day(db: Database, image_dir: Path, now: float | None = None) -> dict[str, list[AlertRecord]]:
    """Record the day; returns the alerts by description. The i-th alert of a group is
    (i + 1) hours old, minus a minute per group, so no two share a second."""
    now = now or time.time()
    store = AlertStore(db)
    out: dict[str, list[AlertRecord]] = {}
    for g, (camera, description, count, box) in enumerate(DAY):
        for i in range(count):
            ts = now - (i + 1) * 3600 - g * 60
            out.setdefault(description, []).append(record(store, image_dir, camera, description, ts, box))
    return out
