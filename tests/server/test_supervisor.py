"""The supervisor restarts crashed and silent workers with a capped backoff, forever."""

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
        **{
            "heartbeat_timeout_s": 5,
            "backoff_initial_s": 0.05,
            "backoff_max_s": 0.2,
            "max_restarts": 3,
            "restart_window_s": 60,
            **kw,
        }
    )


def test_a_crashing_worker_is_restarted_forever_and_reported_crash_looping(db):
    Crasher.starts = 0
    sup = Supervisor(fast_config(), db=db, tick_s=0.02)
    sup.add("crasher", Crasher)
    sup.start()
    try:
        # Far past max_restarts (3): the old supervisor gave up after the fourth start.
        wait_until(lambda: Crasher.starts >= 12, timeout=30, what="a dozen restarts")
        state = wait_until(
            lambda: (s := sup.states()["crasher"]).state == "crash-looping" and s, what="crash-looping"
        )
        assert state.reason.startswith("crash-looping (restart ")
        assert ", next in " in state.reason
        assert state.reason.endswith("): RuntimeError: camera exploded")
        events = [e["event"] for e in db.query("SELECT event FROM worker_events WHERE worker = 'crasher'")]
        assert events[:3] == ["restart"] * 3 and set(events[3:]) == {"crash-looping"}
    finally:
        sup.stop()


class CrashesUntilTold:
    """Crashes while ``broken`` is set (a database that is down); runs once it is cleared."""

    name = "flaky"
    heartbeat_timeout = None
    broken = threading.Event()
    starts = 0

    def run(self, ctx):
        type(self).starts += 1
        if type(self).broken.is_set():
            raise RuntimeError("database unavailable")
        while not ctx.wait(0.02):
            ctx.beat()


def test_a_worker_that_runs_for_the_stable_period_starts_a_fresh_backoff_and_drops_its_error(db):
    CrashesUntilTold.broken.set()
    CrashesUntilTold.starts = 0
    sup = Supervisor(fast_config(backoff_max_s=0.4, stable_s=0.3), db=db, tick_s=0.02)
    sup.add("flaky", CrashesUntilTold)
    sup.start()
    try:
        wait_until(lambda: sup.states()["flaky"].state == "crash-looping", timeout=30, what="a crash loop")
        CrashesUntilTold.broken.clear()
        wait_until(lambda: sup.states()["flaky"].state == "running", timeout=10, what="a restart")
        assert sup.states()["flaky"].public()["last_error"] == "RuntimeError: database unavailable"
        assert sup.states()["flaky"].reason == ""
        wait_until(lambda: "last_error" not in sup.states()["flaky"].public(), what="the error to clear")
        # The next crash waits the initial backoff again, not the capped one, and is no loop.
        CrashesUntilTold.broken.set()
        sup.context("flaky").stop.set()  # ends run(): counts as a crash (returned unasked)
        state = wait_until(lambda: (s := sup.states()["flaky"]).state != "running" and s, what="a crash")
        assert state.state == "backoff"
    finally:
        CrashesUntilTold.broken.clear()
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
