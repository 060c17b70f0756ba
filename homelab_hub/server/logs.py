"""Logging: console plus a size-rotated file that a restart appends to, never truncates
(a restart that wipes the log also wipes the evidence of why it was needed).

The console handler is the only one on stderr: the ``homelab-hub`` entry point's
``logging.basicConfig`` (for commands that never call this) had put a second one on the root
logger, and every line was printed twice when serving.

While the log file cannot be written (a full disk) its records still reach stderr through the
console handler; the file handler says so once on stderr, counts what it lost and, as soon as
it can write again, puts that count in the file, so the gap in the file is explained.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys

from homelab_hub.config import HubConfig

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
QUIET_LOGGERS = ("uvicorn.access", "httpx", "httpcore")


def setup_logging(config: HubConfig) -> None:
    root = logging.getLogger()
    root.setLevel(config.logging.level)
    for handler in list(root.handlers):
        if getattr(handler, "_homelab_hub", False) or _console(handler):
            root.removeHandler(handler)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter(FORMAT))
    console._homelab_hub = True  # type: ignore[attr-defined]
    root.addHandler(console)
    if config.logging.file:
        path = config.logging.file
        path.parent.mkdir(parents=True, exist_ok=True)
        rotating = LogFileHandler(
            path,
            mode="a",
            maxBytes=config.logging.max_bytes,
            backupCount=config.logging.backups,
            encoding="utf-8",
        )
        rotating.setFormatter(logging.Formatter(FORMAT))
        rotating._homelab_hub = True  # type: ignore[attr-defined]
        root.addHandler(rotating)
    # Access logs would repeat every request; tool metrics cover them. httpx logs one INFO line
    # per request: every vision call, every 5 s per camera. A log line is for a person, so
    # these speak only when something is wrong.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _console(handler: logging.Handler) -> bool:
    """A plain stream handler writing to the terminal (basicConfig's), not a file or a capture."""
    return type(handler) is logging.StreamHandler and getattr(handler, "stream", None) in (
        sys.stderr,
        sys.stdout,
        sys.__stderr__,
        sys.__stdout__,
    )


class LogFileHandler(logging.handlers.RotatingFileHandler):
    """The rotating log file, which counts the records it could not write instead of printing
    a "--- Logging error ---" traceback for each (see the module docstring)."""

    lost = 0
    last_error = ""

    def emit(self, record: logging.LogRecord) -> None:
        if self.lost:
            lost = self.lost
            notice = logging.LogRecord(
                __name__,
                logging.WARNING,
                __file__,
                0,
                "%d log record(s) could not be written to this file (%s); they went to stderr only",
                (lost, self.last_error),
                None,
            )
            super().emit(notice)
            if self.lost != lost:  # still failing: this record is lost as well
                self.lost = lost + 1
                return
            self.lost = 0
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        self.lost += 1
        self.last_error = str(sys.exc_info()[1] or "unknown error")
        if self.lost == 1:
            sys.stderr.write(
                f"homelab-hub: cannot write the log file {self.baseFilename} ({self.last_error}); "
                "log records go to stderr only until it can\n"
            )
        # Drop the stream with whatever it could not flush; the next record reopens the file.
        stream, self.stream = self.stream, None
        try:
            if stream is not None:
                stream.close()
        except OSError:
            pass
