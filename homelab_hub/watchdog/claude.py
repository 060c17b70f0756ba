"""Tier 2: headless Claude Code in the service's repository.

``claude -p PROMPT --output-format json`` runs in its own process group with a hard
timeout; at the timeout the whole group is killed (Claude spawns tools and shells, which a
plain kill of the parent would orphan). The outcome is judged from the JSON it prints
(``is_error``, ``subtype``), never from the exit code alone: an unauthenticated CLI prints
``"subtype": "success", "is_error": true`` and exits 1.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from homelab_hub.watchdog.config import ClaudeTierConfig

PROMPT = """You are the on-call engineer for the home-lab service "{service}", running unattended.
A watchdog found it unhealthy and restarting it {attempts} time(s) did not help.

Problems:
{problems}

Process status:
{processes}

What tier 1 tried:
{tried}

Last {lines} log lines:
{log}

Work in this repository (the service's source):
1. Read the code and find the root cause from the logs and the code.
2. If it is a code bug, fix it with the smallest change, and commit it with git
   (message starting "watchdog:"). Do not push; do not restart the service (the watchdog does).
3. If it is not a code problem (hardware, network, configuration outside this repo), change
   nothing and explain what a human must do.
End with one short paragraph: the cause, what you changed (or why nothing), and the commit id.
"""


@dataclass
class ClaudeOutcome:
    ok: bool
    summary: str
    is_error: bool | None = None
    subtype: str | None = None
    returncode: int | None = None
    timed_out: bool = False
    cost_usd: float | None = None
    duration_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "summary": self.summary[:4000],
            "is_error": self.is_error,
            "subtype": self.subtype,
            "returncode": self.returncode,
            "timed_out": self.timed_out,
            "cost_usd": self.cost_usd,
            "duration_s": self.duration_s,
        }


def build_argv(binary: str, prompt: str, cfg: ClaudeTierConfig) -> list[str]:
    argv = [binary, "-p", prompt, "--output-format", "json"]
    if cfg.skip_permissions:
        argv.append("--dangerously-skip-permissions")
    elif cfg.allowed_tools:
        # One comma-separated value: the option is variadic and would swallow what follows.
        argv += ["--allowedTools", ",".join(cfg.allowed_tools)]
    return argv


def _last_json_object(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(data, dict):
                return data
    try:
        data = json.loads(stdout)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def judge(stdout: str, stderr: str, returncode: int | None) -> ClaudeOutcome:
    """Turn Claude's JSON answer into an outcome: a fix only when is_error is false and
    subtype is 'success'."""
    data = _last_json_object(stdout)
    if data is None:
        tail = (stderr or stdout).strip()[-800:]
        return ClaudeOutcome(
            False, f"no JSON result from Claude (exit {returncode}): {tail}", returncode=returncode
        )
    is_error = bool(data.get("is_error", True))
    subtype = str(data.get("subtype", ""))
    text = str(data.get("result") or data.get("error") or "").strip()
    ok = not is_error and subtype == "success"
    cost = data.get("total_cost_usd")
    duration = data.get("duration_ms")
    return ClaudeOutcome(
        ok=ok,
        summary=text or f"Claude answered subtype={subtype!r} is_error={is_error}",
        is_error=is_error,
        subtype=subtype,
        returncode=returncode,
        cost_usd=float(cost) if isinstance(cost, (int, float)) else None,
        duration_s=float(duration) / 1000 if isinstance(duration, (int, float)) else None,
    )


class ClaudeRunner:
    def __init__(self, cfg: ClaudeTierConfig) -> None:
        self.cfg = cfg

    def run(self, repo: Path, prompt: str) -> ClaudeOutcome:
        """Run Claude Code in ``repo``; never raises. Kills the process group at the timeout."""
        binary = shutil.which(self.cfg.binary)
        if binary is None:
            return ClaudeOutcome(False, f"Claude Code executable {self.cfg.binary!r} not found on PATH")
        if not repo.is_dir():
            return ClaudeOutcome(False, f"service repo {repo} is not a directory")
        if self.cfg.skip_permissions and hasattr(os, "geteuid") and os.geteuid() == 0:
            return ClaudeOutcome(
                False,
                "claude refuses --dangerously-skip-permissions as root; run the hub as a user or use allowed_tools",
            )
        try:
            proc = subprocess.Popen(
                build_argv(binary, prompt, self.cfg),
                cwd=repo,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        except OSError as exc:
            return ClaudeOutcome(False, f"could not start Claude Code: {exc}")
        try:
            stdout, stderr = proc.communicate(timeout=self.cfg.timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            try:
                proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            return ClaudeOutcome(
                False,
                f"Claude Code timed out after {self.cfg.timeout_s:.0f}s; its process group was killed",
                timed_out=True,
                returncode=proc.returncode,
            )
        return judge(stdout, stderr, proc.returncode)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
