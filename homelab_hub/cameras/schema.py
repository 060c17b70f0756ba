"""Tables owned by the cameras engine (numbered per component; see store/migrations.py).

alerts: one row per confirmed (ALERT) or unverified (model down) motion event, with its
annotated image on disk, or per transcribed audio alert (kind audio / audio_urgent) with its
transcript and clip; suppressions: description patterns that silence an alert kind
(written by the review page); camera_zones: each camera's edited zone set as JSON.
"""

from homelab_hub.store.migrations import Migration

_MYSQL = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"

# MySQL has no ADD COLUMN IF NOT EXISTS (MariaDB does): the one ALTER runs only while none of
# the three columns exists, so a migration cut short after it is safe to run again. One ALTER
# is atomic on InnoDB: either all three columns are there or none.
_ALERT_AUDIO_COLUMNS = (
    "SET @homelab_hub_alter = (SELECT IF(COUNT(*) = 0, "
    "'ALTER TABLE alerts ADD COLUMN kind VARCHAR(16) NOT NULL DEFAULT ''visual'', "
    "ADD COLUMN transcript TEXT NULL, ADD COLUMN clip_path VARCHAR(1024) NULL', 'DO 0') "
    "FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'alerts' "
    "AND column_name IN ('kind', 'transcript', 'clip_path'))",
    "PREPARE homelab_hub_stmt FROM @homelab_hub_alter",
    "EXECUTE homelab_hub_stmt",
    "DEALLOCATE PREPARE homelab_hub_stmt",
)

MIGRATIONS: list[Migration] = [
    Migration(
        component="cameras",
        version=1,
        description="alerts, suppressions and zones",
        sqlite=(
            "CREATE TABLE IF NOT EXISTS alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, camera TEXT NOT NULL, "
            "ts REAL NOT NULL, boxes TEXT NOT NULL, description TEXT NOT NULL, normalized TEXT NOT NULL, "
            "verdict TEXT NOT NULL, full_frame INTEGER NOT NULL DEFAULT 0, model TEXT NOT NULL, latency_s REAL, "
            "image_path TEXT, image_bytes INTEGER NOT NULL DEFAULT 0, review_status TEXT NOT NULL DEFAULT 'new')",
            "CREATE INDEX IF NOT EXISTS ix_alerts_camera_ts ON alerts (camera, ts)",
            "CREATE INDEX IF NOT EXISTS ix_alerts_ts ON alerts (ts)",
            "CREATE TABLE IF NOT EXISTS alert_suppressions (id INTEGER PRIMARY KEY AUTOINCREMENT, camera TEXT, "
            "pattern TEXT NOT NULL, note TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL)",
            "CREATE TABLE IF NOT EXISTS camera_zones (camera TEXT PRIMARY KEY, zones_json TEXT NOT NULL, "
            "updated_at REAL NOT NULL)",
        ),
        mysql=(
            "CREATE TABLE IF NOT EXISTS alerts (id BIGINT PRIMARY KEY AUTO_INCREMENT, camera VARCHAR(128) NOT NULL, "
            "ts DOUBLE NOT NULL, boxes TEXT NOT NULL, description TEXT NOT NULL, normalized TEXT NOT NULL, "
            "verdict VARCHAR(16) NOT NULL, full_frame TINYINT NOT NULL DEFAULT 0, model VARCHAR(255) NOT NULL, "
            "latency_s DOUBLE NULL, image_path VARCHAR(1024) NULL, image_bytes BIGINT NOT NULL DEFAULT 0, "
            "review_status VARCHAR(32) NOT NULL DEFAULT 'new', INDEX ix_alerts_camera_ts (camera, ts), "
            f"INDEX ix_alerts_ts (ts)) {_MYSQL}",
            "CREATE TABLE IF NOT EXISTS alert_suppressions (id BIGINT PRIMARY KEY AUTO_INCREMENT, "
            "camera VARCHAR(128) NULL, pattern VARCHAR(512) NOT NULL, note TEXT NOT NULL, "
            f"created_at DOUBLE NOT NULL) {_MYSQL}",
            "CREATE TABLE IF NOT EXISTS camera_zones (camera VARCHAR(128) PRIMARY KEY, zones_json MEDIUMTEXT NOT NULL, "
            f"updated_at DOUBLE NOT NULL) {_MYSQL}",
        ),
    ),
    Migration(
        component="cameras",
        version=2,
        description="alerts of kind audio and audio_urgent: kind, transcript, clip_path",
        sqlite=(
            # SQLite runs a migration in one transaction: a failed one leaves nothing behind.
            "ALTER TABLE alerts ADD COLUMN kind TEXT NOT NULL DEFAULT 'visual'",
            "ALTER TABLE alerts ADD COLUMN transcript TEXT",
            "ALTER TABLE alerts ADD COLUMN clip_path TEXT",
        ),
        mysql=_ALERT_AUDIO_COLUMNS,
    ),
]
