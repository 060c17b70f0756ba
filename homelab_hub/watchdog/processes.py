"""Finding a service's processes and sampling their CPU, from the process table (psutil).

A check takes one snapshot of the process table for all services (walking /proc once per
check, not once per service), then samples CPU of every found process together: prime,
then ``samples`` readings ``interval`` apart. A seed-style zombie is above the limit in
every reading — one busy second is not a deadlock.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psutil


@dataclass
class ProcessInfo:
    pid: int
    cmdline: str
    status: str = ""
    cpu_samples: list[float] = field(default_factory=list)
    rss_mb: float = 0.0
    threads: int = 0
    started_at: float = 0.0

    @property
    def cpu_min(self) -> float:
        return min(self.cpu_samples) if self.cpu_samples else 0.0

    @property
    def cpu_avg(self) -> float:
        return sum(self.cpu_samples) / len(self.cpu_samples) if self.cpu_samples else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "pid": self.pid,
            "cmdline": self.cmdline[:500],
            "status": self.status,
            "cpu_percent_samples": [round(c, 1) for c in self.cpu_samples],
            "rss_mb": round(self.rss_mb, 1),
            "threads": self.threads,
            "started_at": self.started_at,
        }


class ProcessTable:
    """One snapshot of the process table: pid -> command line (own process excluded)."""

    def __init__(self) -> None:
        self.cmdlines: dict[int, str] = {}
        me = os.getpid()
        for proc in psutil.process_iter(["pid", "cmdline"]):
            info = proc.info
            if info["pid"] == me or not info.get("cmdline"):
                continue  # kernel threads and reaped zombies have no command line
            self.cmdlines[info["pid"]] = " ".join(info["cmdline"])

    def matching(self, pattern: re.Pattern[str]) -> list[int]:
        return sorted(pid for pid, cmd in self.cmdlines.items() if pattern.search(cmd))


def pid_from_file(path: Path) -> int | None:
    """The PID a pidfile names, if that process exists."""
    try:
        pid = int(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
    return pid if pid > 0 and psutil.pid_exists(pid) else None


def pid_from_systemd(unit: str) -> int | None:
    """MainPID of a systemd unit (argv, never a shell), or None when not running."""
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return None
    try:
        out = subprocess.run(
            [systemctl, "show", "--property=MainPID", "--value", "--", unit],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        pid = int(out.stdout.strip() or 0)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    return pid if pid > 0 else None


def describe(pids: Iterable[int], table: ProcessTable) -> list[ProcessInfo]:
    """ProcessInfo for each pid still alive (gone ones are dropped)."""
    out: list[ProcessInfo] = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            with proc.oneshot():
                info = ProcessInfo(
                    pid=pid,
                    cmdline=table.cmdlines.get(pid) or " ".join(proc.cmdline()),
                    status=proc.status(),
                    rss_mb=proc.memory_info().rss / 1e6,
                    threads=proc.num_threads(),
                    started_at=proc.create_time(),
                )
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        out.append(info)
    return out


def sample_cpu(
    processes: list[ProcessInfo], samples: int, interval_s: float, wait: Callable[[float], bool]
) -> bool:
    """Fill each ProcessInfo's cpu_samples; False if ``wait`` reported a stop request."""
    handles: dict[int, psutil.Process] = {}
    for info in processes:
        try:
            proc = psutil.Process(info.pid)
            proc.cpu_percent(None)  # primes the counter; the first reading is meaningless
            handles[info.pid] = proc
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    for _ in range(samples):
        if not handles:
            return True
        if wait(interval_s):
            return False
        for info in processes:
            handle = handles.get(info.pid)
            if handle is None:
                continue
            try:
                info.cpu_samples.append(handle.cpu_percent(None))
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                handles.pop(info.pid, None)
    return True
