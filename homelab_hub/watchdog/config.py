"""Settings of the self-healing watchdog: the ``[watchdog]`` section and one
``[watchdog.services.NAME]`` table per watched service.

Defaults are the seed article's numbers: a log silent for 10 minutes is stale, a process
above 200 % CPU with a stale log is spinning (the seed's "zombie": its camera daemon spun at
300 %), three restarts before Claude, five minutes for Claude. The check interval is 60 s, not
the seed's 12 h: the seed's author lost three days of cameras to a 12 h blind spot.

The restart budget is counted over a sliding window (monit's "N restarts within M cycles",
systemd's StartLimitBurst) and forgiven only after a stable period (Kubernetes resets its crash
backoff after 10 minutes of stable running): the seed reset its counter at the next healthy
check, so a bug that came back after every restart was restarted forever.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from homelab_hub.section import Section

# Service names travel into incident records, notifications and restart argv; keep them
# plain words so that no consumer ever has to quote them.
SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")

TRANSIENT_DEFAULTS = [
    "Connection reset by peer",
    "RTSP error",
    "retry in",
    "timed out",
    "Connection refused",
    "Broken pipe",
]
SERIOUS_DEFAULTS = ["ERROR", "CRITICAL", "FATAL", "Traceback", "Exception"]
# The Claude tier runs in --permission-mode dontAsk: only these rules are allowed, nothing
# prompts. Edits plus the git commands a commit needs, nothing that reaches the network.
CLAUDE_TOOLS_DEFAULT = [
    "Read",
    "Edit",
    "Write",
    "Glob",
    "Grep",
    "Bash(git status:*)",
    "Bash(git diff:*)",
    "Bash(git log:*)",
    "Bash(git add:*)",
    "Bash(git commit:*)",
]
# Always denied, whatever the config says (deny rules win over allow rules in Claude Code):
# publishing, the network, destruction and privilege.
CLAUDE_ALWAYS_DENIED = [
    "Bash(git push:*)",
    "Bash(git remote:*)",
    "Bash(git fetch:*)",
    "Bash(git pull:*)",
    "Bash(curl:*)",
    "Bash(wget:*)",
    "Bash(ssh:*)",
    "Bash(scp:*)",
    "Bash(rsync:*)",
    "Bash(nc:*)",
    "Bash(ncat:*)",
    "Bash(telnet:*)",
    "Bash(rm -rf:*)",
    "Bash(rm -fr:*)",
    "Bash(sudo:*)",
    "WebFetch",
    "WebSearch",
]


class HttpDependency(Section):
    kind: Literal["http"] = Field(..., description="HTTP check.")
    url: str = Field(..., description="URL to GET, e.g. http://127.0.0.1:8091/health.")
    expect_status: int = Field(200, ge=100, le=599, description="Status code that means healthy.")
    expect_body: str | None = Field(None, description="Substring the body must contain; none to skip.")
    timeout_s: float = Field(5.0, gt=0, description="Request timeout in seconds.")
    provided_by: str | None = Field(
        None,
        description="Watched service that serves this URL; restarted (its own way) when the check fails.",
    )


class TcpDependency(Section):
    kind: Literal["tcp"] = Field(..., description="TCP connect check.")
    host: str = Field("127.0.0.1", description="Host to connect to.")
    port: int = Field(..., ge=1, le=65535, description="Port that must accept a connection.")
    timeout_s: float = Field(3.0, gt=0, description="Connect timeout in seconds.")
    provided_by: str | None = Field(
        None, description="Watched service that listens here; restarted (its own way) when the check fails."
    )


class OllamaDependency(Section):
    kind: Literal["ollama"] = Field(..., description="Ollama model check (inference engine's checker).")
    url: str = Field(..., description="Ollama base URL, e.g. http://127.0.0.1:11434.")
    model: str = Field(..., description="Model that must be available, e.g. 'gemma3:27b'.")
    require_loaded: bool = Field(False, description="Also require the model to be loaded in memory.")
    timeout_s: float = Field(5.0, gt=0, description="Request timeout in seconds.")
    provided_by: str | None = Field(
        None, description="Watched service that runs Ollama; restarted when the check fails."
    )


class RpcDependency(Section):
    kind: Literal["rpc"] = Field(
        ..., description="llama.cpp rpc-server: its HELLO handshake within the timeout."
    )
    address: str = Field(
        ..., description="HOST:PORT as llama-server's --rpc names it, e.g. 192.168.100.2:50052."
    )
    timeout_s: float = Field(3.0, gt=0, description="Connect and handshake timeout in seconds.")
    provided_by: str | None = Field(
        None, description="Watched service that runs rpc-server; restarted when the check fails."
    )


class ServiceDependency(Section):
    kind: Literal["service"] = Field(..., description="Another watched service must be healthy.")
    service: str = Field(
        ..., description="Name of the watched service; restarted through its own method when down."
    )


Dependency = Annotated[
    HttpDependency | TcpDependency | OllamaDependency | RpcDependency | ServiceDependency,
    Field(discriminator="kind"),
]


class RestartConfig(Section):
    method: Literal["command", "systemd", "launchd", "docker", "supervisor"] = Field(
        "command", description="How to restart: an argv command, or the named service manager."
    )
    command: list[str] = Field(
        default_factory=list,
        description="argv that starts the service (method 'command'); never run through a shell.",
    )
    cwd: Path | None = Field(None, description="Working directory for the command.")
    target: str | None = Field(
        None,
        description="Unit, launchd label (or system/LABEL), container or supervisor program; default: the service name.",
    )
    stop_timeout_s: float = Field(
        10.0, gt=0, description="Grace after SIGTERM before SIGKILL (method 'command')."
    )
    manager_timeout_s: float = Field(
        60.0, gt=0, description="Timeout of systemctl/launchctl/docker/supervisorctl."
    )
    reset_start_limit: bool = Field(
        False,
        description="Method 'systemd': run `systemctl reset-failed` on a unit stuck in start-limit-hit before restarting it (off: report it to a human).",
    )


class WatchedServiceConfig(Section):
    match: str | None = Field(
        None, description="Regular expression searched in process command lines, e.g. 'gate_monitor\\.py'."
    )
    pidfile: Path | None = Field(None, description="File holding the service's PID.")
    systemd_unit: str | None = Field(None, description="systemd unit whose MainPID is the service.")
    logs: list[Path] = Field(
        default_factory=list, description="Log files to watch (rotated files are followed)."
    )
    log_stale_minutes: float = Field(10.0, gt=0, description="A log silent this long is stale.")
    cpu_zombie_percent: float = Field(
        200.0,
        gt=0,
        description="CPU % (100 = one core) in every sample that makes a process with a stale log 'spinning' (the seed's zombie).",
    )
    cpu_hung_percent: float = Field(
        5.0,
        ge=0,
        description="CPU % at or below which, in every sample, a process with a stale log is 'hung' (blocked on a read or a lock).",
    )
    serious_patterns: list[str] = Field(
        default_factory=lambda: list(SERIOUS_DEFAULTS),
        description="Case-insensitive substrings that make a log line an error.",
    )
    transient_patterns: list[str] = Field(
        default_factory=lambda: list(TRANSIENT_DEFAULTS),
        description="Error lines containing one of these (case-insensitive) are transient and ignored.",
    )
    dependencies: list[Dependency] = Field(
        default_factory=list, description="What the service needs to work."
    )
    restart: RestartConfig = Field(default_factory=RestartConfig, description="How to restart it.")
    repo: Path | None = Field(
        None, description="Source repository of the service, where Claude Code works (tier 2)."
    )
    claude: bool = Field(
        True,
        description="Allow the Claude Code tier for this service (needs repo and watchdog.claude.enabled).",
    )

    @model_validator(mode="after")
    def _needs_a_way_to_find_it(self) -> WatchedServiceConfig:
        if not (self.match or self.pidfile or self.systemd_unit or self.logs):
            raise ValueError("a watched service needs at least one of match, pidfile, systemd_unit or logs")
        if self.match:
            try:
                re.compile(self.match)
            except re.error as exc:
                raise ValueError(f"match {self.match!r} is not a regular expression: {exc}") from exc
        return self


class ClaudeTierConfig(Section):
    enabled: bool = Field(
        False, description="Run Claude Code (tier 2) when the restart budget is spent. Off unless set."
    )
    binary: str = Field("claude", description="Claude Code executable (looked up on PATH).")
    timeout_s: float = Field(
        300.0, gt=0, description="Kill Claude (whole process group) after this many seconds."
    )
    period_minutes: float = Field(
        720.0, gt=0, description="At most one Claude attempt per service within this many minutes."
    )
    allowed_tools: list[str] = Field(
        default_factory=lambda: list(CLAUDE_TOOLS_DEFAULT),
        description="The only tools Claude may use (--allowedTools, in --permission-mode dontAsk): edits plus selected git commands.",
    )
    denied_tools: list[str] = Field(
        default_factory=list,
        description="Deny rules added to the built-in ones (git push/remote/fetch/pull, curl, wget, ssh, scp, rsync, nc, telnet, rm -rf, sudo, WebFetch, WebSearch).",
    )
    max_turns: int = Field(30, ge=1, le=200, description="Agentic turns Claude may take (--max-turns).")
    max_budget_usd: float | None = Field(
        None, gt=0, description="Spending cap per attempt in US dollars (--max-budget-usd); none for no cap."
    )
    setting_sources: list[Literal["user", "project", "local"]] = Field(
        default_factory=list,
        description="Claude Code settings files to load (--setting-sources); none by default, so no settings file's allow rules widen the rails.",
    )
    prompt_file: Path | None = Field(
        None,
        description="Prompt template (Markdown with $placeholders); default: claude/watchdog-escalation.md shipped with the hub.",
    )
    log_lines: int = Field(100, ge=10, le=2000, description="Log lines included in Claude's prompt.")

    @field_validator("allowed_tools")
    @classmethod
    def _no_blanket_shell(cls, tools: list[str]) -> list[str]:
        for tool in tools:
            if tool.strip() in ("Bash", "Bash(*)", "Bash(:*)"):
                raise ValueError(
                    f"allowed tool {tool!r} would let Claude run any command; name commands, e.g. 'Bash(git diff:*)'"
                )
        return tools


class WatchdogConfig(Section):
    enabled: bool = Field(True, description="Run the watchdog worker in the hub.")
    interval_s: float = Field(60.0, gt=0, description="Seconds between checks.")
    cpu_samples: int = Field(
        3, ge=1, le=20, description="CPU samples per check; a zombie is above the limit in all of them."
    )
    cpu_sample_interval_s: float = Field(1.0, gt=0, description="Seconds between CPU samples.")
    max_restart_attempts: int = Field(
        3,
        ge=1,
        le=20,
        description="Tier 1 restarts allowed within restart_window_minutes; one more fault escalates.",
    )
    restart_window_minutes: float = Field(
        30.0, gt=0, description="Sliding window over which restarts count against the budget."
    )
    stable_minutes: float = Field(
        10.0,
        gt=0,
        description="Healthy this long after its last fault, a service's restart budget is reset (Kubernetes: 10 min).",
    )
    restart_backoff_s: float = Field(
        10.0, ge=0, description="Wait before the second restart in the window; doubles for each one after."
    )
    restart_backoff_max_s: float = Field(120.0, ge=0, description="Longest wait between two restarts.")
    verify_window_s: float = Field(
        30.0, gt=0, description="After a restart, how long to wait for the service to run and log."
    )
    forensic_log_lines: int = Field(
        200, ge=10, le=5000, description="Log lines captured into an incident before a kill."
    )
    notify: Literal["changes", "every_check", "needs_human"] = Field(
        "changes",
        description="Send the check report when an outcome changes, after every check, or only when a human is needed.",
    )
    watch_workers: bool = Field(True, description="Also report the hub's own workers from their heartbeats.")
    deadman_url: str | None = Field(
        None,
        description="Dead-man's-switch URL pinged with a GET after every completed check (healthchecks.io, Uptime Kuma push).",
    )
    deadman_timeout_s: float = Field(10.0, gt=0, description="Timeout of the dead-man ping.")
    claude: ClaudeTierConfig = Field(default_factory=ClaudeTierConfig, description="Claude Code tier.")
    services: dict[str, WatchedServiceConfig] = Field(
        default_factory=dict, description="Watched services by name, e.g. [watchdog.services.gate-monitor]."
    )

    @field_validator("deadman_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("deadman_url must be an http:// or https:// URL, e.g. https://hc-ping.com/UUID")
        return url

    @field_validator("services")
    @classmethod
    def _plain_names(cls, services: dict[str, WatchedServiceConfig]) -> dict[str, WatchedServiceConfig]:
        for name in services:
            if not SERVICE_NAME.match(name):
                raise ValueError(
                    f"service name {name!r} must be letters, digits, '_', '.', '@' or '-' (at most 64 characters)"
                )
        return services

    @model_validator(mode="after")
    def _dependencies_name_watched_services(self) -> WatchdogConfig:
        for name, svc in self.services.items():
            for dep in svc.dependencies:
                other = dep.service if isinstance(dep, ServiceDependency) else dep.provided_by
                if other is not None and other not in self.services:
                    raise ValueError(
                        f"service {name!r}: dependency names {other!r}, which is not a watched service"
                    )
                if other == name:
                    raise ValueError(f"service {name!r} cannot depend on itself")
        return self
