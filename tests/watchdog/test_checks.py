"""Each misbehaviour of a real daemon is found, as the right problem, within one check."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import psutil

from homelab_hub.watchdog.checks import Observation, check_services
from tests.support import wait_until
from tests.watchdog.support import DAEMON, reap, watchdog_config


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
    assert obs.log_age_s is not None
    assert obs.log_age_s < 5


def test_a_daemon_whose_log_went_stale_while_it_burns_cpu_is_spinning_with_the_numbers(daemons):
    d = daemons()
    checker = Checker(watchdog_config({"gate": d.service()}))
    assert checker.check("gate").healthy
    d.set_mode("spin")
    d.quiet()
    obs = checker.check("gate")
    (finding,) = obs.findings
    assert finding.kind == "spinning", obs.summary()
    assert obs.label == "spinning"
    (pid,) = d.pids()
    assert re.fullmatch(
        rf"gate is spinning, a ZOMBIE: log silent \d+\.\d s \(limit 0\.9 s\), while PID {pid} burns \d+% CPU "
        r"\(at least \d+% in each of 3 samples\)",
        finding.message,
    ), finding.message
    assert min(obs.processes[0].cpu_samples) >= 10


def test_a_daemon_whose_log_went_stale_while_it_sleeps_is_hung_not_a_zombie(daemons):
    d = daemons()
    checker = Checker(watchdog_config({"gate": d.service()}))
    d.set_mode("hang")
    d.quiet()
    obs = checker.check("gate")
    (finding,) = obs.findings
    assert finding.kind == "hung", obs.summary()
    assert "ZOMBIE" not in finding.message
    (pid,) = d.pids()
    assert re.fullmatch(
        rf"gate is hung: log silent \d+\.\d s \(limit 0\.9 s\), and PID {pid} idles at \d\.\d% CPU at most "
        r"over 3 samples \(blocked on a read, a lock or a sleep\)",
        finding.message,
    ), finding.message


def test_a_process_in_state_z_is_reported_as_a_zombie_process(tmp_path):
    pidfile = tmp_path / "daemon.pid"
    log = tmp_path / "d.log"
    control = tmp_path / "control"
    control.write_text("normal\n")
    # Its parent (this test) does not wait() for it: once it exits it stays in state Z.
    child = subprocess.Popen(
        [
            sys.executable,
            str(DAEMON),
            "--log",
            str(log),
            "--control",
            str(control),
            "--pidfile",
            str(pidfile),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(pidfile.exists, 10, "pidfile")
        control.write_text("exit\n")
        wait_until(lambda: psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE, 10, "state Z")
        config = watchdog_config(
            {"cam": {"pidfile": str(pidfile), "logs": [str(log)], "log_stale_minutes": 5}}
        )
        obs = Checker(config).check("cam")
        (finding,) = obs.findings
        assert finding.kind == "zombie_process"
        assert finding.message == (
            f"cam is NOT RUNNING: PID {child.pid} is a zombie process (state Z): it exited and its parent "
            f"PID {os.getpid()} ({psutil.Process().name()}) has not reaped it"
        )
        assert finding.restart == "cam"
    finally:
        child.wait(5)


def test_a_daemon_that_exited_is_found_not_running(daemons):
    d = daemons()
    checker = Checker(watchdog_config({"gate": d.service()}))
    d.set_mode("exit")
    wait_until(lambda: not d.pids(), 10, "daemon exit")
    obs = checker.check("gate")
    (finding,) = obs.findings
    assert finding.kind == "not_running"
    assert finding.message == "gate process NOT RUNNING"


def test_serious_errors_are_found_and_transient_ones_are_not(daemons):
    serious, transient = daemons("serious"), daemons("transient")
    config = watchdog_config({"serious": serious.service(), "transient": transient.service()})
    checker = Checker(config)
    checker.check("serious")
    checker.check("transient")
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
    assert obs.healthy
    assert [p.pid for p in obs.processes] == d.pids()
    d.stop()
    wait_until(lambda: not d.pids(), 10, "daemon gone")
    reap()
    assert kinds(Checker(config).check("pidded")) == {"not_running"}
