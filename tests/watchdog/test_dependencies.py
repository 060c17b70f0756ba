"""Dependency checks: HTTP (status and body), TCP, Ollama models, rpc-servers, and other watched services."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from homelab_hub.notify.apprise import AppriseNotifier
from homelab_hub.watchdog.checks import check_services
from homelab_hub.watchdog.engine import Watchdog
from tests.fakes.http import FakeHTTPServer, Reply
from tests.fakes.receiver import NotificationReceiver
from tests.support import REPO_ROOT, free_port, require, wait_until
from tests.watchdog.support import watchdog_config


def _no_wait(seconds: float) -> bool:
    return False


def test_an_http_dependency_that_goes_down_is_reported_and_clears_when_it_comes_back(daemons, sqlite_db):
    up = {"value": True}
    d = daemons()

    def health(req):
        return Reply(200, {"status": "ok"}) if up["value"] else Reply(503, {"status": "loading"})

    with FakeHTTPServer({("GET", "/health"): health}) as adapter, NotificationReceiver() as rx:
        dep = {"kind": "http", "url": adapter.url + "/health", "expect_status": 200, "expect_body": '"ok"'}
        wd = Watchdog(
            watchdog_config({"gate": d.service(dependencies=[dep])}, cpu_samples=1),
            sqlite_db,
            AppriseNotifier([rx.apprise_url("json")]),
        )
        assert wd.check_once().outcomes["gate"].report == "nominal"
        up["value"] = False
        outcome = wd.check_once().outcomes["gate"]
        # Nothing we run serves it, so no restart can help: straight to a human.
        assert outcome.report == "needs_human"
        assert outcome.attempts == 0
        (finding,) = outcome.findings
        assert finding.kind == "dependency_down"
        assert "answered 503, expected 200" in finding.message
        rx.wait_for(lambda r: "dependency" in r.body.decode() and "Needs manual" in r.body.decode())
        up["value"] = True
        assert wd.check_once().outcomes["gate"].report == "nominal"
        assert wd.incident(outcome.incident_id).status == "resolved"
        rx.wait_for(lambda r: "All systems nominal" in r.body.decode())


def test_an_http_dependency_with_the_wrong_body_is_down():
    with FakeHTTPServer({("GET", "/"): lambda req: Reply(200, "maintenance")}) as srv:
        config = watchdog_config(
            {
                "web": {
                    "logs": [],
                    "match": "no-such-process-xyz",
                    "dependencies": [{"kind": "http", "url": srv.url + "/", "expect_body": "welcome"}],
                }
            },
            cpu_samples=1,
        )
        obs = check_services(config, {}, _no_wait)["web"]
        (finding,) = [f for f in obs.findings if f.kind == "dependency_down"]
        assert "lacks 'welcome'" in finding.message


def test_a_closed_tcp_port_is_a_dependency_finding():
    port = free_port()
    config = watchdog_config(
        {"mqtt-bridge": {"match": "no-such-process-xyz", "dependencies": [{"kind": "tcp", "port": port}]}},
        cpu_samples=1,
    )
    obs = check_services(config, {}, _no_wait)["mqtt-bridge"]
    (finding,) = [f for f in obs.findings if f.kind == "dependency_down"]
    assert f"127.0.0.1:{port}" in finding.message


def test_an_ollama_dependency_checks_that_the_model_is_loaded():
    require(
        importlib.util.find_spec("homelab_hub.inference.checks") is not None, "inference checks not built yet"
    )
    from tests.fakes.ollama import FakeOllama

    with FakeOllama() as ollama:
        dep = {"kind": "ollama", "url": ollama.url, "model": "qwen2.5vl:7b", "require_loaded": True}
        config = watchdog_config(
            {"vision": {"match": "no-such-process-xyz", "dependencies": [dep]}}, cpu_samples=1
        )
        obs = check_services(config, {}, _no_wait)["vision"]
        (finding,) = [f for f in obs.findings if f.kind == "dependency_down"]
        assert "not loaded" in finding.message
        ollama.load("qwen2.5vl:7b", context=8192, keep_alive_s=None)
        obs = check_services(config, {}, _no_wait)["vision"]
        assert not [f for f in obs.findings if f.kind == "dependency_down"], obs.summary()


def test_a_dead_dependency_service_is_restarted_once_through_its_own_method(daemons, sqlite_db):
    monitor, adapter = daemons("gate-monitor"), daemons("llm-adapter")
    config = watchdog_config(
        {
            "gate-monitor": monitor.service(dependencies=[{"kind": "service", "service": "llm-adapter"}]),
            "llm-adapter": adapter.service(),
        },
        cpu_samples=1,
    )
    wd = Watchdog(config, sqlite_db)
    assert wd.check_once().overall == "nominal"
    monitor_pid = monitor.pids()[0]
    adapter.set_mode("exit")
    wait_until(lambda: not adapter.pids(), 10, "adapter exit")
    adapter.set_mode("normal")
    report = wd.check_once()
    assert report.outcomes["gate-monitor"].report == "fixed"
    # The adapter's own check then sees it restarted (or, looked at again, healthy).
    assert report.outcomes["llm-adapter"].report in ("fixed", "nominal")
    assert adapter.pids(), "the adapter was started again"
    assert monitor.pids() == [monitor_pid], "the monitor itself was left alone"
    restarts = [
        a
        for name in ("gate-monitor", "llm-adapter")
        if report.outcomes[name].incident_id is not None
        for a in wd.incident(report.outcomes[name].incident_id).actions
        if a["action"].startswith("restart")
    ]
    assert [a["action"] for a in restarts] == ["restart llm-adapter (command)"]


def test_a_killed_rpc_server_under_a_live_llama_server_escalates_with_what_will_happen(daemons, sqlite_db):
    """A real rpc-server process (the stand-in speaking llama.cpp's RPC wire format) is killed
    while the llama-server that depends on it keeps running."""
    require(
        importlib.util.find_spec("homelab_hub.inference.rpc") is not None,
        "inference rpc client not built yet",
    )
    from homelab_hub.inference.checks import rpc_server_check

    port = free_port()
    address = f"127.0.0.1:{port}"
    rpc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.rpc_server", "--port", str(port), "--version", "3.0.0"],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: rpc_server_check(address, timeout=1.0)[0], 15, "the rpc-server to answer HELLO")
        llama = daemons("llama-server")
        dep = {"kind": "rpc", "address": address, "timeout_s": 1.0}
        wd = Watchdog(
            watchdog_config({"llama-server": llama.service(dependencies=[dep])}, cpu_samples=1), sqlite_db
        )
        assert wd.check_once().outcomes["llama-server"].report == "nominal"
        rpc.kill()
        rpc.wait(5)
        outcome = wd.check_once().outcomes["llama-server"]
    finally:
        if rpc.poll() is None:
            rpc.kill()
            rpc.wait(5)
    # Nothing the watchdog runs provides it, so no restart can help: straight to a human.
    assert outcome.report == "needs_human"
    (finding,) = outcome.findings
    assert finding.kind == "dependency_down"
    assert finding.message.startswith(
        f"llama-server dependency rpc-server {address} down: rpc-server {address} is down"
    )
    assert finding.message.endswith(
        f"a llama-server using it (--rpc {address}) will fail on its next request or load, or fall back to its "
        "local devices if restarted without --rpc"
    )
    assert llama.pids(), "the llama-server itself is left running"
