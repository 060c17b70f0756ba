"""A stream error in words a person can act on: one short reason naming the (redacted) URL.

Shared by the camera manager (camera_list, /api/health, the pages) and ``doctor``, so a camera
that refuses connections reads the same everywhere. A leaf: imports nothing of the hub.
"""

from __future__ import annotations

# What a stream error means to a person, by words FFmpeg (or the OS) uses in it: first match wins.
_ERROR_REASONS = (
    (("connection refused",), "connection refused"),
    (("401", "unauthorized", "403", "forbidden", "authoriz"), "auth failed"),
    (("404", "not found"), "stream not found"),
    (("name or service", "resolve", "nodename"), "host name not found"),
    (("no route", "unreachable"), "host unreachable"),
    (("timed out", "timeout", "no data before"), "no answer"),
    (("invalid data",), "not a video stream"),
)


def error_reason(error: str, url: str) -> str:
    """``error`` (a stream or socket error text) as ``"connection refused (URL)"``, ``"auth
    failed (URL)"``…; the error itself when no known words are in it, "" for none."""
    if not error:
        return ""
    lowered = error.lower()
    for words, reason in _ERROR_REASONS:
        if any(w in lowered for w in words):
            return f"{reason} ({url})"
    return error
