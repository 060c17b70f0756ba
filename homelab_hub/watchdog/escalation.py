"""The three tiers, for one unhealthy service: restart (up to N attempts, each verified),
then Claude Code in the service's repo (at most once per period), then a human.

Forensics (log tail, process state and CPU) are captured into the incident before any kill:
the seed's daemon wiped its log on restart, taking the evidence with it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from homelab_hub.watchdog.checks import Finding, Observation, check_services, find_pids
from homelab_hub.watchdog.claude import PROMPT, ClaudeOutcome, ClaudeRunner
from homelab_hub.watchdog.config import WatchdogConfig
from homelab_hub.watchdog.incidents import IncidentStore, ServiceState
from homelab_hub.watchdog.logs import LogProblem, tail_lines
from homelab_hub.watchdog.managers import ServiceManager
from homelab_hub.watchdog.processes import ProcessTable, describe

log = logging.getLogger(__name__)

Wait = Callable[[float], bool]
# Findings that a verification after a restart must not show. A dependency counts: after
# restarting the service that provides it, the dependency itself must answer again.
_BLOCKING = {
    "not_running",
    "log_missing",
    "log_unreadable",
    "log_stale",
    "serious_errors",
    "cpu_zombie",
    "dependency_down",
}


@dataclass
class Outcome:
    """How one service's check ended."""

    report: str  # nominal | fixed | code_fixed | needs_human
    detail: str = ""
    incident_id: int | None = None
    claude: dict[str, Any] | None = None
    attempts: int = 0
    findings: list[Finding] = field(default_factory=list)


