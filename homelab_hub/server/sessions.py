"""Browser sessions: a token typed once on /login becomes a session cookie.

The cookie holds a random session id; the database holds only its SHA-256, the identity of
the token it was made from, a CSRF token for the pages' writes, and an expiry. A session
lives no longer than its token: revoking the token ends every session made from it. A
tokenless hub gives loopback browsers a session as the admin ``local`` without a login, so
that its pages carry a CSRF token like any other.

As with tokens, requests are checked against an in-memory cache (`SessionCache`), refreshed
from the database every couple of seconds, so a revocation by the CLI reaches a running hub
within that time and no request waits on the database on the event loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from homelab_hub.server.session_store import BrowserSession, SessionStore, session_hash

COOKIE = "hh_session"
# Over https the cookie is a ``__Host-`` one: Secure, for this host only, path / (a browser
# refuses it otherwise). Cookies do not separate ports: over plain http any other web app on
# the same host name receives ``hh_session`` too (README, Security).
SECURE_COOKIE = "__Host-hh_session"
CSRF_HEADER = "x-csrf-token"


def cookie_name(scheme: str) -> str:
    """The session cookie's name for a request made over ``scheme`` (http, https, ws, wss)."""
    return SECURE_COOKIE if scheme in ("https", "wss") else COOKIE


class SessionCache:
    """Live sessions by hash, refreshed with the token cache."""

    def __init__(self, store: SessionStore | None) -> None:
        self.store = store
        self._by_hash: dict[str, BrowserSession] = {}
        # Called after a session ends here (sign-out): the hub ends the streams it opened.
        self.on_drop: Callable[[], object] | None = None

    def refresh(self) -> None:
        if self.store is not None:
            self._by_hash = {s.session_hash: s for s in self.store.live()}

    def add(self, session: BrowserSession) -> None:
        self._by_hash[session.session_hash] = session

    def drop(self, session_hash: str) -> None:
        self._by_hash.pop(session_hash, None)
        if self.on_drop is not None:
            self.on_drop()

    def get(self, session_hash: str) -> BrowserSession | None:
        """The live, unexpired session with this hash, or None (a stream it opened ends then)."""
        session = self._by_hash.get(session_hash)
        return session if session is not None and session.expires_at > time.time() else None

    def lookup(self, session_id: str) -> BrowserSession | None:
        """The live, unexpired session behind a cookie value, or None."""
        if not session_id or len(session_id) > 128:
            return None
        session = self._by_hash.get(session_hash(session_id))
        if session is None or session.expires_at <= time.time():
            return None
        return session
