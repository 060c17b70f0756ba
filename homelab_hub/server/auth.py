"""Bearer tokens: each maps to an agent name and a role (agent or admin).

Only a SHA-256 hash of each token is stored. A hub that starts with no live token serves
loopback only, everyone acting as agent ``local`` (an admin: it is the operator's own
machine); as soon as one token exists, every call to /mcp, /sse and /api (health aside)
needs one, for the rest of the process's life (see `TokenCache`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection

from homelab_hub.errors import Conflict, InvalidInput, NotFound, Unauthorized
from homelab_hub.store import Database
from homelab_hub.tools.registry import Identity, Role

LOCAL_IDENTITY = Identity(agent="local", role="admin")
IDENTITY_KEY = "hub_identity"
TOKEN_PREFIX = "hh_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def identity_of(scope_or_conn: Any) -> Identity:
    """The identity the guard attached to this request. Raises Unauthorized."""
    scope = scope_or_conn.scope if isinstance(scope_or_conn, HTTPConnection) else scope_or_conn
    identity = (scope or {}).get("state", {}).get(IDENTITY_KEY) if scope else None
    if not isinstance(identity, Identity):
        raise Unauthorized("no credential on this request")
    return identity


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

    def live(self) -> dict[str, Identity]:
        """Every live token's hash with the identity it maps to."""
        rows = self.db.query("SELECT name, role, token_hash FROM api_tokens WHERE revoked_at IS NULL")
        return {r["token_hash"]: _identity(r["name"], r["role"]) for r in rows}


def _identity(name: str, role: str) -> Identity:
    return Identity(agent=name, role="admin" if role == "admin" else "agent")


class TokenCache:
    """Live token hashes held in memory, so checking a request never touches the database
    on the event loop. Refreshed every ``refresh_s`` from the database (tokens created or
    revoked by the CLI or another hub take effect within that time) and at once after a
    change made through this process.

    Whether tokens are required at all is decided once and only ever tightened: it is set at
    start when a live token exists, or the first time a refresh sees one. Revoking the last
    token leaves the hub requiring tokens (every request then gets 401) until it is restarted;
    it never turns a running hub back into the open, tokenless mode.
    """

    def __init__(self, store: TokenStore | None, refresh_s: float = 2.0) -> None:
        self.store = store
        self.refresh_s = refresh_s
        self._by_hash: dict[str, Identity] = {}
        self._required = False

    def refresh(self) -> None:
        if self.store is None:
            return
        self._by_hash = self.store.live()
        if self._by_hash:
            self._required = True

    @property
    def required(self) -> bool:
        """True once any live token has been seen by this process (never reset)."""
        return self._required

    def verify(self, token: str) -> Identity | None:
        """The identity behind a token, or None. The hash is looked up in a dict: what an
        attacker could time is the SHA-256 of their own guess, not a comparison with a secret."""
        if not token or len(token) > 256:
            return None
        return self._by_hash.get(_hash(token))

    def live_hash(self, token: str) -> str | None:
        """The stored hash of a live token (what a browser session remembers), or None."""
        if not token or len(token) > 256:
            return None
        digest = _hash(token)
        return digest if digest in self._by_hash else None

    def identity_for_hash(self, token_hash: str) -> Identity | None:
        """The identity of the live token with this hash; for a session made without a token
        (a tokenless hub's loopback browser), the local admin while no token is required."""
        if token_hash == "":
            return None if self._required else LOCAL_IDENTITY
        return self._by_hash.get(token_hash)
