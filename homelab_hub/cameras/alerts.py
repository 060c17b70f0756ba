"""Alerts: database rows, annotated JPEGs on disk, retention, cooldown and suppression.

Every confirmed alert logs one ``CONFIRMED ALERT`` line (the seed's daily review parses
them), gets a row and the full frame annotated with its boxes. Suppression patterns match
the normalized description ("a kamado grill" silences every alert describing it); the
review page writes them to ``alert_suppressions``, the config may list more.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from homelab_hub.cameras.settings import AlertsConfig
from homelab_hub.cameras.verdict import normalize_description
from homelab_hub.errors import InvalidInput
from homelab_hub.store import Database

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]
_COLOURS = {"ALERT": (0, 0, 255), "UNVERIFIED": (0, 200, 255)}
_SUPPRESSION_CACHE_S = 10.0  # the review page's new patterns apply within this long


@dataclass(frozen=True)
class AlertRecord:
    id: int
    camera: str
    ts: float
    verdict: str
    description: str
    boxes: list[Box]
    full_frame: bool
    model: str
    latency_s: float | None
    image_path: str | None
    review_status: str
    kind: str = "visual"  # visual | audio | audio_urgent
    transcript: str | None = None
    clip_path: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AlertRecord:
        return cls(
            id=int(row["id"]),
            camera=row["camera"],
            ts=float(row["ts"]),
            verdict=row["verdict"],
            description=row["description"],
            boxes=[(int(b[0]), int(b[1]), int(b[2]), int(b[3])) for b in json.loads(row["boxes"] or "[]")],
            full_frame=bool(row["full_frame"]),
            model=row["model"],
            latency_s=None if row["latency_s"] is None else float(row["latency_s"]),
            image_path=row["image_path"],
            review_status=row["review_status"],
            kind=row.get("kind") or "visual",
            transcript=row.get("transcript"),
            clip_path=row.get("clip_path"),
        )


def annotate(frame_bgr: np.ndarray, boxes: list[Box], verdict: str, label: str = "") -> np.ndarray:
    """A copy of the frame with the boxes drawn; line width follows the frame size."""
    out = frame_bgr.copy()
    colour = _COLOURS.get(verdict, (0, 255, 0))
    thickness = max(2, round(out.shape[1] / 640) * 2)
    for x, y, w, h in boxes:
        cv2.rectangle(out, (x, y), (x + w, y + h), colour, thickness)
    if label:
        scale = max(0.5, out.shape[1] / 1600)
        cv2.putText(
            out, label[:80], (10, round(30 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness
        )
    return out


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A suppression pattern, normalized like descriptions; '*' matches anything. Raises InvalidInput."""
    parts = [normalize_description(p) for p in pattern.split("*")]
    if not any(parts):
        raise InvalidInput(f"suppression pattern {pattern!r} has no words; it would silence every alert")
    return re.compile(r"\b" + r".*".join(re.escape(p) for p in parts if p) + r"\b")


