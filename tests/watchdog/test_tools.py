"""watchdog_status, restart_service and watchdog://incidents/{id} over MCP and REST, on a real hub."""

from __future__ import annotations

import json

import pytest

from homelab_hub.config import load_config
from homelab_hub.errors import ConfigError
from homelab_hub.watchdog.store import IncidentStore
from tests.fakes.receiver import NotificationReceiver
from tests.support import wait_until
from tests.watchdog.support import FAST, HUB


@pytest.fixture
def watched_hub(hub_factory, daemons, tmp_path):
    d = daemons()
    marker = tmp_path / "pwned"
    # A literal argument full of shell metacharacters: harmless unless someone builds a shell string.
    svc = d.service()
    svc["restart"]["command"] = [
        *d.argv,
        "--tag",
        f"$(touch {marker}); touch {marker} `touch {marker}` | rm -rf /",
    ]
    hub = hub_factory({**HUB, "watchdog": {**FAST, "services": {"gate": svc}}})
    admin = hub.create_token("ops", admin=True)
    agent = hub.create_token("claude")
    return hub, d, admin, agent, marker


def _status(hub, token):
    reply = hub.rest("watchdog_status", {}, token=token)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_watchdog_status_over_rest_and_mcp_shows_services_and_hub_workers(watched_hub):
    hub, d, admin, agent, _ = watched_hub
    status = wait_until(
        lambda: (s := _status(hub, agent))["last_check_at"] and s, 20, "first check by the worker"
    )
    rows = {row["name"]: row for row in status["services"]}
    gate = rows["gate"]
    assert gate["kind"] == "service"
    assert gate["state"] == "healthy"
    assert gate["report"] == "nominal"
    assert gate["details"]["pids"] == d.pids()
    assert gate["details"]["restart_budget"] == 3
    assert gate["findings"] == []
    assert rows["worker:watchdog"]["kind"] == "worker"
    assert rows["worker:watchdog"]["state"] == "running"
    result = hub.mcp_call("watchdog_status", {"service": "gate"}, token=agent)
    assert not result.is_error
    (only,) = result.structured_content["services"]
    assert only["name"] == "gate"
    assert only["state"] == "healthy"
    missing = hub.rest("watchdog_status", {"service": "nope"}, token=agent)
    assert missing.status_code == 404
    assert "nope" in missing.json()["error"]["message"]


def test_api_health_reports_the_watchdogs_last_completed_check(watched_hub):
    hub, _, _, agent, _ = watched_hub
    # Without a credential health says states only; an agent token sees the details.
    assert set(hub.get("/api/health").json()["components"]["watchdog"]) == {"state"}

    def watchdog_health():
        return hub.get("/api/health", token=agent).json()["components"]["watchdog"]

    first = wait_until(lambda: (w := watchdog_health())["data"]["checks"] >= 1 and w, 20, "a first check")
    assert first["state"] == "ok"
    later = wait_until(
        lambda: (w := watchdog_health())["data"]["last_check_at"] > first["data"]["last_check_at"] and w,
        20,
        "a later check",
    )
    assert later["data"]["checks"] > first["data"]["checks"]
    assert later["data"]["last_check_age_s"] >= 0


def test_an_admin_restarts_a_service_over_rest_and_the_restart_is_an_incident(watched_hub):
    hub, d, admin, agent, marker = watched_hub
    (old,) = d.pids()
    reply = hub.rest("restart_service", {"name": "gate"}, token=admin)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["ok"] is True
    assert body["service"] == "gate"
    assert d.pids()
    assert old not in d.pids()
    assert not marker.exists(), "a shell ran the metacharacters"
    assert "$(touch" in d.log.read_text()  # the daemon received them as one literal argument

    async def read(session):
        return await session.read_resource(f"watchdog://incidents/{body['incident_id']}")

    incident = json.loads(hub.mcp(read, token=agent).contents[0].text)
    assert incident["origin"] == "manual"
    assert incident["requested_by"] == "ops via rest"
    assert incident["forensics"]["processes"][0]["pid"] == old
    assert [a["ok"] for a in incident["actions"]] == [True, True]


def test_an_admin_restarts_a_service_over_mcp(watched_hub):
    hub, d, admin, agent, _ = watched_hub
    (old,) = d.pids()
    result = hub.mcp_call("restart_service", {"name": "gate"}, token=admin, transport="sse")
    assert not result.is_error, result.content
    assert result.structured_content["ok"] is True
    assert old not in d.pids()


def test_restart_service_refuses_agent_tokens_and_unconfigured_names_and_changes_nothing(
    watched_hub, tmp_path
):
    hub, d, admin, agent, _ = watched_hub
    (pid,) = d.pids()
    refused = hub.rest("restart_service", {"name": "gate"}, token=agent)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert hub.mcp_call("restart_service", {"name": "gate"}, token=agent).is_error
    marker = tmp_path / "owned"
    for name in (
        "sshd",
        f"gate; touch {marker}",
        f"$(touch {marker})",
        f"`touch {marker}`",
        "gate && reboot",
    ):
        reply = hub.rest("restart_service", {"name": name}, token=admin)
        assert reply.status_code == 404, reply.text
        assert "not a watched service" in reply.json()["error"]["message"]
    assert hub.rest("restart_service", {"name": ""}, token=admin).status_code == 400
    assert hub.rest("restart_service", {"name": "gate", "force": True}, token=admin).status_code == 400
    assert not marker.exists()
    assert d.pids() == [pid]
    assert IncidentStore(hub.services.db).recent(origin="manual") == []


def test_an_unknown_or_malformed_incident_id_is_a_clear_error(watched_hub):
    hub, _, _, agent, _ = watched_hub

    async def read(session, uri):
        try:
            await session.read_resource(uri)
        except Exception as exc:
            return str(exc)
        return "no error"

    assert "does not exist" in hub.mcp(lambda s: read(s, "watchdog://incidents/999999"), token=agent)
    assert "positive integer" in hub.mcp(lambda s: read(s, "watchdog://incidents/abc"), token=agent)
    assert "positive integer" in hub.mcp(lambda s: read(s, f"watchdog://incidents/{'9' * 40}"), token=agent)


def test_a_service_name_with_shell_metacharacters_is_rejected_by_the_config():
    with pytest.raises(ConfigError) as err:
        load_config(None, watchdog={"services": {"gate; rm -rf /": {"match": "gate"}}})
    assert "watchdog.services" in err.value.message
    assert "letters, digits" in err.value.message


def test_inside_the_hub_the_worker_escalates_a_dead_service_to_the_configured_apprise_url(
    hub_factory, daemons
):
    d = daemons()
    with NotificationReceiver() as rx:
        hub = hub_factory(
            {
                **HUB,
                "notify": {"apprise_urls": [rx.apprise_url("json")]},
                "watchdog": {**FAST, "max_restart_attempts": 1, "services": {"gate": d.service()}},
            }
        )
        token = hub.create_token("claude")
        d.set_mode("exit")
        msg = rx.wait_for(lambda r: "Needs manual intervention" in r.body.decode(), timeout=30)
        message = msg.json()["message"]
        assert "gate" in message
        assert "Incident:" in message
        status = hub.rest("watchdog_status", {"service": "gate"}, token=token).json()
        assert status["overall"] == "needs_human"
        assert status["services"][0]["state"] == "needs_human"
        health = hub.services.health().components["watchdog"]
        assert health.state == "degraded"
        assert "gate" in health.detail
