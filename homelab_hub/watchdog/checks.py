"""One check of the watched services: which processes run, how they use the CPU, whether
their logs flow and what errors they show, and whether their dependencies answer.

Reads only log tails and the process table. Problems become `Finding`s; a transient error
(the service's own retry loop handles it) is counted but is not a finding.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from homelab_hub.watchdog import dependencies
from homelab_hub.watchdog.config import WatchdogConfig, WatchedServiceConfig
from homelab_hub.watchdog.logs import LogCursor, LogProblem, read_new
from homelab_hub.watchdog.processes import (
    ProcessInfo,
    ProcessTable,
    describe,
    pid_from_file,
    pid_from_systemd,
    sample_cpu,
)

MAX_ERROR_LINES = 20  # serious lines kept per finding; the incident's log tail has the rest


@dataclass
class Finding:
    kind: str  # not_running | cpu_zombie | log_stale | log_missing | log_unreadable | serious_errors | dependency_down | worker_*
    message: str
    restart: str | None = None  # the watched service whose restart should fix it (None: no restart helps)
    lines: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "message": self.message}
        if self.restart:
            out["restart"] = self.restart
        if self.lines:
            out["lines"] = self.lines
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(data["kind"], data["message"], data.get("restart"), list(data.get("lines", [])))


@dataclass
class Observation:
    service: str
    checked_at: float
    processes: list[ProcessInfo] = field(default_factory=list)
    log_age_s: float | None = None
    transient_errors: int = 0
    findings: list[Finding] = field(default_factory=list)
    cursors: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return not self.findings

    def own_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.kind != "dependency_down"]

    def summary(self) -> str:
        return "; ".join(f.message for f in self.findings) or "nominal"


def find_pids(cfg: WatchedServiceConfig, table: ProcessTable) -> list[int]:
    pids: set[int] = set()
    if cfg.pidfile is not None:
        pid = pid_from_file(cfg.pidfile)
        if pid is not None:
            pids.add(pid)
    if cfg.systemd_unit:
        pid = pid_from_systemd(cfg.systemd_unit)
        if pid is not None:
            pids.add(pid)
    if cfg.match:
        pids.update(table.matching(re.compile(cfg.match)))
    return sorted(pids)


def _is_serious(line: str, cfg: WatchedServiceConfig) -> bool | None:
    """True: serious error; False: transient error; None: not an error line."""
    low = line.lower()
    if not any(p.lower() in low for p in cfg.serious_patterns):
        return None
    return not any(p.lower() in low for p in cfg.transient_patterns)


def examine_logs(obs: Observation, cfg: WatchedServiceConfig, cursors: dict[str, dict[str, int]]) -> None:
    """Read new log lines and the log age into ``obs``; problems become findings."""
    serious: list[str] = []
    ages: list[float] = []
    for path in cfg.logs:
        key = str(path)
        try:
            read = read_new(path, LogCursor.from_dict(cursors.get(key)))
        except LogProblem as problem:
            obs.findings.append(Finding(problem.kind, problem.message, restart=obs.service))
            continue
        obs.cursors[key] = read.cursor.to_dict()
        ages.append(read.age_s)
        for line in read.new_lines:
            verdict = _is_serious(line, cfg)
            if verdict:
                serious.append(line[:500])
            elif verdict is False:
                obs.transient_errors += 1
    if ages:
        obs.log_age_s = min(ages)
        if obs.log_age_s > cfg.log_stale_minutes * 60:
            obs.findings.append(
                Finding(
                    "log_stale",
                    f"{obs.service} log is {_age(obs.log_age_s)} stale (limit {_age(cfg.log_stale_minutes * 60)})",
                    restart=obs.service,
                )
            )
    if serious:
        obs.findings.append(
            Finding(
                "serious_errors",
                f"{obs.service} logged {len(serious)} serious error line(s): {serious[-1][:160]}",
                restart=obs.service,
                lines=serious[-MAX_ERROR_LINES:],
            )
        )


def examine_processes(obs: Observation, cfg: WatchedServiceConfig) -> None:
    if not (cfg.match or cfg.pidfile or cfg.systemd_unit):
        return  # found only through its logs
    live = [p for p in obs.processes if p.status != "zombie"]
    if not live:
        defunct = [p.pid for p in obs.processes]
        detail = f" (defunct PIDs {defunct})" if defunct else ""
        obs.findings.append(
            Finding("not_running", f"{obs.service} process NOT RUNNING{detail}", restart=obs.service)
        )
        return
    stale = any(f.kind == "log_stale" for f in obs.findings) or not cfg.logs
    for proc in live:
        if proc.cpu_samples and proc.cpu_min >= cfg.cpu_zombie_percent and stale:
            obs.findings.append(
                Finding(
                    "cpu_zombie",
                    f"{obs.service} is a ZOMBIE (PID {proc.pid}, {proc.cpu_avg:.0f}% CPU over "
                    f"{len(proc.cpu_samples)} samples, log silent)",
                    restart=obs.service,
                )
            )
            return


def check_services(
    config: WatchdogConfig,
    cursors: dict[str, dict[str, dict[str, int]]],
    wait: Callable[[float], bool],
    names: list[str] | None = None,
    cpu_samples: int | None = None,
) -> dict[str, Observation]:
    """Observe every (or the named) watched service once. Never raises for a service's sake."""
    now = time.time()
    table = ProcessTable()
    wanted = list(config.services) if names is None else names
    observations: dict[str, Observation] = {}
    for name in wanted:
        cfg = config.services[name]
        obs = Observation(service=name, checked_at=now)
        obs.processes = describe(find_pids(cfg, table), table)
        observations[name] = obs
    everyone = [p for obs in observations.values() for p in obs.processes if p.status != "zombie"]
    samples = config.cpu_samples if cpu_samples is None else cpu_samples
    if samples:
        sample_cpu(everyone, samples, config.cpu_sample_interval_s, wait)
    for name, obs in observations.items():
        cfg = config.services[name]
        examine_logs(obs, cfg, cursors.get(name, {}))
        examine_processes(obs, cfg)
    # Dependencies last: a 'service' dependency reads the other service's own findings.
    own_health: dict[str, tuple[bool, str]] = {
        name: (not obs.own_findings(), obs.summary()) for name, obs in observations.items()
    }

    def service_health(other: str) -> tuple[bool, str]:
        if other not in own_health:
            (extra,) = check_services(config, cursors, wait, names=[other], cpu_samples=0).values()
            own_health[other] = (not extra.own_findings(), extra.summary())
        return own_health[other]

    for name, obs in observations.items():
        for dep in config.services[name].dependencies:
            ok, detail = dependencies.check_dependency(dep, service_health)
            if not ok:
                obs.findings.append(
                    Finding(
                        "dependency_down",
                        f"{name} dependency {dependencies.label(dep)} down: {detail}",
                        restart=dependencies.provider(dep),
                    )
                )
    return observations


def _age(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"
