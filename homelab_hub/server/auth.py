"""Bearer tokens: each maps to an agent name and a role (agent or admin).

Only a SHA-256 hash of each token is stored. A hub that starts with no live token serves
loopback only, everyone acting as agent ``local`` (an admin: it is the operator's own
machine); as soon as one token exists, every call to /mcp, /sse and /api (health aside)
needs one, for the rest of the process's life (see `TokenCache`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import HTTPConnection

from homelab_hub.errors import Unauthorized
from homelab_hub.server.token_store import LOCAL_IDENTITY, TokenStore, token_hash
from homelab_hub.tools.registry import Identity

IDENTITY_KEY = "hub_identity"


@dataclass(frozen=True)
class Credential:
    """What a request's identity rests on, to tell later whether it still holds (a live
    stream ends with it)."""

    kind: Literal["bearer", "session", "local"]
    key: str = ""  # the token's hash, or the session's hash; "" for a tokenless hub's 'local'


def identity_of(scope_or_conn: Any) -> Identity:
    """The identity the guard attached to this request. Raises Unauthorized."""
    scope = scope_or_conn.scope if isinstance(scope_or_conn, HTTPConnection) else scope_or_conn
    identity = (scope or {}).get("state", {}).get(IDENTITY_KEY) if scope else None
    if not isinstance(identity, Identity):
        raise Unauthorized("no credential on this request")
    return identity


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
        return self._by_hash.get(token_hash(token))

    def live_hash(self, token: str) -> str | None:
        """The stored hash of a live token (what a browser session remembers), or None."""
        if not token or len(token) > 256:
            return None
        digest = token_hash(token)
        return digest if digest in self._by_hash else None

    def identity_for_hash(self, token_hash: str) -> Identity | None:
        """The identity of the live token with this hash; for a session made without a token
        (a tokenless hub's loopback browser), the local admin while no token is required."""
        if token_hash == "":
            return None if self._required else LOCAL_IDENTITY
        return self._by_hash.get(token_hash)
