"""The zone store: each camera's zone set as one database row (table camera_zones).

The database is the truth once a camera's zones were edited (by the zone_edit tool or the
zone page); until then the camera's config zones apply. One row per camera (a JSON list), so
an edit is atomic and "no zones at all" is distinguishable from "never edited".
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from homelab_hub.cameras.settings import ZoneConfig
from homelab_hub.cameras.zones.mask import check_unique, parse_zone
from homelab_hub.errors import InvalidInput
from homelab_hub.store import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredZones:
    zones: list[ZoneConfig]
    source: str  # "database" | "config" | "config (stored zones unreadable)"
    updated_at: float | None = None


class ZoneStore:
    """Zone sets per camera in the database (table camera_zones)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def load(self, camera: str, config_zones: list[ZoneConfig]) -> StoredZones:
        """The camera's zones: the stored set if any, else the config's. A corrupt stored set
        is logged and the config zones apply, so the camera keeps running."""
        row = self.db.query_one("SELECT zones_json, updated_at FROM camera_zones WHERE camera = ?", (camera,))
        if row is None:
            return StoredZones(list(config_zones), "config")
        try:
            raw = json.loads(row["zones_json"])
            if not isinstance(raw, list):
                raise InvalidInput("stored zones are not a list")
            zones = [parse_zone(camera, z) for z in raw]
            check_unique(camera, zones)
        except (ValueError, InvalidInput) as exc:
            log.error("camera %s: stored zones are unreadable (%s); using the config zones", camera, exc)
            return StoredZones(list(config_zones), "config (stored zones unreadable)")
        return StoredZones(zones, "database", float(row["updated_at"]))

    def save(self, camera: str, zones: list[ZoneConfig]) -> float:
        """Replace the camera's zone set; returns its timestamp. Raises StorageUnavailable."""
        check_unique(camera, zones)
        payload = json.dumps([z.model_dump(mode="json") for z in zones])
        now = time.time()
        with self.db.transaction():
            self.db.execute("DELETE FROM camera_zones WHERE camera = ?", (camera,))
            self.db.execute(
                "INSERT INTO camera_zones (camera, zones_json, updated_at) VALUES (?, ?, ?)",
                (camera, payload, now),
            )
        return now
