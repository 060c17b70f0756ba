"""Incidents carry command lines and log tails; their secrets never reach an agent, a
notification, the hub's log file, /metrics or the database (security finding 7).

The daemon runs with ``--api-key=SECRET123`` on its command line and logs
``password=SECRET456``; the watchdog captures both into an incident through a real hub."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from homelab_hub.config import load_config
from homelab_hub.server.logs import setup_logging
from tests.fakes.receiver import NotificationReceiver
from tests.support import wait_until
from tests.watchdog.support import FAST, HUB

SECRETS = ("SECRET123", "SECRET456")


@pytest.fixture
def hub_log(tmp_path):
    """The hub's real logging setup (console and rotating file), undone after the test."""
    path = tmp_path / "hub.log"
    root = logging.getLogger()
    level, before = root.level, list(root.handlers)
    setup_logging(load_config(None, logging={"file": str(path), "level": "INFO"}))
    yield path
    for handler in root.handlers:
        if handler not in before:
            handler.close()
    root.handlers[:] = before
    root.setLevel(level)


def test_secrets_in_command_lines_and_logs_reach_no_agent_log_metric_or_database(
    hub_factory, daemons, hub_log, tmp_path
):
    d = daemons(
        "vault", "--api-key=SECRET123", "--say", "ERROR login failed for user admin password=SECRET456"
    )
    with NotificationReceiver() as rx:
        hub = hub_factory(
            {
                **HUB,
                "logging": {"file": str(hub_log)},
                "notify": {"apprise_urls": [rx.apprise_url("json")]},
                "watchdog": {**FAST, "max_restart_attempts": 1, "services": {"vault": d.service()}},
            }
        )
        agent = hub.create_token("a")
        admin = hub.create_token("root", admin=True)

        def incident_id():
            (row,) = hub.rest("watchdog_status", {"service": "vault"}, token=admin).json()["services"]
            return row["state"] == "needs_human" and row["last_incident_id"]

        iid = wait_until(incident_id, 60, "the incident to reach a human")
        rx.wait_for(lambda r: "Needs manual intervention" in r.body.decode(), timeout=20)

        async def read(session):
            return (await session.read_resource(f"watchdog://incidents/{iid}")).contents[0].text

        as_agent = json.loads(hub.mcp(read, token=agent))
        as_admin = json.loads(hub.mcp(read, token=admin))
        seen = {
            "agent incident": json.dumps(as_agent),
            "agent watchdog_status (REST)": hub.rest("watchdog_status", {}, token=agent).text,
            "agent watchdog_status (MCP)": str(hub.mcp_call("watchdog_status", {}, token=agent).content),
            "agent hub_status": hub.rest("hub_status", {}, token=agent).text,
            "/api/health": hub.get("/api/health").text,
            "/metrics": hub.get("/metrics", token=agent).text,
            "notifications": "".join(r.body.decode() for r in rx.received),
            "admin incident": json.dumps(as_admin),
        }
        for handler in logging.getLogger().handlers:
            handler.flush()
        seen["hub log file"] = hub_log.read_text()
    # The SQLite file and its write-ahead log: what was stored, byte for byte.
    db_file = Path(hub.config.storage.url.removeprefix("sqlite:///"))
    seen["database"] = "".join(
        p.read_bytes().decode("utf-8", "replace") for p in db_file.parent.glob(db_file.name + "*")
    )
    assert "watchdog: restarted vault as PID" in seen["hub log file"]
    assert "login failed for user admin" in seen["database"]
    for where, text in seen.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret} leaked into the {where}"
    # Admins read the forensics whole, redacted; agents read what happened, without them.
    (proc, *_) = as_admin["forensics"]["processes"]
    assert "--api-key=***" in proc["cmdline"]
    (tail,) = as_admin["forensics"]["log_tail"].values()
    assert any("password=***" in line for line in tail)
    assert "log_tail" not in as_agent["forensics"]
    assert (
        as_agent["forensics"]["withheld"]
        == "log tails, log lines and command lines are shown to admin tokens only"
    )
    assert "cmdline" not in as_agent["forensics"]["processes"][0]
    assert "password=***" in as_agent["findings"][0]["message"]
