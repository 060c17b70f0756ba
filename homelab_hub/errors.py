"""One error hierarchy for the whole hub.

Every error a caller may see is a `HubError`: it carries an HTTP status, a short machine code
and a message that is safe to show (no stack trace, no secrets). MCP turns it into an
`isError` tool result; REST into ``{"ok": false, "error": {"code", "message"}}``.
"""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    """Base class of every error that is meant to reach a caller."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


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
