"""Each misbehaviour of a real daemon is found, as the right problem, within one check."""

from __future__ import annotations

import os
import time

from homelab_hub.watchdog.checks import Observation, check_services
from tests.watchdog.conftest import wait_until, watchdog_config


def _wait(seconds: float) -> bool:
    time.sleep(seconds)
    return False


class Checker:
    """Consecutive checks, carrying log cursors forward like the engine does."""

    def __init__(self, config):
        self.config = config
        self.cursors: dict = {}

    def check(self, name: str) -> Observation:
        obs = check_services(self.config, self.cursors, _wait)[name]
        self.cursors.setdefault(name, {}).update(obs.cursors)
        return obs


def kinds(obs: Observation) -> set[str]:
    return {f.kind for f in obs.findings}


def test_a_daemon_that_logs_normally_is_nominal(daemons):
    d = daemons()
    obs = Checker(watchdog_config({"gate": d.service()})).check("gate")
    assert obs.healthy, obs.summary()
    assert [p.pid for p in obs.processes] == d.pids()
    assert obs.log_age_s is not None and obs.log_age_s < 5


def test_a_spinning_daemon_with_a_silent_log_is_found_as_a_cpu_zombie(daemons):
    d = daemons()
    checker = Checker(watchdog_config({"gate": d.service()}))
    assert checker.check("gate").healthy
    d.set_mode("spin")
    wait_until(lambda: time.time() - d.log.stat().st_mtime > 1.0, 10, "log to go silent")
    obs = checker.check("gate")
    assert {"cpu_zombie", "log_stale"} <= kinds(obs), obs.summary()
    zombie = next(f for f in obs.findings if f.kind == "cpu_zombie")
    assert "ZOMBIE" in zombie.message and str(d.pids()[0]) in zombie.message
    assert all(p.cpu_min >= 10 for p in obs.processes)


def test_a_silent_idle_daemon_is_stale_but_not_a_zombie(daemons):
    d = daemons()
    checker = Checker(watchdog_config({"gate": d.service()}))
    d.set_mode("hang")
    wait_until(lambda: time.time() - d.log.stat().st_mtime > 1.0, 10, "log to go silent")
    assert kinds(checker.check("gate")) == {"log_stale"}


def test_a_daemon_that_exited_is_found_not_running(daemons):
    d = daemons()
    checker = Checker(watchdog_config({"gate": d.service()}))
    d.set_mode("exit")
    wait_until(lambda: not d.pids(), 10, "daemon exit")
    obs = checker.check("gate")
    assert "not_running" in kinds(obs)
    assert "NOT RUNNING" in next(f.message for f in obs.findings if f.kind == "not_running")


def test_serious_errors_are_found_and_transient_ones_are_not(daemons):
    serious, transient = daemons("serious"), daemons("transient")
    config = watchdog_config({"serious": serious.service(), "transient": transient.service()})
    checker = Checker(config)
    checker.check("serious"), checker.check("transient")
    serious.set_mode("serious")
    transient.set_mode("transient")
    wait_until(lambda: "malformed" in serious.log.read_text(), 10, "serious error line")
    wait_until(lambda: "RTSP error" in transient.log.read_text(), 10, "transient error line")
    obs = checker.check("serious")
    assert kinds(obs) == {"serious_errors"}
    assert "malformed" in obs.findings[0].lines[-1]
    quiet = checker.check("transient")
    assert quiet.healthy, quiet.summary()
    assert quiet.transient_errors > 0


def test_an_old_error_is_reported_once_not_at_every_check(daemons):
    d = daemons()
    checker = Checker(watchdog_config({"gate": d.service()}))
    checker.check("gate")
    d.set_mode("serious")
    wait_until(lambda: "malformed" in d.log.read_text(), 10, "serious error line")
    d.set_mode("normal")
    assert "serious_errors" in kinds(checker.check("gate"))
    time.sleep(0.2)  # let a few normal lines arrive; not a synchronisation
    assert checker.check("gate").healthy


def test_errors_written_around_a_log_rotation_are_all_seen(daemons):
    d = daemons()
    checker = Checker(watchdog_config({"gate": d.service()}))
    checker.check("gate")
    with open(d.log, "a") as fh:  # the last words of the old file
        fh.write("ERROR disk full before rotation\n")
    os.rename(d.log, d.log.with_name(d.log.name + ".1"))
    wait_until(lambda: d.log.exists() and d.log.stat().st_size > 0, 10, "daemon to reopen its log")
    with open(d.log, "a") as fh:
        fh.write("ERROR disk full after rotation\n")
    obs = checker.check("gate")
    lines = next(f.lines for f in obs.findings if f.kind == "serious_errors")
    assert any("before rotation" in line for line in lines)
    assert any("after rotation" in line for line in lines)
    assert checker.check("gate").healthy  # and the cursor follows the new file


def test_a_log_that_vanishes_or_cannot_be_read_is_a_finding_not_a_crash(daemons, tmp_path):
    d = daemons()
    unreadable = tmp_path / "is-a-directory.log"
    unreadable.mkdir()
    config = watchdog_config(
        {
            "gate": d.service(),
            "ghost": {"logs": [str(tmp_path / "never-written.log")]},
            "dir": {"logs": [str(unreadable)]},
        }
    )
    checker = Checker(config)
    checker.check("gate")
    d.set_mode("hang")  # a daemon still writing would recreate its log at once
    wait_until(
        lambda: "hang" in d.control.read_text() and time.time() - d.log.stat().st_mtime > 0.3, 10, "quiet log"
    )
    d.log.unlink()
    assert "log_missing" in kinds(checker.check("gate"))
    assert kinds(checker.check("ghost")) == {"log_missing"}
    obs = checker.check("dir")
    assert kinds(obs) == {"log_unreadable"}
    assert str(unreadable) in obs.findings[0].message


def test_a_pidfile_finds_the_process(daemons):
    d = daemons("pidded", "--pidfile", "PIDFILE", start=False)
    pidfile = d.dir / "daemon.pid"
    d.extra = ("--pidfile", str(pidfile))
    d.start()
    wait_until(pidfile.exists, 10, "pidfile")
    config = watchdog_config(
        {"pidded": {"pidfile": str(pidfile), "logs": [str(d.log)], "log_stale_minutes": 1}}
    )
    obs = Checker(config).check("pidded")
    assert obs.healthy and [p.pid for p in obs.processes] == d.pids()
    d.stop()
    wait_until(lambda: not d.pids(), 10, "daemon gone")
    assert "not_running" in kinds(Checker(config).check("pidded"))
