from homelab_hub.server.components import all_migrations
from homelab_hub.store import Database, Migration, migrate


def test_migrations_create_the_core_tables_on_both_backends(db):
    rows = db.query("SELECT component, version FROM schema_migrations ORDER BY component, version")
    assert {"component": "core", "version": 1} in rows
    assert db.query("SELECT COUNT(*) AS n FROM api_tokens")[0]["n"] == 0


def test_migrations_run_twice_apply_nothing_the_second_time(db_url):
    database = Database.from_url(db_url)
    assert migrate(database, all_migrations())
    assert migrate(database, all_migrations()) == []
    database.close()


def test_a_new_component_migration_is_applied_once(db):
    extra = Migration(
        "core",
        99,
        "test table",
        sqlite=("CREATE TABLE t99 (x INTEGER)",),
        mysql=("CREATE TABLE t99 (x INT)",),
    )
    assert migrate(db, [extra]) == [extra]
    assert migrate(db, [extra]) == []
    db.execute("INSERT INTO t99 (x) VALUES (?)", (5,))
    assert db.query_one("SELECT x FROM t99") == {"x": 5}


def test_text_with_sql_metacharacters_and_emoji_round_trips(db):
    text = "'; DROP TABLE api_tokens; -- 100% 🎥 ? %s"
    db.execute(
        "INSERT INTO worker_events (worker, ts, event, reason) VALUES (?, ?, ?, ?)",
        ("w", 1.0, "restart", text),
    )
    assert db.query_one("SELECT reason FROM worker_events WHERE reason = ?", (text,)) == {"reason": text}


def test_a_failed_transaction_leaves_nothing_behind(db):
    try:
        with db.transaction():
            db.execute("INSERT INTO worker_events (worker, ts, event, reason) VALUES ('w', 1, 'e', 'r')")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert db.query_one("SELECT COUNT(*) AS n FROM worker_events")["n"] == 0


def test_steps_after_a_commit_run_once_it_is_readable_and_never_after_a_rollback(db):
    count = "SELECT COUNT(*) AS n FROM worker_events"
    insert = "INSERT INTO worker_events (worker, ts, event, reason) VALUES ('w', 1, 'e', 'r')"
    seen: list[int] = []
    with db.transaction():
        db.execute(insert)
        with db.transaction():  # a nested one joins: its steps wait for the outer commit
            db.after_commit(lambda: seen.append(db.query_one(count)["n"]))
        assert seen == []
    assert seen == [1]
    try:
        with db.transaction():
            db.execute(insert)
            db.after_commit(lambda: seen.append(-1))
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    db.after_commit(lambda: seen.append(0))  # outside a transaction: at once
    with db.transaction():
        db.execute(insert)
        db.after_commit(lambda: 1 / 0)  # a failing step is logged; the writer is not told
    assert seen == [1, 0] and db.query_one(count)["n"] == 2
