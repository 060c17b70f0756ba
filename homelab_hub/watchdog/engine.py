"""The watchdog: checks every watched service, runs the tiers for the unhealthy ones, keeps
its state in the database, reports, pings the dead-man's switch, and answers status and manual
restarts. Only the holder of the database lock acts (see lock.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from homelab_hub.errors import NotFound
from homelab_hub.inference.rpc import RpcProber
from homelab_hub.store import Database
from homelab_hub.watchdog.budget import Budget
from homelab_hub.watchdog.checks import Finding, Observation, check_services
from homelab_hub.watchdog.claude import ClaudeRunner
from homelab_hub.watchdog.config import WatchdogConfig
from homelab_hub.watchdog.deadman import DeadManSwitch
from homelab_hub.watchdog.escalation import Escalation, Outcome
from homelab_hub.watchdog.lock import WatchdogLock, WatchdogLocked
from homelab_hub.watchdog.managers import ServiceManager
from homelab_hub.watchdog.records import Incident, ServiceState, ServiceStatus
from homelab_hub.watchdog.report import CheckReport
from homelab_hub.watchdog.store import IncidentStore, StateStore
from homelab_hub.watchdog.workers import RemoteWorkers, RemoteWorkerWatch, WorkerStates, WorkerWatch
from homelab_hub.workers import WorkerContext

log = logging.getLogger(__name__)

Wait = Callable[[float], bool]


class Notifier(Protocol):
    @property
    def enabled(self) -> bool: ...

    def send(self, title: str, body: str) -> bool: ...


def _sleep(seconds: float) -> bool:
    """The wait of a caller without a stop event: sleeps, and never asks to stop."""
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
        supervisor: WorkerStates | None = None,
        *,
        role: str = "a homelab-hub watchdog",
        remote: RemoteWorkers | None = None,
    ) -> None:
        """Raises ConfigError when the Claude tier is on and its prompt template is unreadable."""
        self.config = config
        self.incidents = IncidentStore(db)
        self.states = StateStore(db)
        self.notifier = notifier
        self.manager = ServiceManager()
        self.budget = Budget(config)
        self.rpc = RpcProber()  # rpc-server dependencies: remembers what each one speaks
        self.escalation = Escalation(
            config, self.incidents, self.manager, ClaudeRunner(config.claude), rpc=self.rpc
        )
        self.workers = WorkerWatch(supervisor) if supervisor is not None and config.watch_workers else None
        # Camera workers on other machines (the hub's broker): services of their own.
        self.remote = (
            RemoteWorkerWatch(remote, self.incidents) if remote is not None and config.watch_workers else None
        )
        self.deadman = DeadManSwitch(config.deadman_url, config.deadman_timeout_s)
        self.lock = WatchdogLock(db, role, lease_s=config.interval_s + self.worst_check_s() + 60)
        self._locks = {name: threading.Lock() for name in config.services}
        self._round = threading.Lock()
        self._restarted_at: dict[str, float] = {}
        self.last_observations: dict[str, Observation] = {}
        self.last_report: CheckReport | None = None
        self.checks_completed = 0
        self.standby: str | None = None  # who holds the lock while this watchdog waits
        if config.services and (notifier is None or not notifier.enabled):
            # Said once here, not "could not be delivered" after every check; and only when
            # there is something to report on.
            log.warning(
                "watchdog: no notification target is configured (notify.apprise_urls is empty); "
                "reports are only in watchdog_status, /api/health and this log"
            )

    def worst_check_s(self) -> float:
        """How long one service's check may legitimately take: CPU sampling, every restart of
        the budget with its backoff and verify window, Claude's timeout, deploy and revert."""
        cfg = self.config
        sampling = 2 * cfg.cpu_samples * cfg.cpu_sample_interval_s
        restarts = cfg.max_restart_attempts * cfg.verify_window_s * 2 + self.budget.worst_backoff_s()
        claude = cfg.claude.timeout_s + 2 * cfg.verify_window_s if cfg.claude.enabled else 0.0
        return sampling + restarts + claude

    # -- checks -------------------------------------------------------------------------
    def check_once(self, wait: Wait = _sleep, beat: Callable[[], None] | None = None) -> CheckReport:
        """One full check of every service (and the hub's workers), with escalation and report.

        Raises WatchdogLocked (nothing checked) when another process holds the lock, and
        StorageUnavailable when the database is down (the worker then crashes and is
        restarted by the supervisor).
        """
        with self._round:
            try:
                self.lock.acquire()
            except WatchdogLocked as exc:
                self.standby = exc.holder.holder
                raise
            self.standby = None
            report = CheckReport(started_at=time.time(), finished_at=0.0)
            self.manager.reap()
            states = {name: self.states.load(name) for name in self.config.services}
            cursors = {name: st.log_cursors for name, st in states.items()}
            observations = check_services(self.config, cursors, wait, rpc=self.rpc)
            done: set[str] = set()
            for name, obs in observations.items():
                if beat is not None:
                    beat()
                self.lock.keep()
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
                            self.config, {name: states[name].log_cursors}, wait, names=[name], rpc=self.rpc
                        )[name]
                    outcome = self._handle(name, obs, states[name], done, wait)
                report.outcomes[name] = outcome
                if outcome.report != states[name].report or outcome.escalated:
                    report.changed.append(name)
                states[name].report = outcome.report
                self.states.save(states[name])
                self.last_observations[name] = obs
            for watch in (self.workers, self.remote):
                if watch is None:
                    continue
                for name, outcome in watch.check().items():
                    report.outcomes[name] = outcome
                    if watch.changed(name):
                        report.changed.append(name)
            report.finished_at = time.time()
            self.last_report = report
            self.checks_completed += 1
            self.lock.checked(report.finished_at)
            self._send(report)
            self.deadman.ping()
            return report

    def _handle(self, name: str, obs: Observation, st: ServiceState, done: set[str], wait: Wait) -> Outcome:
        st.last_check_at = obs.checked_at
        st.log_cursors.update(obs.cursors)
        st.findings = [f.to_dict() for f in obs.findings]
        if obs.healthy:
            return self._healthy(name, obs, st)
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
                escalated=True,
            )

    def _healthy(self, name: str, obs: Observation, st: ServiceState) -> Outcome:
        was = st.state
        if st.last_incident_id is not None and was in ("unhealthy", "needs_human"):
            self.incidents.add_action(
                st.last_incident_id, "check", "healthy again", True, "service is nominal"
            )
            self.incidents.set_status(st.last_incident_id, "resolved")
        st.last_healthy_at = obs.checked_at
        if self.budget.healthy(st, obs.checked_at):
            if st.restarts:
                # Stable for the whole period: forgive the restarts (never at one healthy check).
                detail = (
                    f"healthy for {self.config.stable_minutes:g} min: restart budget reset "
                    f"({st.restart_attempts} restart(s) forgiven)"
                )
                log.info("watchdog: %s %s", name, detail)
                if st.last_incident_id is not None:
                    self.incidents.add_action(st.last_incident_id, "check", "stable", True, detail)
                st.restarts = []
            st.state = "healthy"
        elif was in ("unhealthy", "needs_human", "recovering") or st.restarts:
            st.state = "recovering"
        else:
            st.state = "healthy"
        return Outcome("nominal", "", attempts=st.restart_attempts)

    def _send(self, report: CheckReport) -> None:
        if self.notifier is None or not self.notifier.enabled:
            return
        mode = self.config.notify
        if mode == "every_check":
            wanted = True
        elif mode == "changes":
            wanted = bool(report.changed)
        else:
            wanted = any(report.outcomes[name].report == "needs_human" for name in report.changed)
        if wanted and not self.notifier.send(report.title(), report.body()):
            log.warning("watchdog: the report could not be delivered to any notification target")

    def release(self) -> None:
        """Give up the lock (at stop), so that another watchdog may act at once."""
        self.lock.release()

    # -- manual restart -----------------------------------------------------------------
    def restart(self, name: str, requested_by: str, wait: Wait = _sleep) -> ManualRestart:
        """Restart a configured service by its own method, recorded as an incident.

        Raises NotFound when ``name`` is not a watched service, WatchdogLocked when another
        process's watchdog holds the lock (it may be restarting the same service).
        """
        if name not in self.config.services:
            known = ", ".join(sorted(self.config.services)) or "none"
            raise NotFound(f"{name!r} is not a watched service (configured: {known})")
        held = self.lock.held
        self.lock.acquire()
        try:
            with self._locks[name]:
                return self._manual_restart(name, requested_by, wait)
        finally:
            if not held:
                self.lock.release()

    def _manual_restart(self, name: str, requested_by: str, wait: Wait) -> ManualRestart:
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
        if st.last_incident_id is not None and st.state in ("unhealthy", "needs_human"):
            # The open incident stays the service's: the next healthy check resolves it.
            self.incidents.add_action(
                st.last_incident_id, "manual", f"restart by {requested_by}", ok, f"see incident {incident_id}"
            )
        else:
            st.last_incident_id = incident_id
        st.log_cursors.update(cursors)
        self.states.save(st)
        last = self.incidents.get(incident_id).actions[-1]
        return ManualRestart(ok=ok, detail=str(last["detail"]), incident_id=incident_id)

    # -- reading ------------------------------------------------------------------------
    def incident(self, incident_id: int) -> Incident:
        """Raises NotFound for an unknown id."""
        return self.incidents.get(incident_id)

    def status(self) -> list[ServiceStatus]:
        out: list[ServiceStatus] = []
        now = time.time()
        for name in self.config.services:
            st = self.states.load(name)
            obs = self.last_observations.get(name)
            details: dict[str, object] = {
                "restart_budget": self.config.max_restart_attempts,
                "restarts_in_window": len(self.budget.in_window(st, now)),
                "stable_since": st.stable_since,
            }
            if obs is not None:
                details.update(
                    pids=[p.pid for p in obs.processes],
                    cpu_percent=[round(p.cpu_avg, 1) for p in obs.processes],
                    log_age_s=None if obs.log_age_s is None else round(obs.log_age_s, 1),
                    transient_errors=obs.transient_errors,
                    label=obs.label or None,
                )
            out.append(
                ServiceStatus(
                    name=name,
                    kind="service",
                    state=st.state,
                    report=st.report,
                    last_check_at=st.last_check_at,
                    findings=[f["message"] for f in st.findings],
                    restart_attempts=len(self.budget.in_window(st, now)),
                    last_incident_id=st.last_incident_id,
                    last_claude_at=st.last_claude_at,
                    details=details,
                )
            )
        if self.workers is not None:
            out.extend(self.workers.status())
        if self.remote is not None:
            out.extend(self.remote.status())
        return out

    def close(self) -> None:
        self.release()
        self.manager.close()


class WatchdogWorker:
    """The supervised loop: one check every interval_s, standing by while another process
    holds the lock."""

    name = "watchdog"

    def __init__(self, watchdog: Watchdog) -> None:
        self.watchdog = watchdog
        # A check may legitimately spend the restart windows and Claude's timeout.
        self.heartbeat_timeout: float | None = watchdog.config.interval_s + watchdog.worst_check_s() + 60

    def run(self, ctx: WorkerContext) -> None:
        holder: str | None = None
        try:
            while not ctx.stop.is_set():
                try:
                    report = self.watchdog.check_once(wait=ctx.wait, beat=ctx.beat)
                except WatchdogLocked as exc:
                    if holder != exc.holder.owner:
                        log.warning("watchdog: standing by: %s", exc.message)
                    holder = exc.holder.owner
                    ctx.beat(standby=exc.holder.holder)
                else:
                    if holder is not None:
                        log.info("watchdog: the lock is ours again; checking")
                    holder = None
                    ctx.beat(
                        last_report=report.overall,
                        needs_human=report.needs_human,
                        services=len(report.outcomes),
                        standby=None,
                    )
                if ctx.wait(self.watchdog.config.interval_s):
                    return
        finally:
            self.watchdog.release()
