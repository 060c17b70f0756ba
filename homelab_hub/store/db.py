"""A small, thread-safe database handle over SQLite (stdlib) and MySQL/MariaDB (pymysql).

SQL is written once with ``?`` placeholders; for MySQL they become ``%s``. Each thread gets
its own connection (neither driver's connections may be shared across threads). Driver
errors that mean "the database went away or is busy" become `StorageUnavailable`, so a
caller sees a clear 503 instead of a stack trace; integrity errors become `Conflict`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlparse

from homelab_hub.errors import ConfigError, Conflict, StorageUnavailable
from homelab_hub.redact import redact_url
from homelab_hub.store.status import StorageStatus

log = logging.getLogger(__name__)

Dialect = Literal["sqlite", "mysql"]
Params = Sequence[Any]


@dataclass(frozen=True)
class ExecResult:
    rowcount: int
    lastrowid: int | None


def _mysql_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    import pymysql

    unavailable = (pymysql.err.OperationalError, pymysql.err.InterfaceError, ConnectionError, OSError)
    integrity = (pymysql.err.IntegrityError,)
    return unavailable, integrity


class _Conn:
    """A connection plus the cursor helpers the two dialects share."""

    def __init__(self, raw: Any, dialect: Dialect) -> None:
        self.raw = raw
        self.dialect = dialect
        self.in_tx = False
        self.after_commit: list[Callable[[], None]] = []  # what runs once the open transaction commits

    def cursor(self) -> Any:
        if self.dialect == "mysql":
            import pymysql.cursors

            return self.raw.cursor(pymysql.cursors.DictCursor)
        return self.raw.cursor()


class Database:
    """One database, used from any thread. Create with `Database.from_url`."""

    def __init__(self, url: str, *, dialect: Dialect, connect_args: dict[str, Any]) -> None:
        self.url = url
        self.dialect: Dialect = dialect
        self._connect_args = connect_args
        self._local = threading.local()
        self._all: list[_Conn] = []
        self._all_lock = threading.Lock()
        self._closed = False
        self.status = StorageStatus()
        if dialect == "mysql":
            self._unavailable, self._integrity = _mysql_errors()
        else:
            self._unavailable = (sqlite3.OperationalError,)
            self._integrity = (sqlite3.IntegrityError,)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_url(cls, url: str) -> Database:
        """Parse ``sqlite:///path`` or ``mysql+pymysql://user:pw@host:port/db``.

        Raises ConfigError on an unsupported URL.
        """
        parsed = urlparse(url)
        scheme = parsed.scheme.lower()
        if scheme == "sqlite":
            path = unquote(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else ""
            if not path or path == ":memory:":
                raise ConfigError(
                    f"storage.url: {url!r} is not a usable SQLite URL; expected sqlite:///relative/path.db "
                    "or sqlite:////absolute/path.db (in-memory databases cannot be shared between threads)"
                )
            file = Path(path).expanduser()
            _private_file(file)
            return cls(url, dialect="sqlite", connect_args={"path": str(file)})
        if scheme in ("mysql", "mysql+pymysql", "mariadb", "mariadb+pymysql"):
            query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
            args: dict[str, Any] = {
                "host": parsed.hostname or "127.0.0.1",
                "port": parsed.port or 3306,
                "user": unquote(parsed.username or "root"),
                "password": unquote(parsed.password or ""),
                "database": (parsed.path or "/").lstrip("/") or None,
                "charset": query.get("charset", "utf8mb4"),
                "connect_timeout": float(query.get("connect_timeout", 5)),
                "read_timeout": float(query.get("read_timeout", 30)),
                "write_timeout": float(query.get("write_timeout", 30)),
            }
            if "unix_socket" in query:
                args["unix_socket"] = query["unix_socket"]
            if not args["database"]:
                raise ConfigError(
                    f"storage.url: {redact_url(url)!r} names no database; expected mysql+pymysql://user:<password>@host:3306/dbname"
                )
            return cls(url, dialect="mysql", connect_args=args)
        raise ConfigError(
            f"storage.url: unsupported scheme {scheme!r} in {redact_url(url)!r}; expected sqlite:///… or mysql+pymysql://…"
        )

    @property
    def display_url(self) -> str:
        return redact_url(self.url)

    # -- connections --------------------------------------------------------------------
    def _connect(self) -> _Conn:
        if self._closed:
            raise StorageUnavailable("the database handle is closed")
        try:
            if self.dialect == "sqlite":
                raw = sqlite3.connect(
                    self._connect_args["path"], timeout=30, isolation_level=None, check_same_thread=False
                )
                raw.row_factory = sqlite3.Row
                raw.execute("PRAGMA journal_mode=WAL")
                raw.execute("PRAGMA synchronous=NORMAL")
                raw.execute("PRAGMA foreign_keys=ON")
                raw.execute("PRAGMA busy_timeout=30000")
            else:
                import pymysql

                raw = pymysql.connect(autocommit=True, **self._connect_args)
        except self._unavailable as exc:
            raise StorageUnavailable(f"database {self.display_url} is unreachable: {_short(exc)}") from exc
        conn = _Conn(raw, self.dialect)
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _conn(self) -> _Conn:
        conn: _Conn | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn: _Conn | None = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with self._all_lock:
                if conn in self._all:
                    self._all.remove(conn)
            try:
                conn.raw.close()
            except Exception:  # the connection is already broken; nothing more to do
                pass

    def _sql(self, sql: str, has_params: bool) -> str:
        if self.dialect == "mysql":
            if has_params:
                sql = sql.replace("%", "%%")
            return sql.replace("?", "%s")
        return sql

    def _run(self, conn: _Conn, sql: str, params: Params, many: bool = False) -> tuple[Any, Any]:
        cur = conn.cursor()
        if many:
            cur.executemany(self._sql(sql, True), params)
        elif params:
            cur.execute(self._sql(sql, True), tuple(params))
        else:
            cur.execute(self._sql(sql, False))
        return cur, conn

    @contextmanager
    def _guard(self, write: bool = True) -> Iterator[None]:
        try:
            yield
        except self._integrity as exc:
            self.status.note(write=write)  # the database answered: it is up
            raise Conflict(f"the database refused the write: {_short(exc)}") from exc
        except self._unavailable as exc:
            if self.dialect == "mysql":
                self._drop()
            self.status.note(write=write, error=_short(exc))
            raise StorageUnavailable(f"database {self.display_url} is unavailable: {_short(exc)}") from exc
        except StorageUnavailable as exc:  # could not connect
            self.status.note(write=write, error=exc.message)
            raise
        except sqlite3.ProgrammingError as exc:
            if not self._closed:
                raise
            # A thread's connection was closed under it at shutdown: the handle is gone.
            self.status.note(write=write, error="the database handle is closed")
            raise StorageUnavailable("the database handle is closed") from exc
        self.status.note(write=write)

    # -- public API ---------------------------------------------------------------------
    def query(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        """Run a SELECT and return rows as dicts. Raises StorageUnavailable."""
        with self._guard(write=False):
            conn = self._conn()
            cur, _ = self._run(conn, sql, params)
            rows = cur.fetchall()
            cur.close()
        return [dict(r) for r in rows]

    def query_one(self, sql: str, params: Params = ()) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def execute(self, sql: str, params: Params = ()) -> ExecResult:
        """Run one statement; outside a transaction it is committed before returning."""
        with self._guard():
            conn = self._conn()
            cur, _ = self._run(conn, sql, params)
            result = ExecResult(cur.rowcount, cur.lastrowid)
            cur.close()
        return result

    def executemany(self, sql: str, rows: Sequence[Params]) -> int:
        if not rows:
            return 0
        with self._guard():
            conn = self._conn()
            cur, _ = self._run(conn, sql, rows, many=True)
            count = cur.rowcount
            cur.close()
        return int(count)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """Group statements; commit on success, roll back on error.

        On SQLite the transaction takes the write lock at once (BEGIN IMMEDIATE), so two
        writers queue instead of failing half-way. Nested calls join the outer transaction.
        """
        with self._guard():
            conn = self._conn()
            if conn.in_tx:
                yield self
                return
            if self.dialect == "sqlite":
                conn.raw.execute("BEGIN IMMEDIATE")
            else:
                conn.raw.begin()
            conn.in_tx = True
            conn.after_commit = []
        try:
            yield self
        except BaseException:
            conn.in_tx = False
            conn.after_commit = []
            try:
                conn.raw.rollback() if self.dialect == "mysql" else conn.raw.execute("ROLLBACK")
            except Exception:
                self._drop()
            raise
        conn.in_tx = False
        after, conn.after_commit = conn.after_commit, []
        with self._guard():
            conn.raw.commit() if self.dialect == "mysql" else conn.raw.execute("COMMIT")
        for step in after:
            _run_after_commit(step)

    def after_commit(self, step: Callable[[], None]) -> None:
        """Run ``step`` once this thread's open transaction has committed (at once outside
        one; never after a rollback). For telling others about a change only when it is there
        to be read. A step that raises is logged, never passed on to the writer."""
        conn: _Conn | None = getattr(self._local, "conn", None)
        if conn is not None and conn.in_tx:
            conn.after_commit.append(step)
        else:
            _run_after_commit(step)

    def ping(self) -> float:
        """Round-trip a trivial query; returns seconds. Raises StorageUnavailable."""
        start = time.perf_counter()
        self.query("SELECT 1 AS one")
        return time.perf_counter() - start

    def close(self) -> None:
        self._closed = True
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            try:
                conn.raw.close()
            except Exception:  # closing is best effort at shutdown
                pass


def _private_file(file: Path) -> None:
    """Create the database file readable by its owner only (0600, in a 0700 directory when the
    hub creates it): it holds token hashes, memories and incidents. SQLite gives its -wal and
    -shm files the database file's permissions."""
    if not file.parent.exists():
        file.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    if not file.exists():
        os.close(os.open(file, os.O_CREAT | os.O_WRONLY, 0o600))
    elif file.stat().st_mode & 0o077:
        try:
            os.chmod(file, 0o600)
        except OSError:  # someone else's file: leave it, the operator chose its mode
            pass


def _run_after_commit(step: Callable[[], None]) -> None:
    try:
        step()
    except Exception:
        log.exception("a step after a commit failed (the commit stands)")


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < 300 else text[:297] + "..."
