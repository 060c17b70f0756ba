"""Watchdog test helpers: real daemon processes (tests/fakes/daemon.py), configs with short
windows so that every tier runs in seconds, git repos for the Claude tier, and small readers
of incidents. The `daemons` fixture (conftest.py) starts and cleans up the daemons."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from homelab_hub.watchdog.config import WatchdogConfig
from homelab_hub.watchdog.records import Incident
from tests.support import wait_until

DAEMON = Path(__file__).resolve().parents[1] / "fakes" / "daemon.py"
STANDINS = Path(__file__).resolve().parents[1] / "fakes" / "claude_standin"
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]

# Short windows: a stale log after 0.9 s, CPU sampled 3 x 0.25 s, restarts verified within
# 2 s (and the service must stay up for a third of that), backoff 0.2 s doubling. The spinning
# daemon is one Python thread (<= 100 % of a core) on a shared, busy 2-core machine (it may
# get a third of a core), hence a 10 % spinning limit; the normal and hung daemons stay below
# 5 %, and a hung one (asleep) at 0 %, hence a 2 % hung limit.
FAST = {
    "interval_s": 1.0,
    "cpu_samples": 3,
    "cpu_sample_interval_s": 0.25,
    "verify_window_s": 2.0,
    "forensic_log_lines": 200,
    "restart_backoff_s": 0.2,
    "restart_backoff_max_s": 1.0,
}
FAST_SERVICE = {"log_stale_minutes": 0.015, "cpu_zombie_percent": 10.0, "cpu_hung_percent": 2.0}

# Hubs for watchdog tests need no memory engine: its embedding model costs seconds of CPU.
HUB: dict[str, Any] = {"memory": {"enabled": False}}

LAUNCHED: list[subprocess.Popen[bytes]] = []


@dataclass
class TestDaemon:
    name: str
    dir: Path
    extra: tuple[str, ...] = ()

    __test__ = False  # not a test class

    @property
    def log(self) -> Path:
        return self.dir / f"{self.name}.log"

    @property
    def control(self) -> Path:
        return self.dir / "control"

    @property
    def argv(self) -> list[str]:
        return [
            sys.executable,
            str(DAEMON),
            "--log",
            str(self.log),
            "--control",
            str(self.control),
            "--interval",
            "0.05",
            *self.extra,
        ]

    @property
    def match(self) -> str:
        return f"daemon\\.py --log {self.log}"

    def set_mode(self, mode: str) -> None:
        tmp = self.control.with_suffix(".tmp")
        tmp.write_text(mode + "\n")
        os.replace(tmp, self.control)

    def pids(self) -> list[int]:
        out = []
        for proc in psutil.process_iter(["pid", "cmdline", "status"]):
            cmd = " ".join(proc.info["cmdline"] or [])
            if str(self.log) in cmd and "daemon.py" in cmd and proc.info["status"] != psutil.STATUS_ZOMBIE:
                out.append(proc.info["pid"])
        return out

    def start(self) -> TestDaemon:
        self.dir.mkdir(parents=True, exist_ok=True)
        if not self.control.exists():
            self.set_mode("normal")
        proc = subprocess.Popen(
            self.argv,
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        LAUNCHED.append(proc)
        # This process's own first line: after a restart the log already holds the last one's.
        started = f"[{proc.pid}] INFO daemon started"
        wait_until(
            lambda: self.log.exists() and started in self.log.read_text(errors="replace"),
            10,
            f"{self.name} first log line",
        )
        return self

    def service(self, **overrides: Any) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "match": self.match,
            "logs": [str(self.log)],
            "restart": {"method": "command", "command": self.argv, "stop_timeout_s": 2.0},
            **FAST_SERVICE,
        }
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(cfg.get(key), dict):
                cfg[key] = {**cfg[key], **value}
            else:
                cfg[key] = value
        return cfg

    def quiet(self, seconds: float = 1.0) -> None:
        """Wait until the log has been silent for ``seconds``."""
        wait_until(
            lambda: time.time() - self.log.stat().st_mtime > seconds, 15, f"{self.name} log to go silent"
        )

    def stop(self) -> None:
        for pid in self.pids():
            try:
                psutil.Process(pid).kill()
            except psutil.NoSuchProcess:
                pass


def reap() -> None:
    """Collect the test's own exited daemons, so that they are gone rather than in state Z."""
    for proc in LAUNCHED:
        proc.poll()


def watchdog_config(services: dict[str, dict[str, Any]], **overrides: Any) -> WatchdogConfig:
    data: dict[str, Any] = {**FAST, "services": services}
    data.update(overrides)
    return WatchdogConfig.model_validate(data)


def git_out(repo: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def init_repo(path: Path) -> str:
    """Make ``path`` a git repo with everything in it committed; returns the commit."""
    (path / ".gitignore").write_text("*.log\n*.tmp\n")
    subprocess.run([*GIT, "init", "-q"], cwd=path, check=True)
    subprocess.run([*GIT, "add", "."], cwd=path, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", "initial"], cwd=path, check=True)
    return git_out(path, "rev-parse", "HEAD")


def actions(incident: Incident, prefix: str = "", tier: str | None = None) -> list[dict[str, Any]]:
    """The incident's actions whose name starts with ``prefix`` (and of ``tier``)."""
    return [
        a for a in incident.actions if a["action"].startswith(prefix) and (tier is None or a["tier"] == tier)
    ]


def kinds(findings: list[Any]) -> set[str]:
    return {f.kind for f in findings}
