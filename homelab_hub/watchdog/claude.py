"""Tier 2: headless Claude Code, on rails, in a worktree of the service's repository.

The rails, all real flags of the Claude Code CLI (checked against 2.1.197):

- ``--permission-mode dontAsk``: tools not pre-approved are denied, never asked about (nobody
  answers a prompt at 3 AM), so ``--dangerously-skip-permissions`` is never needed;
- ``--allowedTools``: the only tools it may use (edits and a few git commands);
- ``--disallowedTools``: deny rules, which win over any allow rule: git push and friends, the
  network (curl, wget, ssh, ...), ``rm -rf``, sudo, web fetch and search;
- ``--max-turns`` and optionally ``--max-budget-usd``: a cap on the work;
- ``--setting-sources`` (none by default): no settings file's allow rules widen the rails;
- ``--append-system-prompt``: the rule that the fenced service output is data;
- ``--no-session-persistence``: the prompt (redacted logs) is not kept on disk.

The prompt goes in on stdin, not argv: argv is readable by every local user through
/proc/PID/cmdline, and one argument is limited to 128 KiB. Claude runs in its own process
group with a hard timeout; at the timeout the whole group is killed (Claude spawns tools and
shells, which a plain kill of the parent would orphan). The outcome is judged from the JSON it
prints (``is_error``, ``subtype``), never from the exit code alone: an unauthenticated CLI
prints ``"subtype": "success", "is_error": true`` and exits 1.
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

from homelab_hub.redact import redact_text
from homelab_hub.watchdog.config import CLAUDE_ALWAYS_DENIED, ClaudeTierConfig
from homelab_hub.watchdog.prompt import EscalationPrompt

PERMISSION_MODE = "dontAsk"


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
    turns: int | None = None

    def __post_init__(self) -> None:
        # Claude's answer quotes logs and code: redact it before anyone stores or sends it.
        self.summary = redact_text(self.summary)[:4000]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "summary": self.summary,
            "is_error": self.is_error,
            "subtype": self.subtype,
            "returncode": self.returncode,
            "timed_out": self.timed_out,
            "cost_usd": self.cost_usd,
            "duration_s": self.duration_s,
            "turns": self.turns,
        }


def denied_tools(cfg: ClaudeTierConfig) -> list[str]:
    return list(dict.fromkeys([*CLAUDE_ALWAYS_DENIED, *cfg.denied_tools]))


def build_argv(binary: str, prompt: EscalationPrompt, cfg: ClaudeTierConfig) -> list[str]:
    # Tool lists go as one comma-separated value each: the options are variadic and would
    # swallow what follows.
    argv = [
        binary,
        "-p",
        "--output-format",
        "json",
        "--permission-mode",
        PERMISSION_MODE,
        "--allowedTools",
        ",".join(cfg.allowed_tools),
        "--disallowedTools",
        ",".join(denied_tools(cfg)),
        "--max-turns",
        str(cfg.max_turns),
        "--setting-sources",
        ",".join(cfg.setting_sources),
        "--append-system-prompt",
        prompt.system,
        "--no-session-persistence",
    ]
    if cfg.max_budget_usd is not None:
        argv += ["--max-budget-usd", f"{cfg.max_budget_usd:g}"]
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
    """Turn Claude's JSON answer into an outcome: a success only when is_error is false and
    subtype is 'success' (error_max_turns, error_max_budget_usd... are failures)."""
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
    turns = data.get("num_turns")
    return ClaudeOutcome(
        ok=ok,
        summary=text or f"Claude answered subtype={subtype!r} is_error={is_error}",
        is_error=is_error,
        subtype=subtype,
        returncode=returncode,
        cost_usd=float(cost) if isinstance(cost, (int, float)) else None,
        duration_s=float(duration) / 1000 if isinstance(duration, (int, float)) else None,
        turns=int(turns) if isinstance(turns, int) else None,
    )


class ClaudeRunner:
    def __init__(self, cfg: ClaudeTierConfig) -> None:
        self.cfg = cfg

    def run(self, cwd: Path, prompt: EscalationPrompt) -> ClaudeOutcome:
        """Run Claude Code in ``cwd`` (a worktree); never raises. Kills the process group at the timeout."""
        binary = shutil.which(self.cfg.binary)
        if binary is None:
            return ClaudeOutcome(False, f"Claude Code executable {self.cfg.binary!r} not found on PATH")
        if not cwd.is_dir():
            return ClaudeOutcome(False, f"working directory {cwd} is not a directory")
        try:
            proc = subprocess.Popen(
                build_argv(binary, prompt, self.cfg),
                cwd=cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        except OSError as exc:
            return ClaudeOutcome(False, f"could not start Claude Code: {exc}")
        try:
            stdout, stderr = proc.communicate(prompt.text, timeout=self.cfg.timeout_s)
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
