"""Finding a service's processes and sampling their CPU, from the process table (psutil).

A check takes one snapshot of the process table for all services (walking /proc once per
check, not once per service), then samples CPU of every found process together: prime,
then ``samples`` readings ``interval`` apart. A spinning process is above the limit in
every reading — one busy second is not a deadlock.

A process in state Z (exited, not yet reaped by its parent) has no command line and no CPU;
it is described as a zombie with its parent, so that a check reports it as what it is.
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
    ppid: int = 0
    parent: str = ""

    @property
    def cpu_min(self) -> float:
        return min(self.cpu_samples) if self.cpu_samples else 0.0

    @property
    def cpu_max(self) -> float:
        return max(self.cpu_samples) if self.cpu_samples else 0.0

    @property
    def zombie(self) -> bool:
        return self.status == psutil.STATUS_ZOMBIE

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
            "ppid": self.ppid,
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


@dataclass
class SystemdUnit:
    """What ``systemctl show`` says about a unit."""

    unit: str
    main_pid: int | None = None
    active_state: str = ""
    sub_state: str = ""
    result: str = ""

    @property
    def start_limit_hit(self) -> bool:
        return self.result == "start-limit-hit"


def systemd_unit(unit: str) -> SystemdUnit | None:
    """MainPID, ActiveState, SubState and Result of a unit (argv, never a shell); None when
    systemctl is missing or does not answer."""
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return None
    props = ("MainPID", "ActiveState", "SubState", "Result")
    try:
        out = subprocess.run(
            [systemctl, "show", *(f"--property={p}" for p in props), "--", unit],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    values = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    try:
        pid = int(values.get("MainPID", "0") or 0)
    except ValueError:
        pid = 0
    return SystemdUnit(
        unit=unit,
        main_pid=pid if pid > 0 else None,
        active_state=values.get("ActiveState", ""),
        sub_state=values.get("SubState", ""),
        result=values.get("Result", ""),
    )


def describe(pids: Iterable[int], table: ProcessTable) -> list[ProcessInfo]:
    """ProcessInfo for each pid still in the table (gone ones are dropped, zombies kept)."""
    out: list[ProcessInfo] = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            with proc.oneshot():
                if proc.status() == psutil.STATUS_ZOMBIE:
                    info = _zombie(proc, table)
                else:
                    info = ProcessInfo(
                        pid=pid,
                        cmdline=table.cmdlines.get(pid) or " ".join(proc.cmdline()),
                        status=proc.status(),
                        rss_mb=proc.memory_info().rss / 1e6,
                        threads=proc.num_threads(),
                        started_at=proc.create_time(),
                        ppid=proc.ppid(),
                    )
        except psutil.ZombieProcess:  # turned into a zombie between two reads
            try:
                info = _zombie(psutil.Process(pid), table)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        out.append(info)
    return out


def _zombie(proc: psutil.Process, table: ProcessTable) -> ProcessInfo:
    ppid = proc.ppid()
    try:
        parent = psutil.Process(ppid).name() if ppid else ""
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        parent = ""
    return ProcessInfo(
        pid=proc.pid,
        cmdline=table.cmdlines.get(proc.pid) or f"[{proc.name()}] <defunct>",
        status=psutil.STATUS_ZOMBIE,
        started_at=proc.create_time(),
        ppid=ppid,
        parent=parent,
    )


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
