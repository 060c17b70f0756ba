"""The watchdog: checks every watched service, runs the tiers for the unhealthy ones, keeps
its state in the database, reports, and answers status and manual restarts."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from homelab_hub.errors import NotFound
from homelab_hub.store import Database
from homelab_hub.watchdog.checks import Finding, Observation, check_services
from homelab_hub.watchdog.claude import ClaudeRunner
from homelab_hub.watchdog.config import WatchdogConfig
from homelab_hub.watchdog.escalation import Escalation, Outcome
from homelab_hub.watchdog.incidents import Incident, IncidentStore, ServiceState, StateStore
from homelab_hub.watchdog.managers import ServiceManager
from homelab_hub.watchdog.report import CheckReport
from homelab_hub.watchdog.workers import WorkerWatch

log = logging.getLogger(__name__)


class Notifier(Protocol):
    def send(self, title: str, body: str) -> bool: ...


def _no_wait(seconds: float) -> bool:
    time.sleep(seconds)
    return False


@dataclass
class ManualRestart:
    ok: bool
    detail: str
    incident_id: int


class Watchdog:
    """The engine. Thread-safe: the worker's checks and manual restarts take a per-service lock."""

    def __init__(
        self,
        config: WatchdogConfig,
        db: Database,
        notifier: Notifier | None = None,
        supervisor: Any = None,
    ) -> None:
        self.config = config
        self.incidents = IncidentStore(db)
        self.states = StateStore(db)
        self.notifier = notifier
        self.manager = ServiceManager()
        self.escalation = Escalation(config, self.incidents, self.manager, ClaudeRunner(config.claude))
        self.workers = WorkerWatch(supervisor) if supervisor is not None and config.watch_workers else None
        self._locks = {name: threading.Lock() for name in config.services}
        self._round = threading.Lock()
        self._restarted_at: dict[str, float] = {}
        self.last_observations: dict[str, Observation] = {}
        self.last_report: CheckReport | None = None

    # -- checks -------------------------------------------------------------------------
    def check_once(
        self, wait: Callable[[float], bool] = _no_wait, beat: Callable[[], None] | None = None
    ) -> CheckReport:
        """One full check of every service (and the hub's workers), with escalation and report.

        Raises StorageUnavailable when the database is down (the worker then crashes and is
        restarted by the supervisor).
        """
        with self._round:
            report = CheckReport(started_at=time.time(), finished_at=0.0)
            self.manager.reap()
            states = {name: self.states.load(name) for name in self.config.services}
            cursors = {name: st.log_cursors for name, st in states.items()}
            observations = check_services(self.config, cursors, wait)
            done: set[str] = set()
            for name, obs in observations.items():
                if beat is not None:
                    beat()
                with self._locks[name]:
                    if self._restarted_at.get(name, 0.0) > obs.checked_at:
                        # Restarted by hand while this round observed it: the observation
                        # is stale, and acting on it would kill the fresh process.
                        report.outcomes[name] = Outcome(states[name].report, "restarted during this check")
                        continue
                    if not obs.healthy and time.time() - obs.checked_at > self.config.interval_s:
                        # An earlier service's tiers took long (Claude may take minutes): look
                        # again before acting on an old observation.
                        obs = check_services(
                            self.config, {name: states[name].log_cursors}, wait, names=[name]
                        )[name]
                    outcome = self._handle(name, obs, states[name], done, wait)
                report.outcomes[name] = outcome
                if outcome.report != states[name].report:
                    report.changed.append(name)
                states[name].report = outcome.report
                self.states.save(states[name])
                self.last_observations[name] = obs
            if self.workers is not None:
                for name, outcome in self.workers.check().items():
                    report.outcomes[name] = outcome
                    if self.workers.changed(name):
                        report.changed.append(name)
            report.finished_at = time.time()
            self.last_report = report
            self._send(report)
            return report

    def _handle(
        self, name: str, obs: Observation, st: ServiceState, done: set[str], wait: Callable[[float], bool]
    ) -> Outcome:
        st.last_check_at = obs.checked_at
        st.log_cursors.update(obs.cursors)
        st.findings = [f.to_dict() for f in obs.findings]
        if obs.healthy:
            if st.last_incident_id is not None and st.state in ("unhealthy", "needs_human"):
                self.incidents.add_action(
                    st.last_incident_id, "check", "healthy again", True, "service is nominal"
                )
                self.incidents.set_status(st.last_incident_id, "resolved")
            # The seed's rule: a recovered service carries no baggage.
            st.restart_attempts = 0
            st.state = "healthy"
            st.last_healthy_at = obs.checked_at
            return Outcome("nominal", "", attempts=0)
        try:
            return self.escalation.escalate(name, obs, st, done, wait)
        except Exception as exc:  # a tier bug must not stop the other services' checks
            log.exception("watchdog: escalation of %s failed", name)
            st.state = "needs_human"
            return Outcome(
                "needs_human",
                f"watchdog error while escalating: {exc}",
                st.last_incident_id,
                attempts=st.restart_attempts,
                findings=obs.findings,
            )

    def _send(self, report: CheckReport) -> None:
        if self.notifier is None:
            return
        mode = self.config.notify
        if mode == "every_check":
            wanted = True
        elif mode == "changes":
            wanted = bool(report.changed)
        else:
            wanted = any(report.outcomes[name].report == "needs_human" for name in report.changed)
        if wanted and not self.notifier.send(report.title(), report.body()):
            log.warning("watchdog: the report could not be delivered")

    # -- manual restart -----------------------------------------------------------------
    def restart(
        self, name: str, requested_by: str, wait: Callable[[float], bool] = _no_wait
    ) -> ManualRestart:
        """Restart a configured service by its own method, recorded as an incident.

        Raises NotFound when ``name`` is not a watched service.
        """
        if name not in self.config.services:
            known = ", ".join(sorted(self.config.services)) or "none"
            raise NotFound(f"{name!r} is not a watched service (configured: {known})")
        with self._locks[name]:
            findings = [Finding("manual_restart", f"restart requested by {requested_by}").to_dict()]
            incident_id = self.incidents.open(
                name,
                findings,
                self.escalation.forensics(name, None),
                origin="manual",
                requested_by=requested_by,
            )
            self._restarted_at[name] = time.time()
            ok, cursors = self.escalation.restart_and_verify(name, [name], incident_id, "manual", set(), wait)
            self.incidents.set_status(incident_id, "fixed" if ok else "open")
            st = self.states.load(name)
            st.last_incident_id = incident_id
            st.log_cursors.update(cursors)
            self.states.save(st)
            last = self.incidents.get(incident_id).actions[-1]
            return ManualRestart(ok=ok, detail=str(last["detail"]), incident_id=incident_id)

    # -- reading ------------------------------------------------------------------------
    def incident(self, incident_id: int) -> Incident:
        """Raises NotFound for an unknown id."""
        return self.incidents.get(incident_id)

    def status(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for name in self.config.services:
            st = self.states.load(name)
            obs = self.last_observations.get(name)
            out.append(
                {
                    "name": name,
                    "kind": "service",
                    "state": st.state,
                    "report": st.report,
                    "last_check_at": st.last_check_at,
                    "findings": [f["message"] for f in st.findings],
                    "restart_attempts": st.restart_attempts,
                    "last_incident_id": st.last_incident_id,
                    "last_claude_at": st.last_claude_at,
                    "details": {}
                    if obs is None
                    else {
                        "pids": [p.pid for p in obs.processes],
                        "cpu_percent": [round(p.cpu_avg, 1) for p in obs.processes],
                        "log_age_s": None if obs.log_age_s is None else round(obs.log_age_s, 1),
                        "transient_errors": obs.transient_errors,
                    },
                }
            )
        if self.workers is not None:
            out.extend(self.workers.status())
        return out

    def close(self) -> None:
        self.manager.close()


class WatchdogWorker:
    """The supervised loop: one check every interval_s."""

    name = "watchdog"

    def __init__(self, watchdog: Watchdog) -> None:
        self.watchdog = watchdog
        cfg = watchdog.config
        worst_tiers = (
            cfg.max_restart_attempts * cfg.verify_window_s * 2 + cfg.claude.timeout_s + cfg.verify_window_s
        )
        # A check may legitimately spend the restart windows and Claude's timeout.
        self.heartbeat_timeout: float | None = cfg.interval_s + worst_tiers + 60

    def run(self, ctx: Any) -> None:
        while not ctx.stop.is_set():
            report = self.watchdog.check_once(wait=ctx.wait, beat=ctx.beat)
            ctx.beat(
                last_report=report.overall, needs_human=report.needs_human, services=len(report.outcomes)
            )
            if ctx.wait(self.watchdog.config.interval_s):
                return
