"""Logging: console plus a size-rotated file that a restart appends to, never truncates
(a restart that wipes the log also wipes the evidence of why it was needed).

The console handler is the only one on stderr: the ``homelab-hub`` entry point's
``logging.basicConfig`` (for commands that never call this) had put a second one on the root
logger, and every line was printed twice when serving.
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
        rotating = logging.handlers.RotatingFileHandler(
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
