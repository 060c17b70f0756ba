"""The three tiers, for one unhealthy service: restart (within the restart budget, backing off,
each restart verified), then Claude Code in a worktree of the service's repo (at most once per
period), then a human, with the whole restart history in the incident.

A fault that comes back before the service has been stable for ``stable_minutes`` continues
the same incident (reopened, with fresh forensics), so the incident tells the whole story of a
recurring bug and its restarts count against one budget (see budget.py).

Forensics (log tail, process state and CPU) are captured into the incident before any kill:
the seed's daemon wiped its log on restart, taking the evidence with it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from homelab_hub.clock import steady_time
from homelab_hub.inference.rpc import RpcProber
from homelab_hub.watchdog.budget import Budget
from homelab_hub.watchdog.checks import Finding, Observation, check_services, find_pids
from homelab_hub.watchdog.claude import ClaudeOutcome, ClaudeRunner
from homelab_hub.watchdog.codefix import CodeFix, CodeFixTier
from homelab_hub.watchdog.config import WatchdogConfig
from homelab_hub.watchdog.logs import LogProblem, tail_lines
from homelab_hub.watchdog.managers import ServiceManager
from homelab_hub.watchdog.processes import ProcessTable, describe
from homelab_hub.watchdog.prompt import EscalationPrompt, Evidence, build_prompt, load_template
from homelab_hub.watchdog.records import Report, ServiceState
from homelab_hub.watchdog.store import IncidentStore

log = logging.getLogger(__name__)

Wait = Callable[[float], bool]
# Findings that a verification after a restart must not show. A dependency counts: after
# restarting the service that provides it, the dependency itself must answer again.
_BLOCKING = {
    "not_running",
    "zombie_process",
    "start_limit_hit",
    "log_missing",
    "log_unreadable",
    "log_stale",
    "spinning",
    "hung",
    "serious_errors",
    "dependency_down",
}
RECURRENCE_LOG_LINES = 20  # log lines kept with each recurrence (the first capture keeps more)
_ACTIVE = ("unhealthy", "needs_human", "recovering")


@dataclass
class Outcome:
    """How one service's check ended."""

    report: Report
    detail: str = ""
    incident_id: int | None = None
    claude: ClaudeOutcome | None = None
    attempts: int = 0
    findings: list[Finding] = field(default_factory=list)
    history: str = ""  # the restart budget's history, for the report
    undo: str | None = None  # how to undo Claude's deployed fix
    escalated: bool = False  # the human tier was reached afresh in this check: tell them


