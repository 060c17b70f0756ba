"""Tables owned by the cameras engine (numbered per component; see store/migrations.py).

alerts: one row per confirmed (ALERT) or unverified (model down) motion event, with its
annotated image on disk, or per transcribed audio alert (version 2: kind audio / audio_urgent,
with its transcript and clip); suppressions: description patterns that silence an alert kind
(written by the review page); camera_zones: each camera's edited zone set as JSON. Version 3 (the daily review):
review_groups (camera + normalized description, its state, the model's verdict, who decided),
review_runs (each classification run), and suppressions with an expiry, hit counters and undo.
"""

from homelab_hub.store.migrations import Migration

_MYSQL = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"

_SUPPRESSION_COLUMNS = (
    ("expires_at", "REAL", "DOUBLE NULL"),
    ("hits", "INTEGER NOT NULL DEFAULT 0", "BIGINT NOT NULL DEFAULT 0"),
    ("last_hit_at", "REAL", "DOUBLE NULL"),
    ("created_by", "TEXT", "VARCHAR(128) NULL"),
    ("removed_at", "REAL", "DOUBLE NULL"),
    ("removed_by", "TEXT", "VARCHAR(128) NULL"),
    ("group_id", "INTEGER", "BIGINT NULL"),
)


def _mysql_add_columns(table: str, columns: tuple[tuple[str, str, str], ...]) -> tuple[str, ...]:
    """ALTER TABLE that is safe to re-run on MySQL 8 and MariaDB alike (MySQL has no ADD COLUMN
    IF NOT EXISTS): one statement adds every column, prepared only when the first is missing.
    On SQLite the migration runs in one transaction, so plain ALTERs cannot half-apply."""
    alter = f"ALTER TABLE {table} " + ", ".join(f"ADD COLUMN {name} {mysql}" for name, _, mysql in columns)
    quoted = alter.replace("'", "''")  # the statement travels inside a SQL string literal
    return (
        f"SET @hh_ddl = (SELECT IF(COUNT(*) = 0, '{quoted}', 'SELECT 1') FROM information_schema.columns "
        f"WHERE table_schema = DATABASE() AND table_name = '{table}' AND column_name = '{columns[0][0]}')",
        "PREPARE hh_ddl FROM @hh_ddl",
        "EXECUTE hh_ddl",
        "DEALLOCATE PREPARE hh_ddl",
    )


_ALERT_AUDIO_COLUMNS = (
    ("kind", "TEXT NOT NULL DEFAULT 'visual'", "VARCHAR(16) NOT NULL DEFAULT 'visual'"),
    ("transcript", "TEXT", "TEXT NULL"),
    ("clip_path", "TEXT", "VARCHAR(1024) NULL"),
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
        # SQLite runs a migration in one transaction: a failed one leaves nothing behind.
        sqlite=tuple(
            f"ALTER TABLE alerts ADD COLUMN {name} {sqlite}" for name, sqlite, _ in _ALERT_AUDIO_COLUMNS
        ),
        mysql=_mysql_add_columns("alerts", _ALERT_AUDIO_COLUMNS),
    ),
    Migration(
        component="cameras",
        version=3,
        description="review groups, review runs, suppression expiry and hit counters",
        sqlite=(
            "CREATE TABLE IF NOT EXISTS review_groups (id INTEGER PRIMARY KEY AUTOINCREMENT, camera TEXT NOT NULL, "
            "group_key TEXT NOT NULL, normalized TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'needs_review', "
            "note TEXT NOT NULL DEFAULT '', verdict TEXT, confidence REAL, reason TEXT NOT NULL DEFAULT '', "
            "suggested_pattern TEXT NOT NULL DEFAULT '', model TEXT NOT NULL DEFAULT '', classified_at REAL, "
            "decided_by TEXT NOT NULL DEFAULT '', decided_at REAL, suppression_id INTEGER, "
            "created_at REAL NOT NULL, updated_at REAL NOT NULL)",
            "CREATE UNIQUE INDEX IF NOT EXISTS ux_review_groups_key ON review_groups (camera, group_key)",
            "CREATE TABLE IF NOT EXISTS review_runs (id INTEGER PRIMARY KEY AUTOINCREMENT, trigger_kind TEXT NOT NULL, "
            "started_at REAL NOT NULL, finished_at REAL NOT NULL, model TEXT NOT NULL, groups_seen INTEGER NOT NULL, "
            "classified INTEGER NOT NULL, flagged INTEGER NOT NULL, failed INTEGER NOT NULL, "
            "error TEXT NOT NULL DEFAULT '')",
            "CREATE INDEX IF NOT EXISTS ix_review_runs_started ON review_runs (trigger_kind, started_at)",
            *(
                f"ALTER TABLE alert_suppressions ADD COLUMN {name} {sqlite}"
                for name, sqlite, _ in _SUPPRESSION_COLUMNS
            ),
        ),
        mysql=(
            "CREATE TABLE IF NOT EXISTS review_groups (id BIGINT PRIMARY KEY AUTO_INCREMENT, "
            "camera VARCHAR(128) NOT NULL, group_key CHAR(40) NOT NULL, normalized TEXT NOT NULL, "
            "state VARCHAR(32) NOT NULL DEFAULT 'needs_review', note TEXT NOT NULL, verdict VARCHAR(32) NULL, "
            "confidence DOUBLE NULL, reason TEXT NOT NULL, suggested_pattern VARCHAR(512) NOT NULL DEFAULT '', "
            "model VARCHAR(255) NOT NULL DEFAULT '', classified_at DOUBLE NULL, "
            "decided_by VARCHAR(128) NOT NULL DEFAULT '', decided_at DOUBLE NULL, suppression_id BIGINT NULL, "
            "created_at DOUBLE NOT NULL, updated_at DOUBLE NOT NULL, "
            f"UNIQUE KEY ux_review_groups_key (camera, group_key)) {_MYSQL}",
            "CREATE TABLE IF NOT EXISTS review_runs (id BIGINT PRIMARY KEY AUTO_INCREMENT, "
            "trigger_kind VARCHAR(32) NOT NULL, started_at DOUBLE NOT NULL, finished_at DOUBLE NOT NULL, "
            "model VARCHAR(255) NOT NULL, groups_seen INT NOT NULL, classified INT NOT NULL, flagged INT NOT NULL, "
            f"failed INT NOT NULL, error TEXT NOT NULL, INDEX ix_review_runs_started (trigger_kind, started_at)) {_MYSQL}",
            *_mysql_add_columns("alert_suppressions", _SUPPRESSION_COLUMNS),
        ),
    ),
    Migration(
        component="cameras",
        version=4,
        description="alerts from camera workers: origin, the worker's id for the alert, stored once",
        sqlite=(
            "ALTER TABLE alerts ADD COLUMN origin TEXT NULL",
            "CREATE UNIQUE INDEX IF NOT EXISTS ux_alerts_origin ON alerts (origin)",
        ),
        # One statement, so the unique key comes with the column (NULLs, local alerts, repeat).
        mysql=_mysql_add_columns(
            "alerts", (("origin", "", "VARCHAR(160) NULL, ADD UNIQUE KEY ux_alerts_origin (origin)"),)
        ),
    ),
]
