"""The browser session store on both backends: a session lives no longer than its token."""

from __future__ import annotations

from homelab_hub.server.session_store import SessionStore
from homelab_hub.server.token_store import LOCAL_IDENTITY, TokenStore, token_hash


def test_a_session_whose_token_was_revoked_is_not_live_but_a_tokenless_one_is(db):
    tokens, sessions = TokenStore(db), SessionStore(db)
    token = tokens.create("visitor")
    identity = tokens.live()[token_hash(token)]
    sessions.create(identity, token_hash(token), lifetime_s=600)
    sessions.create(LOCAL_IDENTITY, "", lifetime_s=600)
    assert sorted(s.identity.agent for s in sessions.live()) == ["local", "visitor"]
    tokens.revoke("visitor")
    assert [s.identity.agent for s in sessions.live()] == ["local"]