class Escalation:
    def __init__(
        self,
        config: WatchdogConfig,
        incidents: IncidentStore,
        manager: ServiceManager,
        claude: ClaudeRunner,
    ) -> None:
        self.config = config
        self.incidents = incidents
        self.manager = manager
        self.claude = claude

    # -- forensics ----------------------------------------------------------------------
    def forensics(self, name: str, obs: Observation | None) -> dict[str, Any]:
        cfg = self.config.services[name]
        logs: dict[str, list[str]] = {}
        for path in cfg.logs:
            try:
                logs[str(path)] = tail_lines(path, self.config.forensic_log_lines)
            except LogProblem as problem:
                logs[str(path)] = [f"<{problem.message}>"]
        procs = obs.processes if obs is not None else describe(find_pids(cfg, ProcessTable()), ProcessTable())
        return {
            "captured_at": time.time(),
            "log_tail": logs,
            "processes": [p.to_dict() for p in procs],
            "log_age_s": None if obs is None else obs.log_age_s,
        }

    # -- tier 1 -------------------------------------------------------------------------
    def restart_and_verify(
        self,
        name: str,
        targets: list[str],
        incident_id: int,
        tier: str,
        done: set[str],
        wait: Wait,
        **extra: Any,
    ) -> tuple[bool, dict[str, dict[str, int]]]:
        """Restart each target (each at most once per check round), then verify ``name``.

        Returns (verified, log cursors after verification).
        """
        started = time.time()
        for target in targets:
            if target in done:
                continue
            cfg = self.config.services[target]
            table = ProcessTable()
            procs = describe(find_pids(cfg, table), table)
            result = self.manager.restart(target, cfg, procs)
            done.add(target)
            self.incidents.add_action(
                incident_id,
                tier,
                f"restart {target} ({cfg.restart.method})",
                result.ok,
                result.detail,
                processes=[p.to_dict() for p in procs],
                **extra,
            )
        ok, detail, cursors = self.verify(name, started, wait)
        self.incidents.add_action(incident_id, tier, f"verify {name}", ok, detail, **extra)
        return ok, cursors

    def verify(self, name: str, since: float, wait: Wait) -> tuple[bool, str, dict[str, dict[str, int]]]:
        """Wait up to verify_window_s for ``name`` to run and log again, and to stay up for a
        third of the window (a daemon that dies a second after start is not back)."""
        cfg = self.config.services[name]
        window = self.config.verify_window_s
        settle = window / 3
        step = min(1.0, max(0.05, window / 20))
        deadline = since + window
        problems = "not checked"
        start_cursors: dict[str, dict[str, int]] = {}
        for path in cfg.logs:
            try:
                st = path.stat()
                start_cursors[str(path)] = {"inode": st.st_ino, "offset": st.st_size}
            except OSError:
                continue
        cursors = start_cursors
        while True:
            obs = check_services(self.config, {name: start_cursors}, wait, names=[name], cpu_samples=0)[name]
            cursors = {**start_cursors, **obs.cursors}
            blocking = [f for f in obs.findings if f.kind in _BLOCKING]
            logging_again = not cfg.logs or (
                obs.log_age_s is not None and obs.log_age_s <= time.time() - since
            )
            if blocking:
                problems = "; ".join(f.message for f in blocking)
            elif not logging_again:
                problems = f"{name} has not logged since the restart"
            elif time.time() - since >= settle:
                pids = [p.pid for p in obs.processes]
                return True, f"{name} is back (PIDs {pids}) and logging", cursors
            else:
                problems = "settling"
            if time.time() >= deadline:
                return False, f"not back within {window:.0f}s: {problems}", cursors
            if wait(step):
                return False, "watchdog stopping", cursors

    # -- the tiers ----------------------------------------------------------------------
    def escalate(self, name: str, obs: Observation, st: ServiceState, done: set[str], wait: Wait) -> Outcome:
        """Run the tiers for an unhealthy service; updates ``st`` in place."""
        cfg = self.config.services[name]
        incident_id = st.last_incident_id
        reuse = st.state in ("unhealthy", "needs_human") and incident_id is not None
        if not reuse:
            incident_id = self.incidents.open(
                name, [f.to_dict() for f in obs.findings], self.forensics(name, obs)
            )
            st.last_incident_id = incident_id
        assert incident_id is not None
        targets = list(dict.fromkeys(f.restart for f in obs.findings if f.restart))
        exhausted = not targets or st.restart_attempts >= self.config.max_restart_attempts
        if st.state == "needs_human" and exhausted and not self._claude_due(name, st):
            return self._human(st, obs, incident_id, None, notify_again=False)
        st.state = "unhealthy"
        if targets:
            first = True
            while st.restart_attempts < self.config.max_restart_attempts:
                st.restart_attempts += 1
                # The first attempt skips services another service's tier already restarted
                # in this round; later attempts restart again.
                ok, cursors = self.restart_and_verify(
                    name,
                    targets,
                    incident_id,
                    "restart",
                    done if first else set(),
                    wait,
                    attempt=st.restart_attempts,
                )
                first = False
                if ok:
                    st.log_cursors.update(cursors)
                    self.incidents.set_status(incident_id, "fixed")
                    st.state = "recovering"
                    return Outcome(
                        "fixed",
                        f"restarted ({', '.join(targets)}), verified",
                        incident_id,
                        attempts=st.restart_attempts,
                        findings=obs.findings,
                    )
                if wait(0):
                    break
        claude: ClaudeOutcome | None = None
        if cfg.repo is not None and self._claude_due(name, st):
            st.last_claude_at = time.time()
            claude = self.claude.run(cfg.repo, self._prompt(name, obs, incident_id, st))
            self.incidents.add_action(
                incident_id, "claude", "claude -p", claude.ok, claude.summary, claude=claude.to_dict()
            )
            if claude.ok:
                ok, cursors = self.restart_and_verify(name, [name], incident_id, "claude", set(), wait)
                if ok:
                    st.log_cursors.update(cursors)
                    self.incidents.set_status(incident_id, "code_fixed")
                    st.state = "recovering"
                    return Outcome(
                        "code_fixed",
                        claude.summary[:500],
                        incident_id,
                        claude=claude.to_dict(),
                        attempts=st.restart_attempts,
                        findings=obs.findings,
                    )
        return self._human(st, obs, incident_id, claude, notify_again=True)

    def _human(
        self,
        st: ServiceState,
        obs: Observation,
        incident_id: int,
        claude: ClaudeOutcome | None,
        *,
        notify_again: bool,
    ) -> Outcome:
        if notify_again or st.state != "needs_human":
            self.incidents.add_action(incident_id, "human", "notify", True, "needs manual intervention")
        self.incidents.set_status(incident_id, "needs_human")
        st.state = "needs_human"
        return Outcome(
            "needs_human",
            obs.summary(),
            incident_id,
            claude=None if claude is None else claude.to_dict(),
            attempts=st.restart_attempts,
            findings=obs.findings,
        )

    def _claude_due(self, name: str, st: ServiceState) -> bool:
        cfg = self.config.services[name]
        if not (self.config.claude.enabled and cfg.claude and cfg.repo is not None):
            return False
        period = self.config.claude.period_minutes * 60
        return st.last_claude_at is None or time.time() - st.last_claude_at >= period

    def _prompt(self, name: str, obs: Observation, incident_id: int, st: ServiceState) -> str:
        cfg = self.config.services[name]
        lines: list[str] = []
        for path in cfg.logs:
            try:
                lines += [f"[{path.name}] {line}" for line in tail_lines(path, self.config.claude.log_lines)]
            except LogProblem as problem:
                lines.append(f"<{problem.message}>")
        tried = [
            f"- {a['tier']}: {a['action']} -> {'ok' if a['ok'] else 'failed'}: {a['detail']}"
            for a in self.incidents.get(incident_id).actions
        ]
        procs = [
            f"- PID {p.pid} {p.status} CPU {p.cpu_avg:.0f}% threads {p.threads}: {p.cmdline[:200]}"
            for p in obs.processes
        ]
        return PROMPT.format(
            service=name,
            attempts=st.restart_attempts,
            problems="\n".join(f"- {f.message}" for f in obs.findings),
            processes="\n".join(procs) or "- no process found",
            tried="\n".join(tried) or "- nothing",
            lines=self.config.claude.log_lines,
            log="\n".join(lines[-self.config.claude.log_lines :]) or "<no log lines>",
        )