class AlertStore:
    """Alert rows and images; thread-safe (every camera worker writes here)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._last_alert: dict[tuple[str, str], float] = {}
        self._suppressions: tuple[float, list[tuple[str | None, str, re.Pattern[str]]]] = (0.0, [])

    # -- cooldown and suppression ---------------------------------------------------------
    def in_cooldown(self, camera: str, ts: float, cooldown_s: float, verdict: str = "ALERT") -> bool:
        with self._lock:
            last = self._last_alert.get((camera, verdict))
        return last is not None and 0 <= ts - last < cooldown_s

    def suppressed_by(self, camera: str, description: str, extra: list[str] = ()) -> str | None:  # type: ignore[assignment]
        """The pattern that silences this description on this camera, or None."""
        text = normalize_description(description)
        for pattern in extra:
            if compile_pattern(pattern).search(text):
                return pattern
        for cam, raw, rx in self._suppression_rules():
            if (cam is None or cam == camera) and rx.search(text):
                return raw
        return None

    def add_suppression(self, pattern: str, *, camera: str | None = None, note: str = "") -> int:
        """Silence alerts whose normalized description matches. Raises InvalidInput, StorageUnavailable."""
        compile_pattern(pattern)
        result = self.db.execute(
            "INSERT INTO alert_suppressions (camera, pattern, note, created_at) VALUES (?, ?, ?, ?)",
            (camera, pattern, note, time.time()),
        )
        self._suppressions = (0.0, [])
        return int(result.lastrowid or 0)

    def _suppression_rules(self) -> list[tuple[str | None, str, re.Pattern[str]]]:
        loaded_at, rules = self._suppressions
        if time.monotonic() - loaded_at < _SUPPRESSION_CACHE_S and loaded_at:
            return rules
        rules = []
        for row in self.db.query("SELECT camera, pattern FROM alert_suppressions"):
            try:
                rules.append((row["camera"], row["pattern"], compile_pattern(row["pattern"])))
            except InvalidInput:
                log.warning("alerts: ignoring empty suppression pattern %r", row["pattern"])
        self._suppressions = (time.monotonic(), rules)
        return rules

    # -- recording ------------------------------------------------------------------------
    def record(
        self,
        *,
        camera: str,
        ts: float,
        frame_bgr: np.ndarray,
        boxes: list[Box],
        description: str,
        verdict: str,
        model: str,
        latency_s: float | None,
        full_frame: bool,
        config: AlertsConfig,
    ) -> AlertRecord:
        """Save the annotated frame and the row, log the alert, then apply retention.

        Raises StorageUnavailable (the database), InvalidInput (a camera name that would leave
        the image directory) or OSError (the image directory).
        """
        with self._lock:
            self._last_alert[(camera, verdict)] = ts
        path = image_path(Path(config.image_dir), camera, ts, verdict)
        path.parent.mkdir(parents=True, exist_ok=True)
        annotated = annotate(frame_bgr, boxes, verdict, f"{camera} {verdict}: {description}")
        ok, buf = cv2.imencode(".jpg", annotated, [cv2.IMWRITE_JPEG_QUALITY, 85])
        if not ok:
            raise OSError(f"could not encode the alert image of camera {camera!r}")
        path.write_bytes(bytes(buf))
        row = self.db.execute(
            "INSERT INTO alerts (camera, ts, boxes, description, normalized, verdict, full_frame, model, latency_s, "
            "image_path, image_bytes, review_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (camera, ts, json.dumps([list(b) for b in boxes]), description, normalize_description(description),
             verdict, int(full_frame), model, latency_s, str(path), len(buf), "new"),
        )  # fmt: skip
        alert_id = int(row.lastrowid or 0)
        if verdict == "ALERT":
            log.warning(
                "CONFIRMED ALERT camera=%s id=%d boxes=%s full_frame=%s latency=%.2fs: %s",
                camera, alert_id, boxes, full_frame, latency_s or 0.0, description,
            )  # fmt: skip
        else:
            log.info("unverified motion camera=%s id=%d boxes=%s", camera, alert_id, boxes)
        self.prune(camera, config, now=time.time())
        return AlertRecord(
            alert_id, camera, ts, verdict, description, boxes, full_frame, model, latency_s, str(path), "new"
        )

    def record_audio(
        self,
        *,
        camera: str,
        ts: float,
        kind: str,
        transcript: str,
        samples: np.ndarray,
        model: str,
        latency_s: float | None,
        config: AlertsConfig,
    ) -> AlertRecord:
        """Save a transcribed chunk as an ``audio`` or ``audio_urgent`` alert: its clip (Ogg
        Opus) next to the camera's images and the row with the transcript as description (so
        the review groups spoken alerts like seen ones), then apply retention.

        Raises StorageUnavailable, InvalidInput (a camera name leaving the folder), OSError.
        """
        from homelab_hub.cameras.audio import write_clip  # PyAV's encoder, only when one is due

        with self._lock:
            self._last_alert[(camera, kind)] = ts
        path = image_path(Path(config.image_dir), camera, ts, kind, suffix=".ogg")
        size = write_clip(samples, path)
        row = self.db.execute(
            "INSERT INTO alerts (camera, ts, boxes, description, normalized, verdict, full_frame, model, latency_s, "
            "image_path, image_bytes, review_status, kind, transcript, clip_path) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (camera, ts, "[]", transcript, normalize_description(transcript), "ALERT", 0, model, latency_s,
             None, size, "new", kind, transcript, str(path)),
        )  # fmt: skip
        alert_id = int(row.lastrowid or 0)
        log.warning("AUDIO ALERT camera=%s id=%d kind=%s: %s", camera, alert_id, kind, transcript)
        self.prune(camera, config, now=time.time())
        return AlertRecord(
            alert_id, camera, ts, "ALERT", transcript, [], False, model, latency_s, None, "new",
            kind=kind, transcript=transcript, clip_path=str(path),
        )  # fmt: skip

    def visual_alert_between(self, camera: str, earliest: float, latest: float) -> float | None:
        """Time of the newest confirmed visual alert of the camera within [earliest, latest],
        or None. Read from the database, so alerts of a camera worker in another process count.
        Raises StorageUnavailable."""
        row = self.db.query_one(
            "SELECT MAX(ts) AS ts FROM alerts WHERE camera = ? AND kind = 'visual' AND verdict = 'ALERT' "
            "AND ts >= ? AND ts <= ?",
            (camera, earliest, latest),
        )
        return None if row is None or row["ts"] is None else float(row["ts"])

    # -- reading and retention ------------------------------------------------------------
    def recent(
        self, *, camera: str | None = None, since: float | None = None, limit: int = 20
    ) -> list[AlertRecord]:
        """Newest first. Raises StorageUnavailable."""
        sql = "SELECT * FROM alerts WHERE 1 = 1"
        params: list[Any] = []
        if camera:
            sql += " AND camera = ?"
            params.append(camera)
        if since is not None:
            sql += " AND ts >= ?"
            params.append(since)
        sql += " ORDER BY ts DESC, id DESC LIMIT ?"
        params.append(int(limit))
        return [AlertRecord.from_row(r) for r in self.db.query(sql, params)]

    def has_alerts(self, camera: str) -> bool:
        """Whether any alert of this camera is stored (a camera since removed from the config
        still has its history). Raises StorageUnavailable."""
        return self.db.query_one("SELECT id FROM alerts WHERE camera = ? LIMIT 1", (camera,)) is not None

    def get(self, alert_id: int) -> AlertRecord | None:
        row = self.db.query_one("SELECT * FROM alerts WHERE id = ?", (alert_id,))
        return AlertRecord.from_row(row) if row else None

    def prune(self, camera: str, config: AlertsConfig, *, now: float) -> int:
        """Delete this camera's alerts older than retention_days (rows and images), then drop
        the oldest images (keeping their rows) until the rest fit in retention_mb. Returns the
        number of images removed."""
        cutoff = now - config.retention_days * 86400
        old = self.db.query(
            "SELECT id, image_path, clip_path FROM alerts WHERE camera = ? AND ts < ?", (camera, cutoff)
        )
        total = self.db.query_one(
            "SELECT COALESCE(SUM(image_bytes), 0) AS total FROM alerts WHERE camera = ? AND ts >= ?",
            (camera, cutoff),
        )
        excess = int(total["total"] if total else 0) - int(config.retention_mb * 1024 * 1024)
        trimmed: list[dict[str, Any]] = []
        if excess > 0:
            for row in self.db.query(
                "SELECT id, image_path, clip_path, image_bytes FROM alerts WHERE camera = ? AND ts >= ? "
                "AND image_bytes > 0 "
                "ORDER BY ts, id",
                (camera, cutoff),
            ):
                if excess <= 0:
                    break
                trimmed.append(row)
                excess -= int(row["image_bytes"])
        for row in [*old, *trimmed]:
            for key in ("image_path", "clip_path"):
                if row[key]:
                    Path(row[key]).unlink(missing_ok=True)
        if old:
            self.db.executemany("DELETE FROM alerts WHERE id = ?", [(int(r["id"]),) for r in old])
        if trimmed:
            self.db.executemany(
                "UPDATE alerts SET image_path = NULL, clip_path = NULL, image_bytes = 0 WHERE id = ?",
                [(int(r["id"]),) for r in trimmed],
            )
        if old or trimmed:
            log.info(
                "alerts: camera %s: retention removed %d old alerts and %d images",
                camera,
                len(old),
                len(trimmed),
            )
        return len(old) + len(trimmed)


def image_path(root: Path, camera: str, ts: float, verdict: str, suffix: str = ".jpg") -> Path:
    """Where an alert's image (or clip) goes: ROOT/CAMERA/DAY/HHMMSS-mmm-VERDICT.jpg.

    Camera names are plain words (checked at config load) and anything else in one becomes
    ``_``; the path is still checked to stay under ROOT (lexically: a symlinked camera folder
    on another disk is the operator's choice). Raises InvalidInput.
    """
    folder = re.sub(r"[^A-Za-z0-9_-]+", "_", camera) or "camera"
    day = time.strftime("%Y-%m-%d", time.localtime(ts))
    stamp = time.strftime("%H%M%S", time.localtime(ts)) + f"-{int(ts * 1000) % 1000:03d}"
    path = root / folder / day / f"{stamp}-{verdict.lower()}{suffix}"
    base = os.path.normpath(os.path.abspath(root))
    if os.path.commonpath([base, os.path.normpath(os.path.abspath(path))]) != base:
        raise InvalidInput(f"camera {camera!r}: its alert image would land outside {root}")
    return path
