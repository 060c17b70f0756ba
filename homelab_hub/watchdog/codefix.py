"""The Claude tier's whole path for one incident:

1. the service's checkout must be a clean git checkout (a human's work in progress is never
   mixed with Claude's);
2. a fresh worktree on ``watchdog/<service>/<incident>``; Claude runs there, on rails;
3. the worktree is removed (uncommitted leftovers with it); no commit means no fix;
4. the checkout is fast-forwarded to Claude's commit, the service restarted and verified;
5. verified: the human is told what changed and how to undo it; not verified: the checkout
   is reset to where it was, the service restarted on the old code, and the human gets
   Claude's analysis. The branch is kept either way.

Never raises for git's or Claude's sake; every step is an action in the incident.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from homelab_hub.watchdog import gitwork
from homelab_hub.watchdog.claude import PERMISSION_MODE, ClaudeOutcome, ClaudeRunner
from homelab_hub.watchdog.config import ClaudeTierConfig
from homelab_hub.watchdog.gitwork import GitError, Worktree
from homelab_hub.watchdog.prompt import EscalationPrompt
from homelab_hub.watchdog.store import IncidentStore

log = logging.getLogger(__name__)

# Restart the service and verify it (tier name for the incident) -> verified.
RestartVerify = Callable[[str], bool]
# Build the prompt for the branch Claude will work on.
PromptFor = Callable[[str], EscalationPrompt]


@dataclass
class CodeFix:
    """How the tier ended: ``ok`` only when Claude's commit is deployed and verified."""

    ok: bool
    detail: str
    claude: ClaudeOutcome | None = None
    branch: str | None = None
    commit: str | None = None
    undo: str | None = None


class CodeFixTier:
    def __init__(self, cfg: ClaudeTierConfig, incidents: IncidentStore, runner: ClaudeRunner) -> None:
        self.cfg = cfg
        self.incidents = incidents
        self.runner = runner

    def run(
        self, service: str, repo: Path, incident_id: int, prompt_for: PromptFor, restart_verify: RestartVerify
    ) -> CodeFix:
        def act(action: str, ok: bool, detail: str, **extra: object) -> None:
            self.incidents.add_action(incident_id, "claude", action, ok, detail, **extra)

        try:
            top = gitwork.toplevel(repo)
            dirty = gitwork.changes(top)
            if dirty:
                detail = f"{top} has uncommitted changes ({len(dirty)} file(s), e.g. {dirty[0].strip()}): Claude was not run"
                act("check repo", False, detail)
                return CodeFix(False, detail)
            wt = gitwork.create(top, gitwork.branch_name(top, service, incident_id))
        except GitError as exc:
            act("check repo", False, exc.message)
            return CodeFix(False, f"Claude was not run: {exc.message}")
        act("worktree", True, f"branch {wt.branch} from {wt.base[:12]} in {wt.path}")
        try:
            claude, made = self._claude(wt, prompt_for(wt.branch), act)
        finally:
            self._remove(wt, act)
        if not made:
            try:
                gitwork.drop_branch(wt)
            except GitError as exc:
                act("drop branch", False, exc.message)
        if not claude.ok:
            return CodeFix(False, f"Claude failed: {claude.summary}", claude, wt.branch if made else None)
        if not made:
            return CodeFix(False, f"Claude committed no change: {claude.summary}", claude)
        return self._deploy(wt, made[-1], claude, act, restart_verify)

    def _claude(
        self, wt: Worktree, prompt: EscalationPrompt, act: Callable[..., None]
    ) -> tuple[ClaudeOutcome, list[str]]:
        claude = self.runner.run(wt.path, prompt)
        rails = f"{PERMISSION_MODE}, max {self.cfg.max_turns} turns"
        act("claude -p", claude.ok, claude.summary, claude=claude.to_dict(), rails=rails)
        try:
            leftovers = gitwork.changes(wt.path)
            made = gitwork.commits(wt)
        except GitError as exc:
            act("read worktree", False, exc.message)
            return claude, []
        if leftovers:
            act("discard", True, f"{len(leftovers)} uncommitted change(s) left by Claude are discarded")
        act("commits", bool(made), f"{len(made)} commit(s) on {wt.branch}: {', '.join(c[:12] for c in made)}")
        return claude, made

    def _remove(self, wt: Worktree, act: Callable[..., None]) -> None:
        try:
            gitwork.remove(wt)
        except GitError as exc:  # the branch is safe; a stale worktree folder is only clutter
            act("remove worktree", False, exc.message)
            log.warning("watchdog: could not remove worktree %s: %s", wt.path, exc.message)

    def _deploy(
        self,
        wt: Worktree,
        commit: str,
        claude: ClaudeOutcome,
        act: Callable[..., None],
        restart_verify: RestartVerify,
    ) -> CodeFix:
        try:
            stat = gitwork.diffstat(wt)
            gitwork.deploy(wt)
        except GitError as exc:
            act("deploy", False, exc.message)
            return CodeFix(
                False,
                f"Claude's commit {commit[:12]} was not deployed: {exc.message}",
                claude,
                wt.branch,
                commit,
            )
        act("deploy", True, f"{wt.repo} fast-forwarded to {commit[:12]}:\n{stat}")
        if restart_verify("claude"):
            undo = (
                f"git -C {wt.repo} reset --keep {wt.base[:12]} (or git revert {commit[:12]}), then restart the "
                f"service; the fix stays on branch {wt.branch}"
            )
            return CodeFix(
                True,
                f"deployed commit {commit[:12]} from branch {wt.branch}:\n{stat}",
                claude,
                wt.branch,
                commit,
                undo,
            )
        try:
            gitwork.revert(wt)
        except GitError as exc:
            act("revert", False, exc.message)
            return CodeFix(
                False,
                f"Claude's commit {commit[:12]} did not fix it and could not be reverted: {exc.message}",
                claude,
                wt.branch,
                commit,
            )
        act("revert", True, f"{wt.repo} reset to {wt.base[:12]}; the attempt stays on branch {wt.branch}")
        restart_verify("claude-revert")
        return CodeFix(
            False,
            f"Claude's commit {commit[:12]} did not fix it; reverted ({wt.repo} back on {wt.base[:12]}, "
            f"the attempt kept on branch {wt.branch})",
            claude,
            wt.branch,
            commit,
        )
