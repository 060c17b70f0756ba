"""Watchdog test helpers: real daemon processes (tests/fakes/daemon.py) and configs with
short windows, so that every tier runs in seconds."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from homelab_hub.watchdog.config import WatchdogConfig
from tests.support import wait_until

DAEMON = Path(__file__).resolve().parents[1] / "fakes" / "daemon.py"
STANDINS = Path(__file__).resolve().parents[1] / "fakes" / "claude_standin"

# Short windows: a stale log after 0.9 s, CPU sampled 3 x 0.25 s, restarts verified within
# 2 s (and the service must stay up for a third of that). The spinning daemon is one
# Python thread (<= 100 % of a core) on a shared, busy 2-core machine (it may get a third of a
# core), hence a 10 % zombie limit; the normal and hung daemons stay below 5 %.
FAST = {
    "interval_s": 1.0,
    "cpu_samples": 3,
    "cpu_sample_interval_s": 0.25,
    "verify_window_s": 2.0,
    "forensic_log_lines": 200,
}
FAST_SERVICE = {"log_stale_minutes": 0.015, "cpu_zombie_percent": 10.0}


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
        import subprocess

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
        _LAUNCHED.append(proc)
        wait_until(
            lambda: self.log.exists() and self.log.stat().st_size > 0, 10, f"{self.name} first log line"
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

    def stop(self) -> None:
        for pid in self.pids():
            try:
                psutil.Process(pid).kill()
            except psutil.NoSuchProcess:
                pass


_LAUNCHED: list[Any] = []


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[Callable[..., TestDaemon]]:
    made: list[TestDaemon] = []

    def make(name: str = "gate-monitor", *extra: str, start: bool = True) -> TestDaemon:
        d = TestDaemon(name, tmp_path / name, tuple(extra))
        made.append(d)
        if start:
            d.start()
        else:
            d.dir.mkdir(parents=True, exist_ok=True)
            d.set_mode("normal")
        return d

    yield make
    for d in made:  # including the copies the watchdog started
        d.stop()
    for proc in _LAUNCHED:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)
    _LAUNCHED.clear()


def watchdog_config(services: dict[str, dict[str, Any]], **overrides: Any) -> WatchdogConfig:
    data: dict[str, Any] = {**FAST, "services": services}
    data.update(overrides)
    return WatchdogConfig.model_validate(data)
