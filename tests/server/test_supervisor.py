"""The supervisor restarts crashed and silent workers with backoff, then gives up."""

import threading
import time

from homelab_hub.config import SupervisorConfig
from homelab_hub.supervisor import Supervisor
from tests.support import wait_until


class Crasher:
    name = "crasher"
    heartbeat_timeout = None
    starts = 0

    def run(self, ctx):
        type(self).starts += 1
        ctx.beat()
        raise RuntimeError("camera exploded")


class Sleeper:
    """Beats once, then goes silent (a deadlocked worker) until told to stop."""

    name = "sleeper"
    heartbeat_timeout = 0.3
    starts = 0

    def run(self, ctx):
        type(self).starts += 1
        ctx.beat()
        ctx.stop.wait()


class Healthy:
    name = "healthy"
    heartbeat_timeout = 1.0

    def run(self, ctx):
        while not ctx.wait(0.05):
            ctx.beat(frames=1)


def fast_config(**kw):
    return SupervisorConfig(
        heartbeat_timeout_s=5,
        backoff_initial_s=0.05,
        backoff_max_s=0.2,
        max_restarts=3,
        restart_window_s=60,
        **kw,
    )


def test_a_crashing_worker_is_restarted_with_backoff_then_marked_failed(db):
    Crasher.starts = 0
    sup = Supervisor(fast_config(), db=db, tick_s=0.02)
    sup.add("crasher", Crasher)
    sup.start()
    try:
        wait_until(
            lambda: sup.states()["crasher"].state == "failed",
            timeout=30,
            what="the crasher to be marked failed",
        )
        state = sup.states()["crasher"]
        assert Crasher.starts == 4  # first start + 3 restarts
        assert "camera exploded" in state.reason
        assert "restarts within" in state.reason
        events = db.query("SELECT event FROM worker_events WHERE worker = 'crasher' ORDER BY id")
        assert [e["event"] for e in events] == ["restart"] * 3 + ["failed"]
    finally:
        sup.stop()


def test_a_silent_worker_is_restarted(db):
    Sleeper.starts = 0
    sup = Supervisor(fast_config(), db=db, tick_s=0.02)
    sup.add("sleeper", Sleeper)
    sup.start()
    try:
        wait_until(lambda: Sleeper.starts >= 2)
        assert sup.states()["sleeper"].restarts >= 1
        assert "no heartbeat" in db.query("SELECT reason FROM worker_events LIMIT 1")[0]["reason"]
    finally:
        sup.stop()


def test_a_healthy_worker_keeps_running_and_reports_details(db):
    sup = Supervisor(fast_config(), db=db, tick_s=0.02)
    sup.add("healthy", Healthy)
    sup.start()
    try:
        wait_until(lambda: sup.states()["healthy"].details.get("frames") == 1)
        time.sleep(0.3)  # several heartbeat periods pass without a restart
        assert sup.states()["healthy"].restarts == 0
        assert sup.states()["healthy"].state == "running"
    finally:
        sup.stop()
    assert not any(t.name == "worker:healthy" and t.is_alive() for t in threading.enumerate())


def test_removing_a_worker_stops_only_that_worker(db):
    sup = Supervisor(fast_config(), db=db, tick_s=0.02)
    sup.add("a", Healthy)
    sup.add("b", Healthy)
    sup.start()
    try:
        assert sup.remove("a")
        assert sup.names() == ["b"]
        assert sup.states()["b"].state == "running"
    finally:
        sup.stop()


def test_worker_states_feed_health_and_metrics(hub):
    hub.services.supervisor.add("healthy", Healthy)
    wait_until(lambda: "worker:healthy" in hub.get("/api/health").json()["components"])
    metrics = hub.get("/metrics").text
    assert 'homelab_hub_worker_up{worker="healthy"} 1.0' in metrics
