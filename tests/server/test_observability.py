"""Health, metrics and logs."""

import logging

import httpx

from homelab_hub.config import load_config
from homelab_hub.server.logs import setup_logging
from tests.fakes.http import FakeHTTPServer, Reply
from tests.support import wait_until


def test_health_reports_components_and_turns_503_when_storage_is_down(hub):
    body = hub.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["components"]["storage"]["state"] == "ok"
    hub.services.db.close()  # the database goes away; the storage probe notices
    response = wait_until(
        lambda: "storage" in (r := hub.get("/api/health")).json().get("reasons", {}) and r,
        what="storage down",
    )
    assert response.status_code == 503


def test_metrics_count_tool_calls_and_latency_per_tool(hub):
    hub.rest("hub_status")
    hub.mcp_call("hub_status")
    text = hub.get("/metrics").text
    assert 'homelab_hub_tool_calls_total{outcome="ok",tool="hub_status",transport="rest"}' in text
    assert 'homelab_hub_tool_calls_total{outcome="ok",tool="hub_status",transport="mcp"}' in text
    assert "homelab_hub_tool_latency_seconds_bucket" in text


def test_a_restart_appends_to_the_log_instead_of_wiping_it(tmp_path):
    log_file = tmp_path / "hub.log"
    config = load_config(None, logging={"file": str(log_file)})
    setup_logging(config)
    logging.getLogger("test").warning("before restart: evidence")
    setup_logging(config)  # a restart
    logging.getLogger("test").warning("after restart")
    text = log_file.read_text()
    assert "before restart: evidence" in text
    assert "after restart" in text


def test_logs_rotate_at_the_configured_size(tmp_path):
    log_file = tmp_path / "hub.log"
    setup_logging(load_config(None, logging={"file": str(log_file), "max_bytes": 2048, "backups": 3}))
    for i in range(200):
        logging.getLogger("test").warning("line %d %s", i, "x" * 40)
    assert (tmp_path / "hub.log.1").exists()
    assert log_file.stat().st_size <= 2048 + 200


def test_the_log_stays_quiet_about_each_outgoing_http_request(tmp_path):
    log_file = tmp_path / "hub.log"
    setup_logging(load_config(None, logging={"file": str(log_file), "level": "INFO"}))
    with FakeHTTPServer({("POST", "/api/chat"): lambda req: Reply(200, {"ok": True})}) as ollama:
        assert httpx.post(ollama.url + "/api/chat", json={}).status_code == 200
    logging.getLogger("homelab_hub.test").info("a line for a person")
    text = log_file.read_text()
    assert "a line for a person" in text
    assert "HTTP Request" not in text
