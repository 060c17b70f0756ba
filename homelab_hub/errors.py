"""One error hierarchy for the whole hub.

Every error a caller may see is a `HubError`: it carries an HTTP status, a short machine code
and a message that is safe to show (no stack trace, no secrets). MCP turns it into an
`isError` tool result; REST into ``{"ok": false, "error": {"code", "message"}}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import ValidationError

from homelab_hub.redact import redact_text


class HubError(Exception):
    """Base class of every error that is meant to reach a caller."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        """The ``error`` object of the envelope. The message passes through redaction: an
        error that quotes a URL or a command line must not carry its secret out."""
        return {"code": self.code, "message": redact_text(self.message)}

    def envelope(self) -> bytes:
        """The whole JSON error body every HTTP surface answers: ``{"ok": false, "error": …}``."""
        return json.dumps({"ok": False, "error": self.to_dict()}, ensure_ascii=False).encode()


class InvalidInput(HubError):
    """The request was understood but a value in it is wrong."""

    status = 400
    code = "invalid_input"


class NotFound(HubError):
    """The named thing does not exist (or belongs to another agent: same answer)."""

    status = 404
    code = "not_found"


class Unauthorized(HubError):
    status = 401
    code = "unauthorized"


class Forbidden(HubError):
    status = 403
    code = "forbidden"


class Conflict(HubError):
    status = 409
    code = "conflict"


class PayloadTooLarge(HubError):
    status = 413
    code = "payload_too_large"


class TooManyStreams(HubError):
    """The caller (or the hub as a whole) already holds as many live streams as allowed."""

    status = 429
    code = "too_many_streams"


class Unavailable(HubError):
    """A component is not ready (warming up) or a dependency is down; retrying may help."""

    status = 503
    code = "unavailable"


class StorageUnavailable(Unavailable):
    """The database cannot be reached or refused the operation for a transient reason."""

    code = "storage_unavailable"


class WarmingUp(Unavailable):
    code = "warming_up"


class UpstreamError(HubError):
    """A dependency answered, but with something unusable (garbage JSON, an error status)."""

    status = 502
    code = "upstream_error"


class ConfigError(HubError):
    """The configuration is invalid; raised at start, never at request time."""

    status = 500
    code = "config_error"


@dataclass(frozen=True)
class Problem:
    """One field pydantic refused, in words a reader can act on."""

    path: str
    kind: str  # pydantic's error type: missing, extra_forbidden, int_parsing, ...
    message: str
    shown: str  # the refused value, repr'd and cut to ``width``


def problems(exc: ValidationError, *, width: int = 60) -> Iterator[Problem]:
    """The errors of a ValidationError, shared by config loading and tool arguments."""
    for err in exc.errors():
        shown = repr(err.get("input"))
        if len(shown) > width:
            shown = shown[: width - 3] + "..."
        path = ".".join(str(p) for p in err["loc"])
        yield Problem(path=path, kind=err["type"], message=err["msg"], shown=shown)
