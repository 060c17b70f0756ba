"""One check of the watched services: which processes run, how they use the CPU, whether
their logs flow and what errors they show, and whether their dependencies answer.

Reads only log tails and the process table. Problems become `Finding`s; a transient error
(the service's own retry loop handles it) is counted but is not a finding.

A stale log is the trigger; the CPU is the label. A process whose log went silent is
*spinning* when it burns CPU in every sample (the seed's 300 % deadlock, its "zombie") and
*hung* when it idles near 0 % (a blocked read, a lock, a sleep); both act, and the message
carries the numbers. A process in state Z is reported as a zombie process, which is the
word's Unix meaning.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from homelab_hub.inference.rpc import RpcProber
from homelab_hub.watchdog import dependencies
from homelab_hub.watchdog.config import WatchdogConfig, WatchedServiceConfig
from homelab_hub.watchdog.logs import LogCursor, LogProblem, read_new
from homelab_hub.watchdog.processes import (
    ProcessInfo,
    ProcessTable,
    SystemdUnit,
    describe,
    pid_from_file,
    sample_cpu,
    systemd_unit,
)
from homelab_hub.watchdog.records import FindingKind

MAX_ERROR_LINES = 20  # serious lines kept per finding; the incident's log tail has the rest


@dataclass
class Finding:
    kind: FindingKind
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
    unit: SystemdUnit | None = None
    label: str = ""  # spinning | hung | "" (the stale log's CPU label, when there is one)

    @property
    def healthy(self) -> bool:
        return not self.findings

    def own_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.kind != "dependency_down"]

    def summary(self) -> str:
        return "; ".join(f.message for f in self.findings) or "nominal"


def unit_of(cfg: WatchedServiceConfig, name: str) -> str | None:
    """The systemd unit behind a service: its systemd_unit, or its restart target."""
    if cfg.systemd_unit:
        return cfg.systemd_unit
    if cfg.restart.method == "systemd":
        return cfg.restart.target or name
    return None


def find_pids(cfg: WatchedServiceConfig, table: ProcessTable, unit: SystemdUnit | None = None) -> list[int]:
    pids: set[int] = set()
    if cfg.pidfile is not None:
        pid = pid_from_file(cfg.pidfile)
        if pid is not None:
            pids.add(pid)
    if cfg.systemd_unit:
        if unit is None:
            unit = systemd_unit(cfg.systemd_unit)
        if unit is not None and unit.main_pid is not None:
            pids.add(unit.main_pid)
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
    unit = obs.unit
    if unit is not None and unit.start_limit_hit:
        # systemd refuses to start it until reset-failed: a plain restart cannot help.
        fixable = cfg.restart.method == "systemd" and cfg.restart.reset_start_limit
        obs.findings.append(
            Finding(
                "start_limit_hit",
                f"{obs.service}: systemd unit {unit.unit} hit its start limit (Result=start-limit-hit, "
                f"{unit.active_state}/{unit.sub_state}); systemd will not start it until "
                f"`systemctl reset-failed {unit.unit}`"
                + ("" if fixable else " (restart.reset_start_limit is off: left to a human)"),
                restart=obs.service if fixable else None,
            )
        )
        if not fixable:
            for finding in obs.findings:  # its missing or stale log: restarting is futile too
                if finding.restart == obs.service:
                    finding.restart = None
        return
    if not (cfg.match or cfg.pidfile or cfg.systemd_unit):
        return  # found only through its logs
    live = [p for p in obs.processes if not p.zombie]
    if not live:
        zombies = [p for p in obs.processes if p.zombie]
        if zombies:
            z = zombies[0]
            parent = f"PID {z.ppid}" + (f" ({z.parent})" if z.parent else "")
            obs.findings.append(
                Finding(
                    "zombie_process",
                    f"{obs.service} is NOT RUNNING: PID {z.pid} is a zombie process (state Z): it exited "
                    f"and its parent {parent} has not reaped it",
                    restart=obs.service,
                )
            )
        else:
            obs.findings.append(
                Finding("not_running", f"{obs.service} process NOT RUNNING", restart=obs.service)
            )
        return
    sampled = [p for p in live if p.cpu_samples]
    if not sampled:
        return  # no CPU readings (a verification): the stale log speaks for itself
    stale = next((f for f in obs.findings if f.kind == "log_stale"), None)
    busiest = max(sampled, key=lambda p: p.cpu_min)
    samples = len(busiest.cpu_samples)
    if busiest.cpu_min >= cfg.cpu_zombie_percent and (stale is not None or not cfg.logs):
        silent = "log silent " + _stale_part(obs, cfg) if stale is not None else "no log to show progress"
        obs.label = "spinning"
        _relabel(
            obs,
            stale,
            Finding(
                "spinning",
                f"{obs.service} is spinning, a ZOMBIE: {silent}, while PID {busiest.pid} burns "
                f"{busiest.cpu_avg:.0f}% CPU (at least {busiest.cpu_min:.0f}% in each of {samples} samples)",
                restart=obs.service,
            ),
        )
    elif stale is not None and all(p.cpu_max <= cfg.cpu_hung_percent for p in sampled):
        idlest = max(sampled, key=lambda p: p.cpu_max)
        obs.label = "hung"
        _relabel(
            obs,
            stale,
            Finding(
                "hung",
                f"{obs.service} is hung: log silent {_stale_part(obs, cfg)}, and PID {idlest.pid} idles at "
                f"{idlest.cpu_max:.1f}% CPU at most over {samples} samples (blocked on a read, a lock or a sleep)",
                restart=obs.service,
            ),
        )
    elif stale is not None:
        stale.message += (
            f"; PID {busiest.pid} at {busiest.cpu_avg:.0f}% CPU over {samples} samples "
            f"(neither spinning, >= {cfg.cpu_zombie_percent:.0f}%, nor idle, <= {cfg.cpu_hung_percent:.0f}%)"
        )


def _stale_part(obs: Observation, cfg: WatchedServiceConfig) -> str:
    age = obs.log_age_s or 0.0
    return f"{_age(age)} (limit {_age(cfg.log_stale_minutes * 60)})"


def _relabel(obs: Observation, stale: Finding | None, labelled: Finding) -> None:
    """The label replaces the bare stale-log finding: one problem, one line in the report."""
    if stale is not None:
        obs.findings[obs.findings.index(stale)] = labelled
    else:
        obs.findings.append(labelled)


def check_services(
    config: WatchdogConfig,
    cursors: dict[str, dict[str, dict[str, int]]],
    wait: Callable[[float], bool],
    names: list[str] | None = None,
    cpu_samples: int | None = None,
    rpc: RpcProber | None = None,
) -> dict[str, Observation]:
    """Observe every (or the named) watched service once. Never raises for a service's sake.
    ``rpc``: the watchdog's prober of rpc-server dependencies."""
    now = time.time()
    table = ProcessTable()
    wanted = list(config.services) if names is None else names
    observations: dict[str, Observation] = {}
    for name in wanted:
        cfg = config.services[name]
        obs = Observation(service=name, checked_at=now)
        unit = unit_of(cfg, name)
        obs.unit = systemd_unit(unit) if unit else None
        obs.processes = describe(find_pids(cfg, table, obs.unit), table)
        observations[name] = obs
    everyone = [p for obs in observations.values() for p in obs.processes if not p.zombie]
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
            (extra,) = check_services(config, cursors, wait, names=[other], cpu_samples=0, rpc=rpc).values()
            own_health[other] = (not extra.own_findings(), extra.summary())
        return own_health[other]

    for name, obs in observations.items():
        for dep in config.services[name].dependencies:
            ok, detail = dependencies.check_dependency(dep, service_health, rpc)
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
    if seconds >= 10:
        return f"{seconds:.0f} s"
    return f"{seconds:.1f} s"