class Escalation:
    def __init__(
        self,
        config: WatchdogConfig,
        incidents: IncidentStore,
        manager: ServiceManager,
        claude: ClaudeRunner,
        *,
        rpc: RpcProber | None = None,
    ) -> None:
        """Raises ConfigError when the Claude tier is on and its prompt template is unreadable.
        ``rpc``: the watchdog's prober of rpc-server dependencies, for the checks after a restart."""
        self.config = config
        self.rpc = rpc
        self.incidents = incidents
        self.manager = manager
        self.budget = Budget(config)
        self.codefix = CodeFixTier(config.claude, incidents, claude)
        self.template = load_template(config.claude.prompt_file) if config.claude.enabled else ""

    # -- forensics ----------------------------------------------------------------------
    def forensics(self, name: str, obs: Observation | None, lines: int | None = None) -> dict[str, Any]:
        cfg = self.config.services[name]
        logs: dict[str, list[str]] = {}
        for path in cfg.logs:
            try:
                logs[str(path)] = tail_lines(path, lines or self.config.forensic_log_lines)
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
        started = steady_time()
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
            obs = check_services(
                self.config, {name: start_cursors}, wait, names=[name], cpu_samples=0, rpc=self.rpc
            )[name]
            cursors = {**start_cursors, **obs.cursors}
            blocking = [f for f in obs.findings if f.kind in _BLOCKING]
            logging_again = not cfg.logs or (
                obs.log_age_s is not None and obs.log_age_s <= steady_time() - since
            )
            if blocking:
                problems = "; ".join(f.message for f in blocking)
            elif not logging_again:
                problems = f"{name} has not logged since the restart"
            elif steady_time() - since >= settle:
                pids = [p.pid for p in obs.processes]
                return True, f"{name} is back (PIDs {pids}) and logging", cursors
            else:
                problems = "settling"
            if steady_time() >= deadline:
                return False, f"not back within {window:.0f}s: {problems}", cursors
            if wait(step):
                return False, "watchdog stopping", cursors

    # -- the tiers ----------------------------------------------------------------------
    def escalate(self, name: str, obs: Observation, st: ServiceState, done: set[str], wait: Wait) -> Outcome:
        """Run the tiers for an unhealthy service; updates ``st`` in place."""
        incident_id = self._incident(name, obs, st)
        self.budget.unhealthy(st)
        targets = list(dict.fromkeys(f.restart for f in obs.findings if f.restart))
        exhausted = not targets or self.budget.left(st) == 0
        if st.state == "needs_human" and exhausted and not self._claude_due(name, st):
            return self._human(name, st, obs, incident_id, None, fresh=False)
        st.state = "unhealthy"
        first = True
        while targets and self.budget.left(st) > 0:
            counted = len(self.budget.in_window(st))
            delay = self.budget.wait_before_next(st)
            if delay > 0 and wait(delay):
                break
            attempt = counted + 1
            at = steady_time()
            # The first attempt skips services another service's tier already restarted in
            # this round; later attempts restart again.
            ok, cursors = self.restart_and_verify(
                name,
                targets,
                incident_id,
                "restart",
                done if first else set(),
                wait,
                attempt=attempt,
                backoff_s=self.budget.backoff_s(counted),
                waited_s=round(delay, 3),
            )
            first = False
            self.budget.record(st, incident_id, ok, at)
            if ok:
                st.log_cursors.update(cursors)
                st.stable_since = steady_time()
                self.incidents.set_status(incident_id, "fixed")
                st.state = "recovering"
                return Outcome(
                    "fixed",
                    f"restarted ({', '.join(targets)}), verified",
                    incident_id,
                    attempts=st.restart_attempts,
                    findings=obs.findings,
                    history=self.budget.history(st),
                )
            if wait(0):
                break
        fix: CodeFix | None = None
        if self._claude_due(name, st):
            fix = self._code_fix(name, obs, st, incident_id, wait)
            if fix.ok:
                st.stable_since = steady_time()
                self.incidents.set_status(incident_id, "code_fixed")
                st.state = "recovering"
                return Outcome(
                    "code_fixed",
                    fix.detail,
                    incident_id,
                    claude=fix.claude,
                    attempts=st.restart_attempts,
                    findings=obs.findings,
                    history=self.budget.history(st),
                    undo=fix.undo,
                )
        return self._human(name, st, obs, incident_id, fix, fresh=True)

    def _incident(self, name: str, obs: Observation, st: ServiceState) -> int:
        """The incident this fault belongs to: the open one, the one of a fault that came back
        before the service was stable again (reopened), or a new one."""
        findings = [f.to_dict() for f in obs.findings]
        if st.state in _ACTIVE and st.last_incident_id is not None:
            incident_id = st.last_incident_id
            if st.state == "recovering":
                self.incidents.set_status(incident_id, "open")
                self.incidents.add_action(
                    incident_id,
                    "check",
                    "recurred",
                    False,
                    obs.summary(),
                    findings=findings,
                    forensics=self.forensics(name, obs, RECURRENCE_LOG_LINES),
                )
            return incident_id
        incident_id = self.incidents.open(name, findings, self.forensics(name, obs))
        st.last_incident_id = incident_id
        return incident_id

    def _code_fix(
        self, name: str, obs: Observation, st: ServiceState, incident_id: int, wait: Wait
    ) -> CodeFix:
        cfg = self.config.services[name]
        assert cfg.repo is not None  # _claude_due checked it
        st.last_claude_at = steady_time()

        def prompt_for(branch: str) -> EscalationPrompt:
            return build_prompt(
                self.template,
                service=name,
                incident_id=incident_id,
                branch=branch,
                history=self.budget.history(st),
                evidence=self._evidence(name, obs, incident_id),
            )

        def restart_verify(tier: str) -> bool:
            ok, cursors = self.restart_and_verify(name, [name], incident_id, tier, set(), wait)
            if ok:
                st.log_cursors.update(cursors)
            return ok

        return self.codefix.run(name, cfg.repo, incident_id, prompt_for, restart_verify)

    def _human(
        self,
        name: str,
        st: ServiceState,
        obs: Observation,
        incident_id: int,
        fix: CodeFix | None,
        *,
        fresh: bool,
    ) -> Outcome:
        history = self.budget.history(st)
        escalated = fresh or st.state != "needs_human"
        if escalated:
            detail = f"needs manual intervention; {history}"
            if fix is not None:
                detail += f"; Claude: {fix.detail}"
            self.incidents.add_action(incident_id, "human", "notify", True, detail)
        self.incidents.set_status(incident_id, "needs_human")
        st.state = "needs_human"
        return Outcome(
            "needs_human",
            fix.detail if fix is not None else obs.summary(),
            incident_id,
            claude=None if fix is None else fix.claude,
            attempts=st.restart_attempts,
            findings=obs.findings,
            history=history,
            escalated=escalated,
        )

    def _claude_due(self, name: str, st: ServiceState) -> bool:
        cfg = self.config.services[name]
        if not (self.config.claude.enabled and cfg.claude and cfg.repo is not None):
            return False
        period = self.config.claude.period_minutes * 60
        return st.last_claude_at is None or steady_time() - st.last_claude_at >= period

    def _evidence(self, name: str, obs: Observation, incident_id: int) -> Evidence:
        cfg = self.config.services[name]
        lines: list[str] = []
        for path in cfg.logs:
            try:
                lines += [f"[{path.name}] {line}" for line in tail_lines(path, self.config.claude.log_lines)]
            except LogProblem as problem:
                lines.append(f"<{problem.message}>")
        problems = [f.message for f in obs.findings]
        problems += [f"  {line}" for f in obs.findings for line in f.lines]
        tried = [
            f"- {a['tier']}: {a['action']} -> {'ok' if a['ok'] else 'failed'}: {a['detail']}"
            for a in self.incidents.get(incident_id).actions
        ]
        procs = [
            f"- PID {p.pid} {p.status} CPU {p.cpu_avg:.0f}% threads {p.threads}: {p.cmdline[:200]}"
            for p in obs.processes
        ]
        return Evidence(
            problems=problems,
            processes=procs,
            tried=tried,
            log_lines=lines[-self.config.claude.log_lines :],
        )
