"""Bearer tokens: each maps to an agent name and a role (agent or admin).

Only a SHA-256 hash of each token is stored. With no live token the hub serves loopback
only, everyone acting as agent ``local`` (an admin: it is the operator's own machine); as
soon as one token exists, every call to /mcp, /sse and /api (health aside) needs one.
"""

from __future__ import annotations

import hashlib
import hmac
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


def _hash(token: str) -> str:
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
            (name, "admin" if admin else "agent", _hash(token), time.time()),
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

    def verify(self, token: str) -> Identity | None:
        """The identity behind a token, or None. Compares hashes in constant time."""
        if not token or len(token) > 256:
            return None
        digest = _hash(token)
        row = self.db.query_one(
            "SELECT id, name, role, token_hash FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
            (digest,),
        )
        if row is None or not hmac.compare_digest(row["token_hash"], digest):
            return None
        return Identity(agent=row["name"], role="admin" if row["role"] == "admin" else "agent")


class TokenCache:
    """Live token hashes held in memory, so checking a request never touches the database
    on the event loop. Refreshed every ``refresh_s`` from the database (tokens created or
    revoked by the CLI or another hub take effect within that time) and at once after a
    change made through this process."""

    def __init__(self, store: TokenStore | None, refresh_s: float = 2.0) -> None:
        self.store = store
        self.refresh_s = refresh_s
        self._by_hash: dict[str, Identity] = {}
        self._loaded_at = 0.0

    def refresh(self) -> None:
        if self.store is None:
            return
        rows = self.store.db.query("SELECT name, role, token_hash FROM api_tokens WHERE revoked_at IS NULL")
        self._by_hash = {
            r["token_hash"]: Identity(agent=r["name"], role="admin" if r["role"] == "admin" else "agent")
            for r in rows
        }
        self._loaded_at = time.monotonic()

    def stale(self) -> bool:
        return time.monotonic() - self._loaded_at > self.refresh_s

    @property
    def any_live(self) -> bool:
        return bool(self._by_hash)

    def verify(self, token: str) -> Identity | None:
        if not token or len(token) > 256:
            return None
        digest = _hash(token)
        for known, identity in self._by_hash.items():
            # Compare against every live hash so timing does not depend on which one matched.
            if hmac.compare_digest(known, digest):
                return identity
        return None
