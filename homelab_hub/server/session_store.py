"""The browser session store (table browser_sessions): the SHA-256 of each session id, the
identity and token hash it was made from, its CSRF token and expiry. The id itself lives only
in the browser's cookie."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from homelab_hub.errors import NotFound
from homelab_hub.store import Database
from homelab_hub.tools.registry import Identity


def session_hash(session_id: str) -> str:
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
            handle=session_hash(session_id)[:12],
            session_hash=session_hash(session_id),
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
        """Sessions neither revoked nor expired, nor made from a token since revoked (such a
        session is dead: `session list` used to show it), newest first. A tokenless hub's
        sessions (no token hash) count as long as they are not revoked or expired."""
        rows = self.db.query(
            "SELECT session_hash, token_hash, agent, role, csrf, user_agent, created_at, expires_at "
            "FROM browser_sessions WHERE revoked_at IS NULL AND expires_at > ? AND (token_hash = '' OR "
            "token_hash IN (SELECT token_hash FROM api_tokens WHERE revoked_at IS NULL)) ORDER BY created_at DESC",
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
