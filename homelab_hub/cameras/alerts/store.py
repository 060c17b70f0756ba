"""Alerts: database rows, annotated JPEGs on disk, retention, cooldown and suppression.

Every confirmed alert logs one ``CONFIRMED ALERT`` line (the seed's daily review parses
them), gets a row and the full frame annotated with its boxes. Suppression patterns match
the normalized description ("a kamado grill" silences every alert describing it); the
review page writes them to ``alert_suppressions``, the config may list more. A stored one may
expire, counts the alerts it silenced (hits, last hit) and is undone by marking it removed,
so its history stays.
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
from typing import Any, Literal

import numpy as np

from homelab_hub.cameras.detect.motion import Box
from homelab_hub.cameras.detect.verdict import normalize_description
from homelab_hub.cameras.settings import AlertsConfig
from homelab_hub.errors import Conflict, HubError, InvalidInput, NotFound
from homelab_hub.lazy import lazy_module
from homelab_hub.store import Database

cv2 = lazy_module("cv2")

log = logging.getLogger(__name__)


def boxes_from_json(raw: str | None) -> list[Box]:
    """The alerts table's ``boxes`` column (JSON [[x, y, w, h], ...]) as tuples."""
    return [(int(b[0]), int(b[1]), int(b[2]), int(b[3])) for b in json.loads(raw or "[]")]


_COLOURS = {"ALERT": (0, 0, 255), "UNVERIFIED": (0, 200, 255)}
# Another process's new patterns (a camera worker of its own) apply within this long; changes
# made through the same store (the hub's one, owned by its CameraService) bump its generation
# and apply from the next alert on.
_SUPPRESSION_CACHE_S = 10.0
MAX_PATTERN_CHARS = 200  # a description is one short sentence; the MySQL column holds 512
MAX_PATTERN_WILDCARDS = 8  # 'car * road' needs one; more than a few only say "anything"
# The same bound as a JSON-schema pattern, for the tools' published input.
PATTERN_SCHEMA = rf"^[^*]*(\*[^*]*){{0,{MAX_PATTERN_WILDCARDS}}}$"


AlertKind = Literal["visual", "audio", "audio_urgent"]
AudioKind = Literal["audio", "audio_urgent"]
AlertVerdict = Literal["ALERT", "UNVERIFIED"]  # confirmed by the model, or motion it could not judge
# "new" until the review first reads it, then its review group's state (review/store.py's GroupState).
ReviewStatus = Literal["new", "needs_review", "ai_flagged", "suppressed", "acknowledged"]


@dataclass(frozen=True)
class AlertRecord:
    id: int
    camera: str
    ts: float
    verdict: AlertVerdict
    description: str
    boxes: list[Box]
    full_frame: bool
    model: str
    latency_s: float | None
    image_path: str | None
    review_status: ReviewStatus
    kind: AlertKind = "visual"
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
            boxes=boxes_from_json(row["boxes"]),
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


@dataclass(frozen=True)
class RemoteAlert:
    """An alert as a camera worker sends it: ``origin`` is unique across workers and restarts."""

    origin: str
    camera: str
    ts: float
    verdict: AlertVerdict
    kind: AlertKind
    description: str
    boxes: list[Box]
    full_frame: bool
    model: str
    latency_s: float | None
    transcript: str | None = None
    image: bytes | None = None  # the annotated JPEG (visual)
    clip: bytes | None = None  # the Ogg Opus clip (audio)


