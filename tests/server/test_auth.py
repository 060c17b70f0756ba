"""Tokens, identity and the Host/Origin guard. Run in-process (`local_hub`) but for the
MCP transports and the refusal to start, which need the real server."""

import pytest


@pytest.fixture
def secured(local_hub):
    """A hub with tokens: one agent, one admin."""
    return local_hub, local_hub.create_token("agent-a"), local_hub.create_token("boss", admin=True)


@pytest.fixture
def secured_server(hub):
    """The same, on a real server (for the MCP transports)."""
    return hub, hub.create_token("agent-a"), hub.create_token("boss", admin=True)


@pytest.mark.parametrize("path", ["/api/tools/hub_status", "/mcp", "/api/tools"])
def test_requests_without_a_token_get_401_with_www_authenticate(secured, path):
    hub, _, _ = secured
    response = hub.post(path, json={}) if path != "/api/tools" else hub.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json() == {
        "ok": False,
        "error": {"code": "unauthorized", "message": response.json()["error"]["message"]},
    }


def test_sse_without_a_token_is_refused(secured):
    hub, _, _ = secured
    assert hub.get("/sse").status_code == 401


def test_a_wrong_token_gets_401(secured):
    hub, _, _ = secured
    assert hub.rest("hub_status", token="hh_not-a-real-token").status_code == 401


def test_a_revoked_token_gets_401(secured):
    hub, token, _ = secured
    assert hub.rest("hub_status", token=token).status_code == 200
    hub.revoke_token("agent-a")
    assert hub.rest("hub_status", token=token).status_code == 401


def test_identity_comes_from_the_token_not_the_request(secured):
    hub, token, admin = secured
    assert hub.rest("hub_status", token=token).json()["agent"] == "agent-a"
    assert hub.rest("hub_status", token=admin).json()["role"] == "admin"
    # Naming another agent in the body is not a way to become it.
    refused = hub.rest("hub_status", {"agent": "boss"}, token=token)
    assert refused.status_code == 400


def test_mcp_over_both_transports_acts_as_the_token_agent(secured_server):
    hub, token, _ = secured_server
    for transport in ("http", "sse"):
        result = hub.mcp_call("hub_status", token=token, transport=transport)
        assert result.structured_content["agent"] == "agent-a"


def test_health_needs_no_token(secured):
    hub, _, _ = secured
    assert hub.get("/api/health").status_code == 200


def test_a_foreign_host_header_is_refused(local_hub):
    hub = local_hub
    response = hub.post("/api/tools/hub_status", json={}, headers={"Host": "attacker.example:8042"})
    assert response.status_code == 403
    assert "Host" in response.json()["error"]["message"]


def test_a_foreign_origin_is_refused(local_hub):
    hub = local_hub
    response = hub.post("/mcp", json={}, headers={"Origin": "http://evil.example"})
    assert response.status_code == 403


def test_a_loopback_origin_on_another_port_is_another_site(local_hub):
    hub = local_hub
    response = hub.post("/api/tools/hub_status", json={}, headers={"Origin": "http://localhost:3000"})
    assert response.status_code == 403


def test_the_hubs_own_origin_may_read_but_a_write_from_it_needs_the_csrf_token(local_hub):
    hub = local_hub
    own = {"Origin": hub.url}
    assert hub.get("/api/tools", headers=own).status_code == 200
    refused = hub.post("/api/tools/hub_status", json={}, headers=own)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    assert hub.post("/api/tools/hub_status", json={}).status_code == 200  # no Origin: not a browser


def test_configured_hosts_are_accepted(hub_factory):
    hub = hub_factory({"server": {"allowed_hosts": ["hub.lan:*"]}})
    assert hub.post("/api/tools/hub_status", json={}, headers={"Host": "hub.lan:8042"}).status_code == 200


def test_without_tokens_everyone_local_acts_as_local_admin(local_hub):
    hub = local_hub
    body = hub.rest("hub_status").json()
    assert (body["agent"], body["role"]) == ("local", "admin")


def test_the_hub_refuses_to_listen_beyond_loopback_without_tokens(tmp_path):
    from homelab_hub.errors import ConfigError
    from tests.hubclient import RunningHub, hub_config
    from tests.support import free_port

    config = hub_config(tmp_path, free_port(), {"server": {"host": "0.0.0.0"}})
    hub = RunningHub(config)
    with pytest.raises(RuntimeError):
        hub.start(timeout=30)
    hub.stop()
    assert ConfigError  # the lifespan raised ConfigError; uvicorn reports a failed start


def test_tokens_are_stored_only_as_hashes(local_hub):
    hub = local_hub
    token = hub.create_token("claude")
    rows = hub.services.db.query("SELECT token_hash FROM api_tokens")
    assert all(token not in r["token_hash"] for r in rows)
    assert token not in (hub.config.logging.file.read_text() if hub.config.logging.file.exists() else "")
