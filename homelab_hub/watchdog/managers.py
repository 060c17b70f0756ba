"""Restarting a service the way it is run: an argv command, systemd, launchd, docker or
supervisord. Everything is an argv list; nothing is ever handed to a shell, so a name or
argument full of shell metacharacters is only ever a literal string.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass

import psutil

from homelab_hub.watchdog.config import WatchedServiceConfig
from homelab_hub.watchdog.processes import ProcessInfo, systemd_unit

log = logging.getLogger(__name__)


@dataclass
class RestartResult:
    ok: bool
    detail: str


def _run_manager(argv: list[str], timeout: float) -> RestartResult:
    exe = shutil.which(argv[0])
    if exe is None:
        return RestartResult(False, f"{argv[0]} is not installed on this host")
    try:
        done = subprocess.run(
            [exe, *argv[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return RestartResult(False, f"{' '.join(argv)} did not finish within {timeout:.0f}s")
    except OSError as exc:
        return RestartResult(False, f"{' '.join(argv)} could not run: {exc}")
    out = (done.stdout + done.stderr).strip()[-500:]
    if done.returncode != 0:
        return RestartResult(False, f"{' '.join(argv)} exited {done.returncode}: {out}")
    return RestartResult(True, f"{' '.join(argv)} ok")


def _alive(proc: psutil.Process) -> bool:
    """Running and not a zombie: a process in state Z is dead, only not yet reaped by its
    parent (psutil.wait_procs would wait out the whole timeout for a stranger's zombie)."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait up to ``timeout`` for the processes to die; returns those still alive."""
    deadline = time.monotonic() + timeout
    alive = [p for p in procs if _alive(p)]
    while alive and time.monotonic() < deadline:
        psutil.wait_procs(alive, timeout=min(0.1, max(0.0, deadline - time.monotonic())))
        alive = [p for p in alive if _alive(p)]
    return alive


def stop_processes(processes: list[ProcessInfo], grace_s: float) -> list[int]:
    """SIGTERM each process and its children, SIGKILL what is left after ``grace_s``.

    Returns the PIDs signalled. Never raises for processes that are already gone.
    """
    victims: list[psutil.Process] = []
    for info in processes:
        if info.zombie:
            continue  # already dead; only its parent can reap it
        try:
            proc = psutil.Process(info.pid)
            victims.extend(proc.children(recursive=True))
            victims.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    for proc in victims:
        try:
            proc.terminate()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    for proc in _wait_gone(victims, grace_s):
        try:
            proc.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    _wait_gone(victims, 5)
    return [p.pid for p in victims]


class ServiceManager:
    """Restarts watched services. Keeps the children it launched so that they are reaped."""

    def __init__(self) -> None:
        self._children: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()

    def reap(self) -> None:
        """Collect launched services that exited (so they do not linger as defunct)."""
        with self._lock:
            self._children = [p for p in self._children if p.poll() is None]

    def close(self) -> None:
        """Forget launched services; they keep running (they belong to the home lab, not to us)."""
        self.reap()

    def restart(self, name: str, cfg: WatchedServiceConfig, processes: list[ProcessInfo]) -> RestartResult:
        """Restart ``name`` by its configured method; never raises."""
        method = cfg.restart.method
        target = cfg.restart.target or name
        if target.startswith("-"):
            return RestartResult(
                False, f"restart target {target!r} starts with '-'; refusing to pass it as an option"
            )
        timeout = cfg.restart.manager_timeout_s
        if method == "command":
            return self._restart_command(name, cfg, processes)
        if method == "systemd":
            return self._restart_systemd(target, cfg, timeout)
        if method == "docker":
            return _run_manager(["docker", "restart", target], timeout)
        if method == "supervisor":
            return _run_manager(["supervisorctl", "restart", target], timeout)
        # A bare label is the user's agent (as the seed's LaunchAgent); "system/…" and friends pass as given.
        domain = target if target.startswith(("gui/", "system/", "user/")) else f"gui/{os.getuid()}/{target}"
        return _run_manager(["launchctl", "kickstart", "-k", domain], timeout)

    def _restart_systemd(self, unit: str, cfg: WatchedServiceConfig, timeout: float) -> RestartResult:
        state = systemd_unit(unit) if cfg.restart.reset_start_limit else None
        prefix = ""
        if state is not None and state.start_limit_hit:
            # Only when configured: the start limit is the unit author's own crash-loop brake.
            reset = _run_manager(["systemctl", "reset-failed", "--", unit], timeout)
            if not reset.ok:
                return reset
            prefix = f"reset-failed {unit} (start-limit-hit), then "
        result = _run_manager(["systemctl", "restart", "--", unit], timeout)
        return RestartResult(result.ok, prefix + result.detail)

    def _restart_command(
        self, name: str, cfg: WatchedServiceConfig, processes: list[ProcessInfo]
    ) -> RestartResult:
        killed = stop_processes(processes, cfg.restart.stop_timeout_s) if processes else []
        self.reap()
        argv = cfg.restart.command
        if not argv:
            if not killed:
                return RestartResult(False, "no restart.command configured and no running process to stop")
            return RestartResult(True, f"stopped PIDs {killed}; its own supervisor must start it again")
        try:
            child = subprocess.Popen(
                argv,
                cwd=cfg.restart.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # outlives the hub, and is not hit by signals sent to it
                close_fds=True,
            )
        except OSError as exc:
            return RestartResult(False, f"could not start {argv[0]!r}: {exc}")
        with self._lock:
            self._children.append(child)
        stopped = f"stopped PIDs {killed}, " if killed else ""
        log.info("watchdog: restarted %s as PID %d", name, child.pid)
        return RestartResult(True, f"{stopped}started PID {child.pid}")
