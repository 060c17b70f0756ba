"""Reading service logs cheaply: the tail for forensics, new lines since the last check, and
how long the log has been silent.

Only the end of a file is ever read (a check must cost milliseconds, not scale with a log
of gigabytes). A `LogCursor` remembers the file's inode and the offset read up to, so that
a rotated log (renamed to ``name.1`` / ``name.0`` / ``name-DATE`` and recreated) is
followed: the rest of the old file is read from its new name, then the new file from the
start. A truncated file (size below the offset) is read again from the start.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from homelab_hub.watchdog.records import FindingKind

# At most this much of a file is read per check; older lines were either scanned by an
# earlier check or are too old to matter.
MAX_SCAN_BYTES = 256 * 1024
TAIL_CHUNK = 64 * 1024


class LogProblem(Exception):
    """The log cannot be read: missing or unreadable. A finding, never a crash."""

    def __init__(self, kind: FindingKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class LogCursor:
    inode: int = 0
    offset: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"inode": self.inode, "offset": self.offset}

    @classmethod
    def from_dict(cls, data: dict[str, int] | None) -> LogCursor | None:
        if not data:
            return None
        return cls(inode=int(data.get("inode", 0)), offset=int(data.get("offset", 0)))


@dataclass
class LogRead:
    age_s: float
    new_lines: list[str]
    cursor: LogCursor
    rotated: bool = False


def _stat(path: Path) -> os.stat_result:
    try:
        return path.stat()
    except FileNotFoundError as exc:
        raise LogProblem("log_missing", f"log {path} does not exist") from exc
    except PermissionError as exc:
        raise LogProblem("log_unreadable", f"log {path} cannot be read: permission denied") from exc
    except OSError as exc:
        raise LogProblem("log_unreadable", f"log {path} cannot be read: {exc.strerror or exc}") from exc


def _read_range(path: Path, start: int, end: int | None = None) -> bytes:
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            stop = size if end is None else min(end, size)
            start = max(start, stop - MAX_SCAN_BYTES)
            fh.seek(start)
            return fh.read(max(0, stop - start))
    except FileNotFoundError as exc:
        raise LogProblem("log_missing", f"log {path} does not exist") from exc
    except OSError as exc:
        raise LogProblem("log_unreadable", f"log {path} cannot be read: {exc.strerror or exc}") from exc


def _rotated_sibling(path: Path, inode: int) -> Path | None:
    """The file the log was rotated to: same inode, name starting with the log's name."""
    try:
        with os.scandir(path.parent) as entries:
            for entry in entries:
                if entry.name != path.name and entry.name.startswith(path.name):
                    try:
                        if entry.inode() == inode and entry.is_file():
                            return Path(entry.path)
                    except OSError:
                        continue
    except OSError:
        return None
    return None


def _lines(raw: bytes) -> list[str]:
    text = raw.decode("utf-8", errors="replace")
    return [line for line in text.splitlines() if line.strip()]


def read_new(path: Path, cursor: LogCursor | None, now: float | None = None) -> LogRead:
    """Lines appended since ``cursor`` (first sight: the last MAX_SCAN_BYTES), and the log's age.

    Raises LogProblem when the file is missing or unreadable.
    """
    st = _stat(path)
    age = max(0.0, (time.time() if now is None else now) - st.st_mtime)
    chunks: list[bytes] = []
    rotated = False
    if cursor is None:
        chunks.append(_read_range(path, max(0, st.st_size - MAX_SCAN_BYTES), st.st_size))
    elif cursor.inode != st.st_ino:
        rotated = True
        old = _rotated_sibling(path, cursor.inode)
        if old is not None:
            chunks.append(_read_range(old, cursor.offset))
        chunks.append(_read_range(path, 0, st.st_size))
    else:
        start = cursor.offset if st.st_size >= cursor.offset else 0
        chunks.append(_read_range(path, start, st.st_size))
    # The cursor ends at the last complete line, so a line being written is read whole later.
    tail = chunks[-1]
    complete = tail.rfind(b"\n") + 1
    if complete < len(tail):
        chunks[-1] = tail[:complete]
    consumed_end = st.st_size - (len(tail) - complete) if tail else st.st_size
    lines: list[str] = []
    for raw in chunks:
        lines.extend(_lines(raw))
    return LogRead(age_s=age, new_lines=lines, cursor=LogCursor(st.st_ino, consumed_end), rotated=rotated)


def tail_lines(path: Path, count: int) -> list[str]:
    """The last ``count`` lines of a log (reading backwards in chunks). Raises LogProblem."""
    try:
        with open(path, "rb") as fh:
            end = os.fstat(fh.fileno()).st_size
            data = b""
            pos = end
            while pos > 0 and data.count(b"\n") <= count and end - pos < 8 * 1024 * 1024:
                step = min(TAIL_CHUNK, pos)
                pos -= step
                fh.seek(pos)
                data = fh.read(step) + data
    except FileNotFoundError as exc:
        raise LogProblem("log_missing", f"log {path} does not exist") from exc
    except OSError as exc:
        raise LogProblem("log_unreadable", f"log {path} cannot be read: {exc.strerror or exc}") from exc
    return data.decode("utf-8", errors="replace").splitlines()[-count:]


def log_age_s(path: Path) -> float | None:
    """Seconds since the log was last written, or None if it cannot be stat'ed."""
    try:
        return max(0.0, time.time() - path.stat().st_mtime)
    except OSError:
        return None
