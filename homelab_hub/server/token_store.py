"""The token store: each bearer token's SHA-256 with the agent name and role it maps to
(table api_tokens). The token itself is shown once at creation and never stored."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from homelab_hub.errors import Conflict, InvalidInput, NotFound
from homelab_hub.store import Database
from homelab_hub.tools.registry import Identity, Role

LOCAL_IDENTITY = Identity(agent="local", role="admin")
TOKEN_PREFIX = "hh_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class TokenInfo:
    name: str
    role: Role
    created_at: float
    revoked_at: float | None
    last_used_at: float | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, name: str, *, admin: bool = False) -> str:
        """Make a token for agent ``name``; returns the token (shown once, never stored).

        Raises InvalidInput for a bad name, Conflict if the agent already has a live token.
        """
        if not _NAME.match(name):
            raise InvalidInput(
                f"token name {name!r} is not valid; use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        if self.db.query_one("SELECT id FROM api_tokens WHERE name = ? AND revoked_at IS NULL", (name,)):
            raise Conflict(
                f"agent {name!r} already has a live token; revoke it first (homelab-hub token revoke {name})"
            )
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.db.execute(
            "INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)",
            (name, "admin" if admin else "agent", token_hash(token), time.time()),
        )
        return token

    def revoke(self, name: str) -> int:
        """Revoke the agent's live tokens. Raises NotFound when it has none."""
        result = self.db.execute(
            "UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (time.time(), name)
        )
        if result.rowcount == 0:
            raise NotFound(f"no live token named {name!r}")
        return result.rowcount

    def list(self) -> list[TokenInfo]:
        rows = self.db.query(
            "SELECT name, role, created_at, revoked_at, last_used_at FROM api_tokens ORDER BY name, created_at"
        )
        return [TokenInfo(**r) for r in rows]

    def any_live(self) -> bool:
        return self.db.query_one("SELECT id FROM api_tokens WHERE revoked_at IS NULL LIMIT 1") is not None

    def live(self) -> dict[str, Identity]:
        """Every live token's hash with the identity it maps to."""
        rows = self.db.query("SELECT name, role, token_hash FROM api_tokens WHERE revoked_at IS NULL")
        return {r["token_hash"]: _identity(r["name"], r["role"]) for r in rows}


def _identity(name: str, role: str) -> Identity:
    return Identity(agent=name, role="admin" if role == "admin" else "agent")
