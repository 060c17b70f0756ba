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

import hashlib
import secrets
import time
from dataclasses import dataclass

from homelab_hub.errors import NotFound
from homelab_hub.store import Database
from homelab_hub.tools.registry import Identity

COOKIE = "hh_session"
CSRF_HEADER = "x-csrf-token"


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class BrowserSession:
    handle: str  # the first 12 hex digits of the id's hash: names a session in the CLI
    session_hash: str
    token_hash: str
    identity: Identity
    csrf: str
    user_agent: str
    created_at: float
    expires_at: float


class SessionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self, identity: Identity, token_hash: str, *, lifetime_s: float, user_agent: str = ""
    ) -> tuple[str, BrowserSession]:
        """A new session; returns its id (for the cookie, never stored) and the session."""
        session_id = secrets.token_urlsafe(32)
        now = time.time()
        session = BrowserSession(
            handle=_hash(session_id)[:12],
            session_hash=_hash(session_id),
            token_hash=token_hash,
            identity=identity,
            csrf=secrets.token_urlsafe(32),
            user_agent=user_agent[:200],
            created_at=now,
            expires_at=now + lifetime_s,
        )
        self.db.execute(
            "INSERT INTO browser_sessions (session_hash, token_hash, agent, role, csrf, user_agent, created_at, "
            "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session.session_hash,
                token_hash,
                identity.agent,
                identity.role,
                session.csrf,
                session.user_agent,
                now,
                session.expires_at,
            ),
        )
        return session_id, session

    def live(self) -> list[BrowserSession]:
        """Sessions neither revoked nor expired, newest first."""
        rows = self.db.query(
            "SELECT session_hash, token_hash, agent, role, csrf, user_agent, created_at, expires_at "
            "FROM browser_sessions WHERE revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC",
            (time.time(),),
        )
        return [
            BrowserSession(
                handle=r["session_hash"][:12],
                session_hash=r["session_hash"],
                token_hash=r["token_hash"],
                identity=Identity(agent=r["agent"], role="admin" if r["role"] == "admin" else "agent"),
                csrf=r["csrf"],
                user_agent=r["user_agent"],
                created_at=r["created_at"],
                expires_at=r["expires_at"],
            )
            for r in rows
        ]

    def revoke(self, session_hash: str) -> None:
        self.db.execute(
            "UPDATE browser_sessions SET revoked_at = ? WHERE session_hash = ? AND revoked_at IS NULL",
            (time.time(), session_hash),
        )

    def revoke_matching(self, *, handle: str | None = None, agent: str | None = None) -> int:
        """Revoke the live sessions whose handle starts with ``handle``, or of ``agent``, or all
        when neither is given. Raises NotFound when none matched."""
        matched = [
            s
            for s in self.live()
            if (handle is None or s.session_hash.startswith(handle.lower()))
            and (agent is None or s.identity.agent == agent)
        ]
        if not matched:
            raise NotFound("no live browser session matched; see `homelab-hub session list`")
        now = time.time()
        for s in matched:
            self.db.execute(
                "UPDATE browser_sessions SET revoked_at = ? WHERE session_hash = ? AND revoked_at IS NULL",
                (now, s.session_hash),
            )
        return len(matched)


class SessionCache:
    """Live sessions by hash, refreshed with the token cache."""

    def __init__(self, store: SessionStore | None) -> None:
        self.store = store
        self._by_hash: dict[str, BrowserSession] = {}

    def refresh(self) -> None:
        if self.store is not None:
            self._by_hash = {s.session_hash: s for s in self.store.live()}

    def add(self, session: BrowserSession) -> None:
        self._by_hash[session.session_hash] = session

    def drop(self, session_hash: str) -> None:
        self._by_hash.pop(session_hash, None)

    def lookup(self, session_id: str) -> BrowserSession | None:
        """The live, unexpired session behind a cookie value, or None."""
        if not session_id or len(session_id) > 128:
            return None
        session = self._by_hash.get(_hash(session_id))
        if session is None or session.expires_at <= time.time():
            return None
        return session