def _safe_origin(origin: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", origin)[-48:]


@dataclass(frozen=True)
class Suppression:
    """A stored suppression pattern and what it has done."""

    id: int
    camera: str | None  # None: every camera
    pattern: str
    note: str
    created_at: float
    created_by: str
    expires_at: float | None
    hits: int
    last_hit_at: float | None
    removed_at: float | None
    removed_by: str
    group_id: int | None

    def active(self, now: float) -> bool:
        return self.removed_at is None and (self.expires_at is None or self.expires_at > now)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Suppression:
        def num(key: str) -> float | None:
            return None if row.get(key) is None else float(row[key])

        return cls(
            id=int(row["id"]),
            camera=row["camera"],
            pattern=row["pattern"],
            note=row["note"] or "",
            created_at=float(row["created_at"]),
            created_by=row.get("created_by") or "",
            expires_at=num("expires_at"),
            hits=int(row.get("hits") or 0),
            last_hit_at=num("last_hit_at"),
            removed_at=num("removed_at"),
            removed_by=row.get("removed_by") or "",
            group_id=None if row.get("group_id") is None else int(row["group_id"]),
        )


@dataclass(frozen=True)
class _Rule:
    id: int | None  # None: from the config
    camera: str | None
    pattern: str
    rx: SuppressionPattern
    expires_at: float | None


class SuppressionPattern:
    """A compiled suppression pattern: its parts, in order, with anything between them, the
    first starting a word and the last ending one (what ``\\bpart.*part.*part\\b`` means).

    Matched with ``str.find``, part after part, never with a backtracking regex: the regex
    form took 34 s on one 813-character description for ``t*e*e*e*e*e*q`` (and ten times
    longer per extra ``*e``), holding the GIL, so every request and camera waited. The
    earliest place of each middle part is always the best one, so one pass decides; only
    the last part may need a few tries for its word end. Time: the text's length times the
    number of parts (at most MAX_PATTERN_WILDCARDS + 1).
    """

    def __init__(self, pattern: str, parts: list[str]) -> None:
        self.pattern = pattern
        self.parts = parts

    def search(self, text: str) -> bool:
        parts = self.parts
        first, last = parts[0], parts[-1]
        at = text.find(first)
        while at >= 0 and not _boundary(text, at):
            at = text.find(first, at + 1)
        if at < 0:
            return False
        if len(parts) == 1:  # one part: the same place must also end a word
            while at >= 0:
                if _boundary(text, at) and _boundary(text, at + len(first)):
                    return True
                at = text.find(first, at + 1)
            return False
        end = at + len(first)
        for part in parts[1:-1]:
            at = text.find(part, end)
            if at < 0:
                return False
            end = at + len(part)
        at = text.find(last, end)
        while at >= 0:
            if _boundary(text, at + len(last)):
                return True
            at = text.find(last, at + 1)
        return False


def _boundary(text: str, i: int) -> bool:
    """Whether ``i`` is a word boundary of ``text`` (``\\b``)."""
    before = i > 0 and _word_char(text[i - 1])
    after = i < len(text) and _word_char(text[i])
    return before != after


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def compile_pattern(pattern: str) -> SuppressionPattern:
    """A suppression pattern, normalized like descriptions; '*' matches anything. Raises InvalidInput."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise InvalidInput(
            f"suppression pattern is {len(pattern)} characters long; at most {MAX_PATTERN_CHARS} are allowed "
            "(a few words of the description, e.g. 'car on the road')"
        )
    if pattern.count("*") > MAX_PATTERN_WILDCARDS:
        raise InvalidInput(
            f"suppression pattern {pattern[:60]!r} has {pattern.count('*')} '*'; at most "
            f"{MAX_PATTERN_WILDCARDS} are allowed (a few words, e.g. 'car * road')"
        )
    parts = [p for p in (normalize_description(p) for p in pattern.split("*")) if p]
    if not parts:
        raise InvalidInput(f"suppression pattern {pattern!r} has no words; it would silence every alert")
    return SuppressionPattern(pattern, parts)


class AlertStore:
    """Alert rows and images; thread-safe (every camera worker writes here)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._last_alert: dict[tuple[str, str], float] = {}
        self._rules: tuple[float, int, list[_Rule]] = (0.0, -1, [])
        self._generation = 0  # bumped by every suppression change made through this store

    # -- cooldown and suppression ---------------------------------------------------------
    def in_cooldown(self, camera: str, ts: float, cooldown_s: float, verdict: str = "ALERT") -> bool:
        with self._lock:
            last = self._last_alert.get((camera, verdict))
        return last is not None and 0 <= ts - last < cooldown_s

    def suppressed_by(self, camera: str, description: str, extra: list[str] = ()) -> str | None:  # type: ignore[assignment]
        """The pattern that silences this description on this camera, or None. A stored
        pattern that matches counts a hit (a database hiccup there is logged, not raised)."""
        text = normalize_description(description)
        for pattern in extra:
            if compile_pattern(pattern).search(text):
                return pattern
        now = time.time()
        for rule in self._suppression_rules():
            if rule.expires_at is not None and rule.expires_at <= now:
                continue  # expired since the cache was loaded
            if (rule.camera is None or rule.camera == camera) and rule.rx.search(text):
                if rule.id is not None:
                    self._count_hit(rule.id, now)
                return rule.pattern
        return None

    def add_suppression(
        self,
        pattern: str,
        *,
        camera: str | None = None,
        note: str = "",
        expires_at: float | None = None,
        created_by: str = "",
        group_id: int | None = None,
    ) -> Suppression:
        """Silence alerts whose normalized description matches, optionally until ``expires_at``.
        Raises InvalidInput (empty or too long pattern, expiry not in the future),
        StorageUnavailable."""
        compile_pattern(pattern)
        now = time.time()
        if expires_at is not None and expires_at <= now:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(expires_at))
            raise InvalidInput(f"suppression expiry {when} is in the past; give a time in the future or none")
        result = self.db.execute(
            "INSERT INTO alert_suppressions (camera, pattern, note, created_at, created_by, expires_at, hits, "
            "group_id) VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
            (camera, pattern, note[:500], now, created_by[:128], expires_at, group_id),
        )
        self._changed()
        found = self.suppression(int(result.lastrowid or 0))
        assert found is not None
        return found

    def remove_suppression(self, suppression_id: int, *, removed_by: str = "") -> Suppression:
        """Undo a suppression (kept, marked removed). Raises NotFound, StorageUnavailable."""
        current = self.suppression(suppression_id)
        if current is None:
            raise NotFound(f"suppression {suppression_id} does not exist")
        if current.removed_at is None:
            self.db.execute(
                "UPDATE alert_suppressions SET removed_at = ?, removed_by = ? WHERE id = ? AND removed_at IS NULL",
                (time.time(), removed_by[:128], suppression_id),
            )
            self._changed()
        found = self.suppression(suppression_id)
        assert found is not None
        return found

    def suppression(self, suppression_id: int) -> Suppression | None:
        row = self.db.query_one("SELECT * FROM alert_suppressions WHERE id = ?", (suppression_id,))
        return Suppression.from_row(row) if row else None

    def suppressions(self, *, camera: str | None = None, include_inactive: bool = False) -> list[Suppression]:
        """Stored suppressions, newest first; active ones only unless asked. Raises StorageUnavailable."""
        rows = self.db.query("SELECT * FROM alert_suppressions ORDER BY created_at DESC, id DESC")
        now = time.time()
        found = [Suppression.from_row(r) for r in rows]
        return [
            s
            for s in found
            if (include_inactive or s.active(now)) and (camera is None or s.camera in (None, camera))
        ]

    def _changed(self) -> None:
        with self._lock:
            self._generation += 1

    def _count_hit(self, suppression_id: int, now: float) -> None:
        try:
            self.db.execute(
                "UPDATE alert_suppressions SET hits = hits + 1, last_hit_at = ? WHERE id = ?",
                (now, suppression_id),
            )
        except HubError as exc:
            log.warning("alerts: could not count a hit of suppression %d: %s", suppression_id, exc.message)

    def _suppression_rules(self) -> list[_Rule]:
        loaded_at, generation, rules = self._rules
        fresh = loaded_at and time.monotonic() - loaded_at < _SUPPRESSION_CACHE_S
        if fresh and generation == self._generation:
            return rules
        generation = self._generation
        try:
            rows = self.db.query(
                "SELECT id, camera, pattern, expires_at FROM alert_suppressions "
                "WHERE removed_at IS NULL AND (expires_at IS NULL OR expires_at > ?)",
                (time.time(),),
            )
        except HubError as exc:
            # The database went away: the patterns last read still apply (their expiry too).
            log.warning("alerts: suppressions not reloaded, using the last %d: %s", len(rules), exc.message)
            return rules
        rules = []
        for row in rows:
            try:
                rx = compile_pattern(row["pattern"])
            except InvalidInput:
                log.warning("alerts: ignoring unusable suppression pattern %r", row["pattern"][:80])
                continue
            expires = None if row["expires_at"] is None else float(row["expires_at"])
            rules.append(_Rule(int(row["id"]), row["camera"], row["pattern"], rx, expires))
        self._rules = (time.monotonic(), generation, rules)
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
        verdict: AlertVerdict,
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
        kind: AudioKind,
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
        from homelab_hub.cameras.audio.sink import write_clip  # PyAV's encoder, only when one is due

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

    def ingest(self, alert: RemoteAlert, config: AlertsConfig) -> AlertRecord | None:
        """Store an alert a camera worker made (its annotated image or clip attached), once:
        None when its ``origin`` is already stored (a redelivery after a lost acknowledgement,
        or another hub on the same database took it first). The file is written first, then
        the row; a duplicate's file is removed again.

        Raises StorageUnavailable, InvalidInput (a camera name leaving the folder), OSError.
        """
        if self.db.query_one("SELECT id FROM alerts WHERE origin = ?", (alert.origin,)) is not None:
            return None
        suffix = ".ogg" if alert.kind != "visual" else ".jpg"
        path = image_path(
            Path(config.image_dir),
            alert.camera,
            alert.ts,
            alert.kind if alert.kind != "visual" else alert.verdict,
            suffix=suffix,
        )
        path = path.with_name(f"{path.stem}-{_safe_origin(alert.origin)}{path.suffix}")
        path.parent.mkdir(parents=True, exist_ok=True)
        data = alert.clip if alert.kind != "visual" else alert.image
        if data:
            path.write_bytes(data)
        image = str(path) if data and alert.kind == "visual" else None
        clip = str(path) if data and alert.kind != "visual" else None
        try:
            row = self.db.execute(
                "INSERT INTO alerts (camera, ts, boxes, description, normalized, verdict, full_frame, model, latency_s, "
                "image_path, image_bytes, review_status, kind, transcript, clip_path, origin) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (alert.camera, alert.ts, json.dumps([list(b) for b in alert.boxes]), alert.description,
                 normalize_description(alert.description), alert.verdict, int(alert.full_frame), alert.model,
                 alert.latency_s, image, len(data or b""), "new", alert.kind, alert.transcript, clip, alert.origin),
            )  # fmt: skip
        except Conflict:  # stored by another hub between the look and the insert
            if data:
                path.unlink(missing_ok=True)
            return None
        except BaseException:
            if data:
                path.unlink(missing_ok=True)
            raise
        with self._lock:
            key = (alert.camera, alert.kind if alert.kind != "visual" else alert.verdict)
            self._last_alert[key] = max(self._last_alert.get(key, alert.ts), alert.ts)
        alert_id = int(row.lastrowid or 0)
        if alert.verdict == "ALERT":
            log.warning(
                "CONFIRMED ALERT camera=%s id=%d from=%s boxes=%s: %s",
                alert.camera, alert_id, alert.origin.split(":", 1)[0], alert.boxes, alert.description,
            )  # fmt: skip
        self.prune(alert.camera, config, now=time.time())
        return AlertRecord(
            alert_id, alert.camera, alert.ts, alert.verdict, alert.description, list(alert.boxes), alert.full_frame,
            alert.model, alert.latency_s, image, "new", kind=alert.kind, transcript=alert.transcript, clip_path=clip,
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
